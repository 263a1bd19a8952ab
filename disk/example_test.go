package disk_test

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/faultbox/faultbox/disk"
)

// A crash keeps what was synced, and a directory entry only once its directory was synced.
func ExampleMemFS_Crash() {
	m := disk.NewMem()
	f, _ := m.Create("wal")
	_, _ = f.WriteAt([]byte("synced"), 0)
	_ = f.Sync()
	_ = m.SyncDir("")
	_, _ = f.WriteAt([]byte(" and not"), 6)
	g, _ := m.Create("new-file")
	_ = g.Sync() // its data is durable, its name is not

	after, _ := m.Crash(disk.CrashOptions{Seed: 1})
	names, _ := after.List("")
	h, _ := after.Open("wal")
	buf := make([]byte, 32)
	n, _ := h.ReadAt(buf, 0)
	fmt.Println(names, string(buf[:n]))
	// Output: [wal] synced
}

// Storage scopes disks per process; a crash closes the process's handles.
func ExampleStorage() {
	st, _ := disk.NewStorage(42, disk.FastLocal(), disk.NewVirtualClock())
	fsys := st.FS("10.0.0.1:7000")
	f, _ := fsys.Create("data")
	_, _ = f.WriteAt([]byte("hello"), 0)

	st.Crash("10.0.0.1:7000", true)
	_, err := f.ReadAt(make([]byte, 5), 0)
	fmt.Println(errors.Is(err, disk.ErrCrashed))
	_, err = st.FS("10.0.0.1:7000").Open("data")
	fmt.Println(err)
	// Output:
	// true
	// open data: file does not exist
}

// Faults are events: a sync failure reaches the caller and is recorded.
func ExampleFaultFS() {
	cfg := disk.Config{SyncFailureProbability: 1}
	fsys, _ := disk.NewFaultFS(disk.NewMem(), disk.FaultOptions{Seed: 1, Config: cfg})
	f, _ := fsys.Create("log")
	err := f.Sync()
	fmt.Println(errors.Is(err, disk.ErrSyncFailed))
	for _, e := range fsys.Log().Events() {
		fmt.Println(e)
	}
	fmt.Println(fsys.Counters())
	// Output:
	// true
	// #1 t=0s disk sync-failure log
	// sync-failure=1 crashes=0 wipes=0
}

// A configuration from JSON: absent fields keep moonpool's defaults; bad values are named.
func ExampleParseConfig() {
	c, _ := disk.ParseConfig([]byte(`{"SyncLatency": {"Min": "2ms", "Max": "8ms"}, "PhantomWriteProbability": 0.001}`))
	fmt.Println(c.IOPS, c.SyncLatency.Min, c.PhantomWriteProbability)
	_, err := disk.ParseConfig([]byte(`{"ReadFaultProbability": 1.5}`))
	fmt.Println(err)
	// Output:
	// 25000 2ms 0.001
	// disk config: ReadFaultProbability = 1.5: want a probability in [0, 1]
}

// Rules aim errors: here a faulty area of one file fails every read that touches it, while
// the bytes beside it read back; a bad rule names its field, value and expectation.
func ExampleParseRules() {
	rules, _ := disk.ParseRules("read:path=*.sst:bytes=4096-8191:error=EIO")
	fsys, _ := disk.NewFaultFS(disk.NewMem(), disk.FaultOptions{Seed: 1})
	_ = fsys.SetRules(rules)
	f, _ := fsys.Create("000001.sst")
	_, _ = f.WriteAt(make([]byte, 12288), 0)

	buf := make([]byte, 4096)
	for _, off := range []int64{0, 4096, 8192} {
		_, err := f.ReadAt(buf, off)
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Println(off, disk.ErrnoName(errno))
		} else {
			fmt.Println(off, err)
		}
	}
	_, err := disk.ParseRules("sync:bytes=0-10:error=EIO")
	fmt.Println(err)
	// Output:
	// 0 <nil>
	// 4096 EIO
	// 8192 <nil>
	// disk rule "sync:bytes=0-10:error=EIO": column 1: operation "sync": expected read, write or * with bytes= (it selects the bytes a read or write touches)
}

// Enumerate crashes a workload at each persistence point in every distinct crash state:
// here the classic bug, a file replaced by a rename whose data was never synced.
func ExampleEnumerate() {
	workload := func(fsys disk.FS) error {
		f, _ := fsys.Create("config.tmp")
		_, _ = f.WriteAt([]byte("version 2"), 0) // no f.Sync(): the bug
		_ = fsys.Rename("config.tmp", "config")
		return fsys.SyncDir("")
	}
	check := func(s disk.CrashState) error {
		f, err := s.FS.Open("config")
		if err != nil {
			return nil // before the rename was durable: no config yet, allowed
		}
		buf := make([]byte, 9)
		if n, _ := f.ReadAt(buf, 0); string(buf[:n]) != "version 2" {
			return fmt.Errorf("config holds %q", buf[:n])
		}
		return nil
	}
	res, _ := disk.Enumerate(workload, check, disk.EnumerateOptions{Seed: 1, TornSeeds: 2})
	fmt.Println(res.Points, "points,", res.Distinct, "distinct states,", len(res.Failures), "failed")
	fmt.Println(res.Failures[0].State, "->", res.Failures[0].Err)
	// Output:
	// 2 points, 4 distinct states, 1 failed
	// point 2 (before end), drop -> config holds ""
}
