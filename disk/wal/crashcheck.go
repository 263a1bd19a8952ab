package wal

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/faultbox/faultbox/disk"
)

// CrashCheck is a workload and the recovery check that disk.Enumerate runs on a log: the
// workload appends 21 records in six batches of growing size (1 to 6), syncing after each
// batch; the check recovers the log from a crash state and requires every acknowledged
// record, byte for byte, or a refusal (ErrLost: detected, not silent).
type CrashCheck struct {
	// Record is the i-th record's payload.
	Record func(i int) []byte
	// OnRefused, when set, is told of each crash state recovery refused with ErrLost.
	OnRefused func(s disk.CrashState, acked int)
	acked     int
}

// Workload is the workload for disk.Enumerate.
func (c *CrashCheck) Workload(fsys disk.FS) error {
	l, err := Open(fsys, "wal", Options{})
	if err != nil {
		return err
	}
	n := 0
	for batch := 1; batch <= 6; batch++ {
		for range batch {
			if _, err := l.Append(c.Record(n)); err != nil {
				return err
			}
			n++
		}
		if _, err := l.Sync(); err != nil {
			return err
		}
		c.acked = n
	}
	return nil
}

// Check is the check for disk.Enumerate.
func (c *CrashCheck) Check(s disk.CrashState) error {
	l, err := Open(s.FS, "wal", Options{})
	if errors.Is(err, ErrLost) {
		if c.OnRefused != nil {
			c.OnRefused(s, c.acked)
		}
		return nil // detected, not silent
	}
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	recs := l.Records()
	if len(recs) < c.acked {
		return fmt.Errorf("recovered %d records, %d were acknowledged", len(recs), c.acked)
	}
	for i, r := range recs {
		if !bytes.Equal(r.Payload, c.Record(i)) {
			return fmt.Errorf("record %d differs", i)
		}
	}
	return nil
}
