// Package chunkcache is a tiered cache of fixed-size chunks of token sequences, with a
// fault_inject L2 adapter that makes chosen loads fail so that the recovery path for a
// gapped found-set (hit … miss … hit) can be exercised on demand.
//
// # Keys
//
// A Key names one chunk: its ChunkHash chains the previous chunk's hash (see ChunkHashes:
// SHA-256 over the previous hash and the chunk's tokens), so a key names its whole prefix;
// Model, KVRank, ObjectGroup and CacheSalt separate namespaces.
//
// # Tiers and adapters
//
// A Cache has an optional L1 tier in process memory (a byte-bounded Memory adapter) in front
// of an ordered cascade of L2 adapters. Every adapter implements Adapter: synchronous calls
// with a context, safe for concurrent use, results per key as a Bitmap. Adapters are built
// from JSON specs through a Registry (DefaultRegistry holds the built-in types):
//
//	memory        bounded, LRU eviction that never evicts a locked key
//	fs            one file per key, temp file + rename, optional CRC-32
//	fs_native     the fs layout, read and written by parallel pread/pwrite workers
//	resp          a Redis or Valkey server (github.com/redis/go-redis/v9)
//	fault_inject  wraps any of these and fails chosen loads
//
// A bad spec yields a *SpecError naming the adapter's position (#1, #2, …), the field and
// what was expected. Parsing a spec touches nothing; Config.Open creates the adapter.
//
// # The fault_inject drop rule
//
// Only load is faulted: lookup reports a dropped key present (the inner adapter locks it)
// and the load then reports it failed. Position i of a load batch of n keys is dropped when
// i == round_half_even((1 - r) × (n - 1)) for a gap_tail_ratio r, when i is a gap_index, or
// when rate > 0 and Bucket(seed, key) < floor(rate × 1,000,000), where Bucket is the 8-byte
// BLAKE2b digest of "{seed}:{Key.ID()}" read big-endian modulo 1,000,000. These decisions
// match LMCache's fault_inject adapter drop for drop. Each drop is reported as a fault.Event
// (to Env.OnFault, and by the server at GET /v1/faults) naming the rule that made it.
//
// # Prefetch and trim
//
// Cache.Prefetch serves what L1 holds, then looks every other key up (and locks it) on every
// L2 adapter, plans each key on the first adapter that has it, unlocks the rest, loads each
// adapter's planned keys as one batch in ascending request order, unlocks all planned keys,
// and applies the trim Policy: PolicyPrefix keeps the leading run of loaded chunks,
// PolicySegmentedPrefix and PolicySparse keep every loaded chunk. No lock outlives the call.
//
// Server exposes a Cache over a JSON HTTP API and Main is the chunkcache command line; see
// docs/chunkcache.md.
package chunkcache
