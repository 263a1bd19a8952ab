//! dbctl-rust: the Rust port of the dbctl lab model.
//!
//!   dbctl-rust --seed N --ops N --keys N --scenario normal|fault
//!       writes the raw snapshot bytes to stdout (hash them with sha256sum)
//!   ... --hash
//!       prints the lowercase SHA-256 hex instead (no trailing newline)
//!   ... --bench RUNS [--rounds R]
//!       times R rounds (default 5) of RUNS x (run + encode + SHA-256) and prints ns/run,
//!       with the parts (run+encode alone, SHA-256 alone, portable SHA-256) beside it

use dbctl_port::{run_cluster, sha256, snapshot, Scenario};
use std::hint::black_box;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: dbctl-rust --seed N --ops N --keys N --scenario normal|fault [--hash | --bench RUNS [--rounds R]]";

struct Args {
    seed: u64,
    ops: u64,
    keys: u64,
    scenario: Scenario,
    hash: bool,
    bench: Option<u64>,
    rounds: u64,
}

fn parse_u64(flag: &str, v: &str) -> Result<u64, String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{}: invalid value {:?}: want a non-negative decimal integer",
            flag, v
        ));
    }
    v.parse::<u64>().map_err(|_| {
        format!(
            "{}: invalid value {:?}: want an integer in 0..=18446744073709551615",
            flag, v
        )
    })
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let (mut seed, mut ops, mut keys, mut scenario) = (None, None, None, None);
    let (mut hash, mut bench, mut rounds) = (false, None, None);
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Err(String::new());
        }
        if arg == "--hash" {
            hash = true;
            continue;
        }
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), v.to_string()),
            _ if arg.starts_with("--") => {
                if i >= argv.len() {
                    return Err(format!("{}: missing value", arg));
                }
                i += 1;
                (arg.clone(), argv[i - 1].clone())
            }
            _ => return Err(format!("unexpected argument {:?}", arg)),
        };
        let dup = |set: bool| {
            if set {
                Err(format!("{}: given twice", name))
            } else {
                Ok(())
            }
        };
        match name.as_str() {
            "--seed" => {
                dup(seed.is_some())?;
                seed = Some(parse_u64(&name, &value)?);
            }
            "--ops" => {
                dup(ops.is_some())?;
                ops = Some(parse_u64(&name, &value)?);
            }
            "--keys" => {
                dup(keys.is_some())?;
                let k = parse_u64(&name, &value)?;
                if k == 0 {
                    return Err("--keys: invalid value \"0\": want an integer >= 1".to_string());
                }
                keys = Some(k);
            }
            "--scenario" => {
                dup(scenario.is_some())?;
                scenario = Some(Scenario::parse(&value).ok_or_else(|| {
                    format!(
                        "--scenario: unknown value {:?}: want normal or fault",
                        value
                    )
                })?);
            }
            "--bench" => {
                dup(bench.is_some())?;
                let n = parse_u64(&name, &value)?;
                if n == 0 {
                    return Err("--bench: invalid value \"0\": want an integer >= 1".to_string());
                }
                bench = Some(n);
            }
            "--rounds" => {
                dup(rounds.is_some())?;
                let n = parse_u64(&name, &value)?;
                if n == 0 {
                    return Err("--rounds: invalid value \"0\": want an integer >= 1".to_string());
                }
                rounds = Some(n);
            }
            _ => return Err(format!("unknown flag {:?}", name)),
        }
    }
    let missing = |n: &str| format!("{}: missing (required)", n);
    if hash && bench.is_some() {
        return Err("--hash and --bench: choose one".to_string());
    }
    if rounds.is_some() && bench.is_none() {
        return Err("--rounds: only with --bench".to_string());
    }
    Ok(Args {
        seed: seed.ok_or_else(|| missing("--seed"))?,
        ops: ops.ok_or_else(|| missing("--ops"))?,
        keys: keys.ok_or_else(|| missing("--keys"))?,
        scenario: scenario.ok_or_else(|| missing("--scenario"))?,
        hash,
        bench,
        rounds: rounds.unwrap_or(5),
    })
}

/// Times `rounds` rounds of `runs` calls of `f` (after a warm-up of a tenth of a round)
/// and returns ns/run per round.
fn time_rounds<T, F: FnMut() -> T>(runs: u64, rounds: u64, mut f: F) -> Vec<f64> {
    for _ in 0..(runs / 10).max(1) {
        black_box(f());
    }
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / runs as f64
        })
        .collect()
}

/// Prints a line of the bench report; a closed stdout (e.g. `| head`) ends the process quietly.
fn say(line: String) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", line).and_then(|_| out.flush()).is_err() {
        std::process::exit(1);
    }
}

fn summary(label: &str, mut per_run: Vec<f64>) {
    let rounds: Vec<String> = per_run.iter().map(|x| format!("{:.0}", x)).collect();
    per_run.sort_by(|x, y| x.partial_cmp(y).unwrap());
    say(format!(
        "  {:<34} median {:>9.0} ns/run  min {:>9.0}  (rounds: {})",
        label,
        per_run[per_run.len() / 2],
        per_run[0],
        rounds.join(" ")
    ));
}

fn bench(a: &Args, runs: u64) {
    let name = match a.scenario {
        Scenario::Normal => "normal",
        Scenario::Fault => "fault",
    };
    let (seed, ops, keys, sc) = (a.seed, a.ops, a.keys, a.scenario);
    let snap = snapshot(seed, ops, keys, sc);
    let expect = sha256::digest(&snap);
    assert_eq!(
        expect,
        sha256::digest_portable(&snap),
        "sha256 backends disagree"
    );
    say(format!(
        "rust {} seed={} ops={} keys={}: snapshot {} bytes, sha256={} ({} rounds x {} runs, sha256 backend {})",
        name,
        seed,
        ops,
        keys,
        snap.len(),
        sha256::hex(&expect),
        a.rounds,
        runs,
        sha256::backend()
    ));
    summary(
        "run+encode+sha256",
        time_rounds(runs, a.rounds, || {
            let d = sha256::digest(&snapshot(
                black_box(seed),
                black_box(ops),
                black_box(keys),
                sc,
            ));
            assert_eq!(d, expect, "non-deterministic result");
            d
        }),
    );
    let mut buf = Vec::new();
    summary(
        "same, snapshot buffer reused",
        time_rounds(runs, a.rounds, || {
            buf.clear();
            run_cluster(black_box(seed), black_box(ops), black_box(keys), sc).encode_into(&mut buf);
            sha256::digest(&buf)
        }),
    );
    summary(
        "run+encode+sha256 (portable sha)",
        time_rounds(runs, a.rounds, || {
            sha256::digest_portable(&snapshot(
                black_box(seed),
                black_box(ops),
                black_box(keys),
                sc,
            ))
        }),
    );
    summary(
        "run+encode",
        time_rounds(runs, a.rounds, || {
            snapshot(black_box(seed), black_box(ops), black_box(keys), sc)
        }),
    );
    summary(
        "run only",
        time_rounds(runs, a.rounds, || {
            run_cluster(black_box(seed), black_box(ops), black_box(keys), sc)
        }),
    );
    let cluster = run_cluster(seed, ops, keys, sc);
    summary(
        "encode only",
        time_rounds(runs, a.rounds, || black_box(&cluster).encode()),
    );
    summary(
        "sha256 of the snapshot",
        time_rounds(runs, a.rounds, || sha256::digest(black_box(&snap))),
    );
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{}", USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("dbctl-rust: {}\n{}", e, USAGE);
            return ExitCode::from(2);
        }
    };
    if let Some(runs) = a.bench {
        bench(&a, runs);
        return ExitCode::SUCCESS;
    }
    let snap = snapshot(a.seed, a.ops, a.keys, a.scenario);
    let mut out = std::io::stdout().lock();
    let res = if a.hash {
        out.write_all(sha256::hex(&sha256::digest(&snap)).as_bytes())
    } else {
        out.write_all(&snap)
    };
    if let Err(e) = res.and_then(|_| out.flush()) {
        eprintln!("dbctl-rust: write stdout: {}", e);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
