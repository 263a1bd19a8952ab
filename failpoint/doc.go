// Package failpoint places named fail points in Go code, so that tests, operators and the
// FAILPOINTS environment variable can make a program fail on purpose at exactly that spot:
// return an error, panic, sleep, pause.
//
// It speaks the language of Rust's fail crate (fail-rs) and FreeBSD's fail(9):
//
//	FAILPOINTS='wal/sync=50%3*return(EIO)->off;raft/send=sleep(200)' ./server
//
// A site is declared once, at package level, and evaluated where the failure belongs:
//
//	var walSync = failpoint.New("wal/sync")
//
//	func (w *WAL) Sync() error {
//		if err := walSync.Err(); err != nil {
//			return err
//		}
//		return w.f.Sync()
//	}
//
// With nothing configured anywhere, an evaluation is one atomic load (well under a
// nanosecond, no allocation). Built with -tags failpoint_off, every site is the constant
// "off" and the code it guards is compiled away.
//
// Tests use a Scope carried by a context, so parallel tests never see each other's fail
// points, and wait on hit counters rather than sleeping:
//
//	sc, ctx := failpoint.TestScope(t)
//	sc.Enable("wal/sync", "pause")
//	go w.SyncContext(ctx)
//	sc.WaitHits(ctx, "wal/sync", 1) // the goroutine is now parked in the fail point
//
// Probabilities draw from a stream per site derived from FAILPOINTS_SEED (or SetSeed) and the
// site's name, so a run repeats. Handler serves list/set/clear over HTTP; `faultbox
// failpoints` is its client. See docs/failpoint.md for the grammar and the differences from
// fail-rs, pingcap/failpoint and gofail.
package failpoint
