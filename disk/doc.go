// Package disk makes storage lie on purpose, deterministically: a file-system interface with
// a durability model, an in-memory disk that can crash, and a wrapper that injects the seven
// storage fault families from a seed, so that checksums, write-ahead logs and recovery code
// are tested by faults rather than by hope.
//
// # The pieces
//
//   - FS and File: create, open, ReadAt/WriteAt, Sync, Truncate, Stat, Rename, Remove, Mkdir,
//     List and SyncDir. Implemented by OS (a pass-through to the real file system), MemFS
//     and FaultFS.
//   - MemFS keeps two images of every file and every directory: what the program sees and
//     what is durable. File.Sync makes a file's bytes durable; SyncDir makes a directory's
//     entries (creates, renames, removes) durable. MemFS.Crash returns a new, independent
//     disk built from the durable images, decided by a seed: unsynced data is lost, kept (a
//     small share of crashes keep everything) or torn sector by sector into new, old and
//     garbage sectors.
//   - FaultFS wraps any FS with the seven families (read corruption, write corruption, torn
//     writes at a crash, misdirected writes, misdirected reads, phantom writes, sync
//     failures) and the latency model, spent on a Clock that is either real or virtual.
//   - Storage gives each simulated process, identified by its address, its own disk, a
//     configuration (global, or overridden per process), and the lifecycle operations Crash
//     and Wipe. Handles of a crashed or wiped incarnation fail with ErrCrashed or ErrWiped.
//   - Every injected fault is a fault.Event (layer "disk", kind the family, file, offset,
//     length, time) recorded in a fault.Log, which may be shared with other layers;
//     Counters are read from it. Same seed and same workload give the same events.
//   - Rules (ParseRules, or Predicates composed in Go) say where an error, a family or a
//     crash lands: by operation, path, process, byte range, N-th occurrence and time, as
//     in "sync:path=*.log:nth=3:error=EIO".
//   - Enumerate crashes a workload at every persistence point in every distinct crash
//     state (ALICE-style) and checks each; CrashOptions.PowersafeOverwrite models the
//     drive that Pebble and SQLite assume, where a torn sector is never garbage.
//   - Atlas spreads corruption over the replicas of a replicated system so that a good copy
//     of every location survives.
//
// # Determinism
//
// Read-side faults are an overlay decided by a hash of the seed, the file, the location and
// the true bytes there: the stored bytes stay correct and a retry sees the same fault.
// Every other decision draws from a stream named by the seed, the process, its incarnation
// and the family; a family that is off draws nothing. Nothing reads the wall clock or global
// randomness, except RealClock for latency, whose times then appear in events.
//
// See docs/disk.md for the model in detail and disk/wal for a consumer.
package disk
