// Package sim is a deterministic simulation world: one event queue on virtual time runs a
// whole distributed system (processes identified by IP address, each with its own disk, a
// network between them, fail points) under faults, and one seed replays the run byte for byte.
//
// The world owns time and scheduling. Nothing in it reads the wall clock or global randomness:
// every random decision (a message's latency or loss, a disk fault, a fail point's
// probability, a nemesis's choice) draws from a stream derived from the seed and a stable
// name (package fault), and every fault lands in one fault.Log. Step runs one event; the
// digest of every event run is TraceHash.
//
// # Two ways to write a process
//
// Handlers, actor style (SpawnHandler): Start, Receive and Timer are called one at a time on
// the world's goroutine, as etcd's raft is driven by Step and Tick. They are the fastest kind
// and need no goroutine. A handler's disk I/O takes effect at once; its latency makes the
// process busy, so its later sends leave, and its next calls come, when the I/O is over.
//
// Tasks, ordinary sequential Go (SpawnTask): a task sleeps, sends, receives and reads and
// writes files through the world, and starts other tasks with Go. Exactly one task runs at a
// time: each is a goroutine that holds the world's baton while it runs and gives it back
// whenever it waits on the world. A disk operation in a task completes only when the world
// steps to the time the disk's performance model gives it, so timeouts and concurrent I/O
// behave as on real hardware. A task that waits on anything else (a real channel, a lock held
// by a real goroutine, real I/O) stops the world with ErrStalled, naming the task.
//
// # What an event costs
//
// The world runs on one goroutine, so it keeps the events it has run and reuses them:
// scheduling a delivery, a timer, a start or a task's wake-up allocates nothing. A message's
// payload is copied when sent (processes share no memory), small ones into blocks shared by
// many messages: a receiver that keeps a payload keeps its block alive, which costs memory
// only. A handler that keeps nothing of a payload once Receive returns says so by being a
// Borrower (a BorrowsPayloads method); the world then reuses its payloads' memory, so a run
// allocates for the messages in flight rather than for every message sent. Every event and
// every payload is folded into TraceHash eight bytes at a time.
//
// # What is deterministic
//
// The order of events (virtual time, then the order they were scheduled), every draw, and
// every byte of every message and file are functions of the seed and the program. What is
// not: code that reads the wall clock, global randomness or map iteration order for its own
// decisions, or starts real goroutines; and fail point actions that wait (sleep, delay,
// pause), which wait in real time. The world cannot see inside such code; run a seed twice
// and compare TraceHash to find it.
package sim
