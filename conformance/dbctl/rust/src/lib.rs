//! Independent Rust port of the dbctl lab model (faultbox), written from
//! /work/shared/specs/dbctl-lab.md: the lab's SplitMix64 variant, the three-node
//! replicated log + KV, the fault scenario and the byte-exact snapshot encoding.
//! Standard library only. `sha256` is a small SHA-256 used only to time
//! run + encode + hash in one process (the cross test hashes with sha256sum).

pub mod sha256;

use std::collections::BTreeMap;

/// The lab's SplitMix64 variant; `next_u64` is the spec's `next()`. Note the second
/// multiplier ...1CE4E7B5, not the textbook ...1CE4E5B9.
#[derive(Clone, Debug)]
pub struct LabRng {
    state: u64,
}

impl LabRng {
    pub fn new(seed: u64) -> Self {
        LabRng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E7B5);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Put,
    Del,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub kind: Kind,
    pub k: i64,
    pub v: i64,
}

/// Draws exactly three words r1, r2, r3 (also for Del).
/// Panics if keys == 0 (callers validate keys >= 1 first).
pub fn step_op(rng: &mut LabRng, keys: u64) -> Op {
    assert!(keys >= 1, "step_op: keys must be >= 1");
    let r1 = rng.next_u64();
    let r2 = rng.next_u64();
    let r3 = rng.next_u64();
    let kind = if (r1 >> 62) & 3 == 3 {
        Kind::Del
    } else {
        Kind::Put
    };
    Op {
        kind,
        k: (r2 % keys) as i64,
        v: (r3 % 1000) as i64,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub term: u64,
    pub index: u64,
    pub op: Op,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: u8,
    pub term: u64,
    pub commit_index: u64,
    pub last_applied: u64,
    pub log: Vec<Entry>,
    pub kv: BTreeMap<i64, i64>,
}

impl Node {
    fn new(id: u8) -> Self {
        Node {
            id,
            term: 1,
            commit_index: 0,
            last_applied: 0,
            log: Vec::new(),
            kv: BTreeMap::new(),
        }
    }

    fn log_len(&self) -> u64 {
        self.log.len() as u64
    }

    /// An index already present is accepted and changes nothing; otherwise it
    /// must be exactly len+1.
    pub fn append(&mut self, entry: Entry) {
        let len = self.log_len();
        if entry.index >= 1 && entry.index <= len {
            return;
        }
        assert!(
            entry.index == len + 1,
            "node {}: append index {} to a log of length {} (want <= {} or exactly {})",
            self.id,
            entry.index,
            len,
            len,
            len + 1
        );
        self.log.push(entry);
    }

    pub fn apply_committed(&mut self) {
        while self.last_applied < self.commit_index {
            let op = self.log[self.last_applied as usize].op;
            match op.kind {
                Kind::Put => {
                    self.kv.insert(op.k, op.v);
                }
                Kind::Del => {
                    self.kv.remove(&op.k);
                }
            }
            self.last_applied += 1;
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"DSEDIST2");
        out.push(self.id);
        out.extend_from_slice(&self.term.to_le_bytes());
        out.extend_from_slice(&self.commit_index.to_le_bytes());
        out.extend_from_slice(
            &u32::try_from(self.log.len())
                .expect("log length fits u32")
                .to_le_bytes(),
        );
        for e in &self.log {
            out.extend_from_slice(&e.term.to_le_bytes());
            out.extend_from_slice(&e.index.to_le_bytes());
            let (kind, v) = match e.op.kind {
                Kind::Put => (0u8, e.op.v),
                Kind::Del => (1u8, 0i64),
            };
            out.push(kind);
            out.extend_from_slice(&e.op.k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(
            &u32::try_from(self.kv.len())
                .expect("kv size fits u32")
                .to_le_bytes(),
        );
        for (k, v) in &self.kv {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Normal,
    Fault,
}

impl Scenario {
    pub fn parse(s: &str) -> Option<Scenario> {
        match s {
            "normal" => Some(Scenario::Normal),
            "fault" => Some(Scenario::Fault),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub nodes: [Node; 3],
    /// up[0] is the leader and is always true.
    pub up: [bool; 3],
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    pub fn new() -> Self {
        Cluster {
            nodes: [Node::new(0), Node::new(1), Node::new(2)],
            up: [true; 3],
        }
    }

    pub fn submit(&mut self, op: Op) {
        let idx = self.nodes[0].log_len() + 1;
        let entry = Entry {
            term: self.nodes[0].term,
            index: idx,
            op,
        };
        self.nodes[0].append(entry);
        for f in 1..3 {
            if self.up[f] {
                self.nodes[f].append(entry);
            }
        }
        let mut acks = 1;
        for f in 1..3 {
            if self.up[f] && self.nodes[f].log_len() >= idx {
                acks += 1;
            }
        }
        if acks >= 2 {
            self.nodes[0].commit_index = idx;
            self.nodes[0].apply_committed();
            for f in 1..3 {
                if self.nodes[f].log_len() >= idx {
                    self.nodes[f].commit_index = idx;
                    self.nodes[f].apply_committed();
                }
            }
        }
    }

    pub fn set_follower_up(&mut self, fid: usize, up: bool) {
        assert!(
            fid == 1 || fid == 2,
            "set_follower_up: follower id {} (want 1 or 2)",
            fid
        );
        self.up[fid] = up;
    }

    pub fn catch_up(&mut self, fid: usize) {
        assert!(
            fid == 1 || fid == 2,
            "catch_up: follower id {} (want 1 or 2)",
            fid
        );
        // Copy the leader's log and commit index first.
        let leader_log = self.nodes[0].log.clone();
        let leader_commit = self.nodes[0].commit_index;
        let f = &mut self.nodes[fid];
        while f.log.len() < leader_log.len() {
            let next = leader_log[f.log.len()];
            f.append(next);
        }
        if f.commit_index < leader_commit {
            f.commit_index = leader_commit;
            f.apply_committed();
        }
    }

    /// Size of the snapshot in bytes.
    pub fn encoded_len(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| 33 + 33 * n.log.len() + 16 * n.kv.len())
            .sum()
    }

    /// Appends the snapshot to `out` (lets a caller reuse one buffer).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(self.encoded_len());
        for n in &self.nodes {
            n.encode_into(out);
        }
        debug_assert_eq!(out.len() - start, self.encoded_len());
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

pub fn run_cluster(seed: u64, ops: u64, keys: u64, scenario: Scenario) -> Cluster {
    let mut rng = LabRng::new(seed);
    let mut c = Cluster::new();
    let down_start = ops / 2;
    let down_end = ops.wrapping_mul(3) / 4;
    let with_fault = scenario == Scenario::Fault;
    for i in 0..ops {
        if with_fault && i == down_start {
            c.set_follower_up(1, false);
        }
        if with_fault && i == down_end {
            c.set_follower_up(1, true);
            c.catch_up(1);
        }
        let op = step_op(&mut rng, keys);
        c.submit(op);
    }
    if with_fault && !c.up[1] {
        c.set_follower_up(1, true);
        c.catch_up(1);
    }
    c
}

/// run_cluster + encode: the snapshot bytes.
pub fn snapshot(seed: u64, ops: u64, keys: u64, scenario: Scenario) -> Vec<u8> {
    run_cluster(seed, ops, keys, scenario).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROZEN_NORMAL: &str = "5976b45b9f40f440e8249da27fe4fe752e005f606efc3596bdb25ca4e4f99296";
    const FROZEN_FAULT: &str = "d67c36725af65242e985a308db5152af2a3e2525fab33d11ed6e826a252ff792";

    #[test]
    fn rng_vectors_from_spec() {
        assert_eq!(LabRng::new(0).next_u64(), 0x8b57dafca0cee644);
        let mut r = LabRng::new(42);
        assert_eq!(r.next_u64(), 0x28d3c9252e01f1bf);
        assert_eq!(r.next_u64(), 0x488e98293832f91f);
        assert_eq!(r.next_u64(), 0x8e6e25fde867f756);
    }

    #[test]
    fn step_op_draws_three_words() {
        let mut a = LabRng::new(99);
        let mut b = LabRng::new(99);
        for _ in 0..100 {
            step_op(&mut a, 5);
            b.next_u64();
            b.next_u64();
            b.next_u64();
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn size_empty_is_99() {
        assert_eq!(Cluster::new().encode().len(), 99);
        assert_eq!(snapshot(1, 0, 1, Scenario::Normal).len(), 99);
    }

    #[test]
    fn size_one_put_is_246() {
        let mut c = Cluster::new();
        c.submit(Op {
            kind: Kind::Put,
            k: 3,
            v: 7,
        });
        assert_eq!(c.encode().len(), 246);
    }

    #[test]
    fn size_normal_scenario_is_20523() {
        assert_eq!(snapshot(42, 200, 16, Scenario::Normal).len(), 20523);
    }

    #[test]
    fn frozen_normal_hash() {
        let h = sha256::hex(&sha256::digest(&snapshot(42, 200, 16, Scenario::Normal)));
        assert_eq!(h, FROZEN_NORMAL);
    }

    #[test]
    fn frozen_fault_hash() {
        let h = sha256::hex(&sha256::digest(&snapshot(7, 2000, 128, Scenario::Fault)));
        assert_eq!(h, FROZEN_FAULT);
    }

    #[test]
    fn down_follower_never_acks() {
        let mut c = Cluster::new();
        // Follower 1 has a long log but is down; follower 2 is down too.
        for i in 1..=3u64 {
            c.nodes[1].append(Entry {
                term: 1,
                index: i,
                op: Op {
                    kind: Kind::Put,
                    k: 0,
                    v: 0,
                },
            });
        }
        c.set_follower_up(1, false);
        c.set_follower_up(2, false);
        c.submit(Op {
            kind: Kind::Put,
            k: 1,
            v: 2,
        });
        assert_eq!(
            c.nodes[0].commit_index, 0,
            "only the leader acks: no commit"
        );
        assert!(c.nodes[0].kv.is_empty());
    }

    #[test]
    fn fault_run_converges() {
        for &(seed, ops, keys) in &[
            (7u64, 2000u64, 128u64),
            (1, 3, 1),
            (2, 5, 2),
            (u64::MAX, 37, 1000),
        ] {
            let c = run_cluster(seed, ops, keys, Scenario::Fault);
            for n in &c.nodes[1..] {
                assert_eq!(n.log, c.nodes[0].log);
                assert_eq!(n.commit_index, c.nodes[0].commit_index);
                assert_eq!(n.kv, c.nodes[0].kv);
            }
            assert_eq!(c.nodes[0].commit_index, ops);
        }
    }

    #[test]
    #[should_panic]
    fn append_gap_fails_loudly() {
        let mut n = Node::new(1);
        n.append(Entry {
            term: 1,
            index: 2,
            op: Op {
                kind: Kind::Put,
                k: 0,
                v: 0,
            },
        });
    }
}
