// Command onelog shows the shared core at work: a fail point and a lying disk, two layers,
// report every fault they inject into one fault.Log, on one virtual clock, from one seed.
// The same seed prints the same log byte for byte.
//
//	go run ./examples/onelog --seed 7            # the log as text, then the report
//	go run ./examples/onelog --seed 7 --jsonl    # the log as JSON lines
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/failpoint"
	"github.com/faultbox/faultbox/fault"
)

var beforeWrite = failpoint.New("onelog/before-write")

func main() {
	var seed fault.Seed = 7
	flag.Var(&seed, "seed", "seed of the whole run, decimal or 0x hex")
	records := flag.Int("n", 200, "records to append")
	jsonl := flag.Bool("jsonl", false, "print the fault log as JSON lines instead of text and a report")
	flag.Parse()
	rep, log, err := run(seed, *records)
	if err != nil {
		fmt.Fprintln(os.Stderr, "onelog:", err)
		os.Exit(fault.ExitFail)
	}
	if *jsonl {
		if err := fault.WriteJSONL(os.Stdout, log.Events()); err != nil {
			os.Exit(fault.ExitFail)
		}
		return
	}
	for _, e := range log.Events() {
		fmt.Println(e)
	}
	fmt.Println()
	rep.WriteText(os.Stdout)
	os.Exit(rep.Verdict.ExitCode())
}

// run appends records to a file on a process's disk; each append first passes a fail point
// (which may fail it) and every tenth is synced. The process crashes twice. After each crash
// the records that were synced must still be there.
func run(seed fault.Seed, records int) (*fault.Report, *fault.Log, error) {
	cfg := disk.DefaultConfig()
	cfg.SyncFailureProbability = 0.05
	cfg.PhantomWriteProbability = 0.01
	st, err := disk.NewStorage(seed, cfg, disk.NewVirtualClock())
	if err != nil {
		return nil, nil, err
	}
	log := st.Log() // the disk's log; the fail points report into it too
	log.SetClock(fault.Virtual, st.Clock().Now)
	sc := failpoint.NewScope()
	defer sc.Close()
	sc.SetSeed(seed)
	sc.SetRecorder(log)
	if err := sc.Enable(beforeWrite.Name(), "5%return(EIO)"); err != nil {
		return nil, nil, err
	}
	ctx := sc.Context(context.Background())

	const proc = "10.0.0.1:7000"
	rep := fault.NewReport("onelog", seed)
	var synced, appended int64 // bytes: what a sync made durable, what was written
	f, err := st.FS(proc).Create("log")
	if err != nil {
		return nil, nil, err
	}
	if err := st.FS(proc).SyncDir("."); err != nil { // the file's name survives a crash
		return nil, nil, err
	}
	failed := 0
	for i := range records {
		st.Clock().Sleep(time.Millisecond)
		if i == records/3 || i == 2*records/3 {
			st.Crash(proc, true)
			if f, err = st.FS(proc).Open("log"); err != nil {
				return nil, nil, err
			}
			appended = synced
			fi, err := f.Stat()
			if err != nil {
				return nil, nil, err
			}
			rep.Check(fmt.Sprintf("crash at step %d keeps synced bytes", i), fi.Size() >= synced,
				"%d bytes found, %d synced", fi.Size(), synced)
		}
		if err := beforeWrite.ErrContext(ctx); err != nil {
			failed++
			continue
		}
		rec := fmt.Appendf(nil, "record %04d\n", i)
		if _, err := f.WriteAt(rec, appended); err != nil {
			return nil, nil, err
		}
		appended += int64(len(rec))
		if i%10 == 9 {
			if err := f.Sync(); err == nil {
				synced = appended
			} else if !errors.Is(err, disk.ErrSyncFailed) {
				return nil, nil, err
			}
		}
	}
	rep.Add("records", records)
	rep.Add("appends failed by the fail point", failed)
	rep.Add("bytes synced", synced)
	rep.SetFaults(log.Counts())
	rep.Judge()
	rep.Replay = fmt.Sprintf("go run ./examples/onelog --seed %s -n %d", seed, records)
	return rep, log, nil
}
