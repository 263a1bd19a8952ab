// Package trace runs any Linux program under a ptrace tracer to record how its processes
// communicate and to inject faults at exact system calls, with no source and no rebuild.
//
// It has three parts:
//
//   - the tracer (Run) starts the command through a re-executed helper that installs a
//     seccomp-bpf filter before exec, so that only the traced or faulted calls stop; it follows
//     fork, vfork, clone and exec, makes every ptrace request from one locked OS thread, delivers
//     signals as they would be delivered untraced, and kills the whole tree when interrupted;
//     or it attaches to running processes (Config.Attach, strace -p) and detaches from them,
//     leaving them running, when interrupted; a call whose result nothing needs stops once;
//   - the injector applies the rules parsed by ParseInject (strace's --inject syntax as-is, plus
//     omit, phantom, short, corrupt, crash, refuse, reset, enospc, eio, pause, mute, seeded
//     probabilities and filters on fd kind, path, address and process label), ParseCrash and
//     ParsePartition, and the links (ParseLink: latency, jitter, loss between groups of
//     processes), a fault schedule (ParseSchedule: timed cuts, heals, links and crashes),
//     clock offsets (ParseClockOffset: a time namespace for the command) and clock skew
//     (ParseClockSkew: the results of the clock calls that reach the kernel; Config.NoVDSO
//     hides the vDSO so that they all do);
//   - the tracker names every endpoint (pid, fd) with its kind and addresses, pairs connect with
//     accept and each received byte with the send that wrote it, and builds a happens-before
//     graph over events whose addresses (label/tTHREAD/N) are stable from run to run.
//
// Results are written as JSON lines (WriteJSONL), a self-contained HTML space-time diagram
// (WriteHTML) and a Chrome trace (WriteChrome). The tracer is built for linux/amd64 and
// linux/arm64 (registers behind one small interface, regs; struct stat offsets and the
// seccomp audit architecture per architecture); its tests run on amd64 only. See docs/trace.md.
package trace

//go:generate go run ./internal/gen
