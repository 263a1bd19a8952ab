package mount_test

import (
	"context"
	"fmt"
	"os"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/mount"
)

// A control line, parsed as the socket parses it.
func ExampleParseCommand() {
	c, err := mount.ParseCommand("rules sync:path=*.db:nth=2:error=EIO")
	fmt.Println(c.Verb, len(c.Rules), c.Rules[0], err)
	_, err = mount.ParseCommand("reboot")
	fmt.Println(err)
	// Output:
	// rules 1 sync:path=*.db:nth=2:error=EIO <nil>
	// control: command "reboot": want one of crash, wipe, rules [SPEC], status, unmount
}

// A program writes under the mount; a crash keeps only what it synced. (Not run by go test:
// it needs FUSE; TestCrashKeepsOnlyWhatWasSynced runs the same steps where FUSE is there.)
func ExampleNew() {
	cfg := disk.FastLocal()
	cfg.CrashKeepAllProbability = 0 // a crash keeps nothing unsynced
	st, _ := disk.NewStorage(1, cfg, disk.RealClock())
	dir, _ := os.MkdirTemp("", "lying")
	m, err := mount.New(dir, st, mount.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Unmount()

	f, _ := os.Create(dir + "/f")
	f.WriteString("synced")
	f.Sync()
	f.WriteString(" and not")
	f.Close()
	d, _ := os.Open(dir)
	d.Sync() // the directory entry of f
	d.Close()

	m.Crash()
	b, _ := os.ReadFile(dir + "/f")
	fmt.Printf("%q\n", b) // "synced"
}

// ALICE on an unmodified program: coreutils replace a file through a rename whose data was
// never synced, and the check finds the state where the new name holds nothing. (Not run by
// go test: it needs FUSE; TestEnumerateSqlite3 and faultbox's TestDiskEnumerateProgram run
// such enumerations where FUSE is there.)
func ExampleEnumerateProgram() {
	dir, _ := os.MkdirTemp("", "alice")
	defer os.RemoveAll(dir)
	res, err := mount.EnumerateProgram(context.Background(), mount.Program{
		Workload: []string{"sh", "-c", `echo "version 2" > config.tmp && mv config.tmp config && sync .`},
		Check:    []string{"sh", "-c", `test ! -e config || grep -qx "version 2" config`},
	}, mount.EnumerateOptions{Dir: dir, Seed: 1, TornSeeds: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Points, "points,", res.Distinct, "distinct states,", len(res.Failures), "failed")
	fmt.Println(res.Failures[0].State) // point 2 (before end), drop
}
