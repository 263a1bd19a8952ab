package wal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/disk"
)

// TestRecoveryHoldsAtEveryCrashState: the log's recovery holds at every crash state of
// every persistence point of a workload (each data sync, each meta slot sync, each
// directory sync): every record acknowledged before the point comes back intact, in order,
// or recovery refuses with ErrLost (a detection, never a silent loss).
//
// What the enumeration found: before the second slot of the very first meta write is
// synced, the meta file grows from 32 bytes to align+32, so its first sector is "changed"
// (its tail is new zeros) and a torn crash can turn that whole sector, synced slot
// included, to garbage. Recovery then cannot read either slot and refuses with ErrLost
// although nothing was acknowledged yet: a false alarm (the log will not open), not a
// loss. Pre-sizing the meta file at creation would avoid it; the log is left as it is here
// because its behaviour is frozen by the torture outputs.
func TestRecoveryHoldsAtEveryCrashState(t *testing.T) {
	t.Parallel()
	refused := map[string]int{}
	c := &CrashCheck{Record: record, OnRefused: func(s disk.CrashState, acked int) {
		refused[fmt.Sprintf("point %d before %s %s, acknowledged %d", s.Point, s.Op, s.Path, acked)]++
	}}
	res, err := disk.Enumerate(c.Workload, c.Check, disk.EnumerateOptions{Seed: 1, TornSeeds: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failures {
		t.Errorf("%s: %v", f.State, f.Err)
	}
	if res.Points < 12 || res.Distinct < res.Points {
		t.Fatalf("enumeration too small to mean anything: %+v", res)
	}
	t.Logf("%d persistence points, %d crash states tried, %d distinct; recovery refused (ErrLost) at %v",
		res.Points, res.Tried, res.Distinct, refused)
	for at := range refused {
		if !strings.HasSuffix(at, "acknowledged 0") {
			t.Errorf("recovery refused at %s: only the first meta write is known to do that", at)
		}
	}
}

// The negative control: a client that counts a record as acknowledged before its sync
// (torture's AckBeforeSync). Some crash state must expose it.
func TestEnumerationCatchesAckBeforeSync(t *testing.T) {
	t.Parallel()
	acked := 0
	res, err := disk.Enumerate(func(fsys disk.FS) error {
		l, err := Open(fsys, "wal", Options{})
		if err != nil {
			return err
		}
		for i := 0; i < 4; i++ {
			if _, err := l.Append(record(i)); err != nil {
				return err
			}
			acked = i + 1 // the bug: acknowledged before the sync
			if _, err := l.Sync(); err != nil {
				return err
			}
		}
		return nil
	}, func(s disk.CrashState) error {
		l, err := Open(s.FS, "wal", Options{})
		if err != nil {
			return err
		}
		if len(l.Records()) < acked {
			return fmt.Errorf("recovered %d records, %d were acknowledged", len(l.Records()), acked)
		}
		return nil
	}, disk.EnumerateOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) == 0 {
		t.Fatalf("no crash state exposed the early acknowledgement: %+v", res)
	}
}
