// dbctl_cpp: independent C++17 port of the faultbox dbctl lab model, written from
// /work/shared/specs/dbctl-lab.md (not from the Go code).
//
//   g++ -O2 -std=c++17 -o dbctl_cpp dbctl.cpp
//   ./dbctl_cpp --seed N --ops N --keys N --scenario normal|fault > snapshot.bin
//
// Writes the raw snapshot bytes to stdout; hash them with sha256sum.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "dbctl_cpp: %s\n", msg.c_str());
    std::exit(70);
}

// The lab's SplitMix64 variant (second multiplier ...1CE4E7B5, not the textbook one).
struct LabRng {
    uint64_t state;
    explicit LabRng(uint64_t seed) : state(seed) {}
    uint64_t next() {
        state += 0x9E3779B97F4A7C15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E7B5ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

enum class Kind : uint8_t { Put = 0, Del = 1 };

struct Op {
    Kind kind;
    int64_t k;
    int64_t v;
};

Op step_op(LabRng& rng, uint64_t keys) {
    if (keys == 0) die("step_op: keys must be >= 1");
    uint64_t r1 = rng.next();
    uint64_t r2 = rng.next();
    uint64_t r3 = rng.next();
    Op op;
    op.kind = ((r1 >> 62) & 3) == 3 ? Kind::Del : Kind::Put;
    op.k = static_cast<int64_t>(r2 % keys);
    op.v = static_cast<int64_t>(r3 % 1000);
    return op;
}

struct Entry {
    uint64_t term;
    uint64_t index;
    Op op;
};

struct Node {
    uint8_t id;
    uint64_t term = 1;
    uint64_t commit_index = 0;
    uint64_t last_applied = 0;
    std::vector<Entry> log;
    std::map<int64_t, int64_t> kv;  // ordered: ascending signed key

    explicit Node(uint8_t i) : id(i) {}

    uint64_t log_len() const { return static_cast<uint64_t>(log.size()); }

    void append(const Entry& e) {
        uint64_t len = log_len();
        if (e.index >= 1 && e.index <= len) return;  // already present: no change
        if (e.index != len + 1) {
            die("node " + std::to_string(id) + ": append index " + std::to_string(e.index) +
                " to a log of length " + std::to_string(len));
        }
        log.push_back(e);
    }

    void apply_committed() {
        while (last_applied < commit_index) {
            const Op& op = log[static_cast<size_t>(last_applied)].op;
            if (op.kind == Kind::Put) {
                kv[op.k] = op.v;
            } else {
                kv.erase(op.k);
            }
            ++last_applied;
        }
    }
};

struct Cluster {
    std::vector<Node> nodes{Node(0), Node(1), Node(2)};
    bool up[3] = {true, true, true};

    void submit(const Op& op) {
        Node& leader = nodes[0];
        uint64_t idx = leader.log_len() + 1;
        Entry e{leader.term, idx, op};
        leader.append(e);
        for (int f = 1; f <= 2; ++f)
            if (up[f]) nodes[f].append(e);
        int acks = 1;
        for (int f = 1; f <= 2; ++f)
            if (up[f] && nodes[f].log_len() >= idx) ++acks;
        if (acks >= 2) {
            leader.commit_index = idx;
            leader.apply_committed();
            for (int f = 1; f <= 2; ++f) {
                if (nodes[f].log_len() >= idx) {
                    nodes[f].commit_index = idx;
                    nodes[f].apply_committed();
                }
            }
        }
    }

    void set_follower_up(int fid, bool is_up) {
        if (fid != 1 && fid != 2) die("set_follower_up: follower id must be 1 or 2");
        up[fid] = is_up;
    }

    void catch_up(int fid) {
        if (fid != 1 && fid != 2) die("catch_up: follower id must be 1 or 2");
        const std::vector<Entry> leader_log = nodes[0].log;  // copy first
        const uint64_t leader_commit = nodes[0].commit_index;
        Node& f = nodes[fid];
        while (f.log.size() < leader_log.size()) f.append(leader_log[f.log.size()]);
        if (f.commit_index < leader_commit) {
            f.commit_index = leader_commit;
            f.apply_committed();
        }
    }
};

void put_u8(std::vector<uint8_t>& out, uint8_t x) { out.push_back(x); }
void put_u32(std::vector<uint8_t>& out, uint32_t x) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t x) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
void put_i64(std::vector<uint8_t>& out, int64_t x) { put_u64(out, static_cast<uint64_t>(x)); }

std::vector<uint8_t> encode(const Cluster& c) {
    std::vector<uint8_t> out;
    for (const Node& n : c.nodes) {
        static const char magic[8] = {'D', 'S', 'E', 'D', 'I', 'S', 'T', '2'};
        out.insert(out.end(), magic, magic + 8);
        put_u8(out, n.id);
        put_u64(out, n.term);
        put_u64(out, n.commit_index);
        if (n.log.size() > UINT32_MAX) die("log too long for a u32 length");
        put_u32(out, static_cast<uint32_t>(n.log.size()));
        for (const Entry& e : n.log) {
            put_u64(out, e.term);
            put_u64(out, e.index);
            put_u8(out, static_cast<uint8_t>(e.op.kind));
            put_i64(out, e.op.k);
            put_i64(out, e.op.kind == Kind::Del ? 0 : e.op.v);
        }
        put_u32(out, static_cast<uint32_t>(n.kv.size()));
        for (const auto& kv : n.kv) {  // std::map iterates in ascending key order
            put_i64(out, kv.first);
            put_i64(out, kv.second);
        }
    }
    return out;
}

Cluster run_cluster(uint64_t seed, uint64_t ops, uint64_t keys, bool with_fault) {
    LabRng rng(seed);
    Cluster c;
    const uint64_t down_start = ops / 2;
    const uint64_t down_end = ops * 3 / 4;
    for (uint64_t i = 0; i < ops; ++i) {
        if (with_fault && i == down_start) c.set_follower_up(1, false);
        if (with_fault && i == down_end) {
            c.set_follower_up(1, true);
            c.catch_up(1);
        }
        c.submit(step_op(rng, keys));
    }
    if (with_fault && !c.up[1]) {
        c.set_follower_up(1, true);
        c.catch_up(1);
    }
    return c;
}

const char* kUsage = "usage: dbctl_cpp --seed N --ops N --keys N --scenario normal|fault";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "dbctl_cpp: %s\n%s\n", msg.c_str(), kUsage);
    std::exit(2);
}

uint64_t parse_u64(const std::string& flag, const std::string& v) {
    if (v.empty()) usage_error(flag + ": invalid value \"\": want a non-negative decimal integer");
    uint64_t x = 0;
    for (char ch : v) {
        if (ch < '0' || ch > '9')
            usage_error(flag + ": invalid value \"" + v + "\": want a non-negative decimal integer");
        uint64_t d = static_cast<uint64_t>(ch - '0');
        if (x > (UINT64_MAX - d) / 10)
            usage_error(flag + ": invalid value \"" + v + "\": want an integer in 0..=18446744073709551615");
        x = x * 10 + d;
    }
    return x;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<uint64_t> seed, ops, keys;
    std::optional<bool> fault;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::printf("%s\n", kUsage);
            return 0;
        }
        if (arg.rfind("--", 0) != 0) usage_error("unexpected argument \"" + arg + "\"");
        std::string name, value;
        size_t eq = arg.find('=');
        if (eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else {
            if (i + 1 >= argc) usage_error(arg + ": missing value");
            name = arg;
            value = argv[++i];
        }
        auto once = [&](bool set) {
            if (set) usage_error(name + ": given twice");
        };
        if (name == "--seed") {
            once(seed.has_value());
            seed = parse_u64(name, value);
        } else if (name == "--ops") {
            once(ops.has_value());
            ops = parse_u64(name, value);
        } else if (name == "--keys") {
            once(keys.has_value());
            keys = parse_u64(name, value);
            if (*keys == 0) usage_error("--keys: invalid value \"0\": want an integer >= 1");
        } else if (name == "--scenario") {
            once(fault.has_value());
            if (value == "normal") fault = false;
            else if (value == "fault") fault = true;
            else usage_error("--scenario: unknown value \"" + value + "\": want normal or fault");
        } else {
            usage_error("unknown flag \"" + name + "\"");
        }
    }
    if (!seed) usage_error("--seed: missing (required)");
    if (!ops) usage_error("--ops: missing (required)");
    if (!keys) usage_error("--keys: missing (required)");
    if (!fault) usage_error("--scenario: missing (required)");

    const std::vector<uint8_t> snap = encode(run_cluster(*seed, *ops, *keys, *fault));
    if (!snap.empty() && std::fwrite(snap.data(), 1, snap.size(), stdout) != snap.size()) {
        std::perror("dbctl_cpp: write stdout");
        return 1;
    }
    if (std::fflush(stdout) != 0) {
        std::perror("dbctl_cpp: flush stdout");
        return 1;
    }
    return 0;
}
