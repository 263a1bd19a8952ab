package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/faultbox/faultbox/disk"
)

// Naive is the negative control: a log as it is often first written. Records are a length
// and a payload, back to back, with no checksum and no position; a failed sync is retried
// until it succeeds; recovery trusts whatever it reads. (It does sync its directory when it
// creates the file, so that the faults, not a missing dir sync, are what damage it.) The tests show the
// same faults that the Log detects damage it silently.
type Naive struct {
	f       disk.File
	end     int64
	records [][]byte
}

// OpenNaive opens or creates a naive log and reads back its records.
func OpenNaive(fsys disk.FS, name string) (*Naive, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		if f, err = fsys.Create(name); err == nil {
			err = fsys.SyncDir(path.Dir(name))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("naive: open %s: %w", name, err)
	}
	n := &Naive{f: f}
	var h [4]byte
	for {
		if m, _ := f.ReadAt(h[:], n.end); m < 4 {
			break
		}
		size := binary.LittleEndian.Uint32(h[:])
		if size == 0 || size > maxRecord {
			break
		}
		p := make([]byte, size)
		if m, _ := f.ReadAt(p, n.end+4); m < int(size) {
			break
		}
		n.records = append(n.records, p)
		n.end += 4 + int64(size)
	}
	return n, nil
}

// Append writes a record.
func (n *Naive) Append(payload []byte) error {
	buf := make([]byte, 4+len(payload))
	binary.LittleEndian.PutUint32(buf, uint32(len(payload)))
	copy(buf[4:], payload)
	if _, err := n.f.WriteAt(buf, n.end); err != nil {
		return err
	}
	n.end += int64(len(buf))
	n.records = append(n.records, buf[4:])
	return nil
}

// Sync retries a failed sync up to three times, as naive code does.
func (n *Naive) Sync() error {
	var err error
	for range 4 {
		if err = n.f.Sync(); err == nil {
			return nil
		}
	}
	return err
}

// Records returns what the naive log believes it holds.
func (n *Naive) Records() [][]byte { return n.records }
