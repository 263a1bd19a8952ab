package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"

	"github.com/faultbox/faultbox/disk"
)

// Errors callers test with errors.Is.
var (
	// ErrChecksum: a record's bytes do not match its checksum.
	ErrChecksum = errors.New("wal: checksum mismatch")
	// ErrMisplaced: a record with a valid checksum was found at a position it was not
	// written for (a misdirected write or read).
	ErrMisplaced = errors.New("wal: record found at the wrong position")
	// ErrLost: recovery found fewer records than the log had acknowledged as synced.
	ErrLost = errors.New("wal: acknowledged records are missing")
	// ErrPoisoned: a sync failed; the log refuses further work. Restart the process from
	// its durable state (crash and reopen): after a failed fsync the page cache cannot be
	// trusted.
	ErrPoisoned = errors.New("wal: poisoned by a failed sync; reopen after a restart")
	// ErrVerify: what was written and synced does not read back (read after write).
	ErrVerify = errors.New("wal: read after write mismatch")
)

const (
	headerSize = 20 // position u64, index u32, length u32, crc u32
	maxRecord  = 1 << 20
	metaSize   = 32
	metaMagic  = 0x57414c4d // "WALM"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(pos int64, index uint32, payload []byte) uint32 {
	var h [16]byte
	binary.LittleEndian.PutUint64(h[0:], uint64(pos))
	binary.LittleEndian.PutUint32(h[8:], index)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(payload)))
	c := crc32.Update(0, castagnoli, h[:])
	return crc32.Update(c, castagnoli, payload)
}

// Options tune a Log.
type Options struct {
	// Align is the sector size: every sync batch starts on a multiple of it, so a torn
	// sector of a later batch never touches synced records. 0 means 512.
	Align int64
}

// Log is an open write-ahead log: records appended, then made durable by Sync, which is
// when they are acknowledged. It is not safe for concurrent use.
type Log struct {
	fsys    disk.FS
	name    string
	data    disk.File
	meta    disk.File
	align   int64
	end     int64 // where the next record goes
	seq     uint64
	synced  int // records acknowledged; those after it were appended since the last sync
	records []Record
	failed  error
}

// Record is one recovered or appended record.
type Record struct {
	Pos     int64
	Payload []byte
}

// Open opens or creates the log called name (files name and name+".meta") and recovers
// it: records are read from the start until the first that is not valid; if fewer are
// valid than the log had acknowledged, Open fails with ErrLost (joined with the reason the
// first bad record failed). A torn, unacknowledged tail is cut off.
func Open(fsys disk.FS, name string, opts Options) (*Log, error) {
	l := &Log{fsys: fsys, name: name, align: opts.Align}
	if l.align <= 0 {
		l.align = 512
	}
	created := false
	var err error
	if l.data, created, err = openOrCreate(fsys, name); err != nil {
		return nil, err
	}
	metaCreated := false
	if l.meta, metaCreated, err = openOrCreate(fsys, name+".meta"); err != nil {
		return nil, err
	}
	if created || metaCreated {
		if err := fsys.SyncDir(path.Dir(name)); err != nil {
			return nil, fmt.Errorf("wal: open %s: %w", name, err)
		}
	}
	if err := l.recover(); err != nil {
		return nil, err
	}
	return l, nil
}

func openOrCreate(fsys disk.FS, name string) (disk.File, bool, error) {
	f, err := fsys.Open(name)
	if err == nil {
		return f, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("wal: open %s: %w", name, err)
	}
	f, err = fsys.Create(name)
	if err != nil {
		return nil, false, fmt.Errorf("wal: create %s: %w", name, err)
	}
	return f, true, nil
}

type metaState struct {
	seq, count uint64
	end        int64
}

// readMeta returns the newest valid meta slot. If no slot is valid but one holds bytes,
// the meta is damaged: recovery must not guess how much was acknowledged.
func (l *Log) readMeta() (metaState, error) {
	var best metaState
	valid, written := 0, 0
	buf := make([]byte, metaSize)
	for slot := int64(0); slot < 2; slot++ {
		n, _ := l.meta.ReadAt(buf, slot*l.align)
		if !allZero(buf[:n]) {
			written++
		}
		if n < metaSize {
			continue
		}
		if binary.LittleEndian.Uint32(buf[0:]) != metaMagic {
			continue
		}
		if metaChecksum(buf, slot*l.align) != binary.LittleEndian.Uint32(buf[28:]) {
			continue
		}
		valid++
		m := metaState{seq: binary.LittleEndian.Uint64(buf[4:]), count: binary.LittleEndian.Uint64(buf[12:]),
			end: int64(binary.LittleEndian.Uint64(buf[20:]))}
		if m.seq >= best.seq {
			best = m
		}
	}
	if valid == 0 && written > 0 {
		return best, fmt.Errorf("wal: meta of %s unreadable: %w", l.name, ErrChecksum)
	}
	return best, nil
}

// metaChecksum covers a meta slot's fields and its own offset, so a slot read from the
// wrong place (a misdirected read or write) does not pass for the real one.
func metaChecksum(buf []byte, off int64) uint32 {
	var o [8]byte
	binary.LittleEndian.PutUint64(o[:], uint64(off))
	return crc32.Update(crc32.Checksum(buf[:28], castagnoli), castagnoli, o[:])
}

func (l *Log) writeMeta() error {
	buf := make([]byte, metaSize)
	binary.LittleEndian.PutUint32(buf[0:], metaMagic)
	binary.LittleEndian.PutUint64(buf[4:], l.seq)
	binary.LittleEndian.PutUint64(buf[12:], uint64(l.synced))
	binary.LittleEndian.PutUint64(buf[20:], uint64(l.end))
	// Both slots, one after the other, each synced before the next is touched: a crash tears
	// at most the slot being written, and a write lost on its way to the media (a phantom
	// write, which no read-back can see) still leaves the other slot up to date.
	for _, slot := range []int64{int64(l.seq % 2), int64(1 - l.seq%2)} {
		off := slot * l.align
		binary.LittleEndian.PutUint32(buf[28:], metaChecksum(buf, off))
		if _, err := l.meta.WriteAt(buf, off); err != nil {
			return err
		}
		if err := l.meta.Sync(); err != nil {
			return err
		}
		// Read after write: a corrupted or misdirected meta write would silently weaken the
		// loss detection of the next recovery.
		back := make([]byte, metaSize)
		if n, _ := l.meta.ReadAt(back, off); n < metaSize || !bytes.Equal(back, buf) {
			return fmt.Errorf("wal: meta slot at %d does not read back as written: %w", off, ErrVerify)
		}
	}
	return nil
}

// padIndex marks a padding record: it fills a batch up to the next sector boundary and is
// checksummed like a record, so that a read fault returning zeros cannot fake padding and
// make recovery skip over records.
const padIndex = 0xFFFFFFFF

// readRecord reads and checks the record at pos, which must be record number index (-1:
// any). It returns io.EOF at a clean end (nothing, or a zero header, at a sector boundary)
// and errPad for padding.
func (l *Log) readRecord(pos int64, index int) ([]byte, error) {
	gap := roundUp(pos, l.align) - pos
	if gap > 0 && gap < headerSize {
		return nil, errPad // no record starts this close to a boundary (see Append)
	}
	// One read of a whole sector's worth usually holds the header and the payload, so a
	// misdirected read returns a whole other record, caught by its position.
	first := make([]byte, max(l.align, headerSize))
	n, err := l.data.ReadAt(first, pos)
	first = first[:n]
	if n < headerSize {
		if allZero(first) && pos%l.align == 0 && (err == io.EOF || err == nil) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("wal: record at %d: short header (%d bytes): %w", pos, n, ErrChecksum)
	}
	h := first[:headerSize]
	if allZero(h) {
		if pos%l.align == 0 {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("wal: record at %d: zeros where a record or padding belongs: %w", pos, ErrChecksum)
	}
	stored := int64(binary.LittleEndian.Uint64(h[0:]))
	storedIndex := binary.LittleEndian.Uint32(h[8:])
	size := binary.LittleEndian.Uint32(h[12:])
	sum := binary.LittleEndian.Uint32(h[16:])
	if size > maxRecord {
		return nil, fmt.Errorf("wal: record at %d: length %d over the limit: %w", pos, size, ErrChecksum)
	}
	payload := make([]byte, size)
	have := copy(payload, first[headerSize:])
	if have < int(size) {
		if m, _ := l.data.ReadAt(payload[have:], pos+headerSize+int64(have)); m < int(size)-have {
			return nil, fmt.Errorf("wal: record at %d: payload cut at %d of %d bytes: %w", pos, have+m, size, ErrChecksum)
		}
	}
	if checksum(stored, storedIndex, payload) != sum {
		return nil, fmt.Errorf("wal: record at %d: %w", pos, ErrChecksum)
	}
	if stored != pos {
		return nil, fmt.Errorf("wal: record at %d was written for position %d: %w", pos, stored, ErrMisplaced)
	}
	if storedIndex == padIndex {
		if pos+headerSize+int64(size) != roundUp(pos+1, l.align) {
			return nil, fmt.Errorf("wal: padding at %d does not end on a sector boundary: %w", pos, ErrChecksum)
		}
		return nil, errPad
	}
	if index >= 0 && int(storedIndex) != index {
		return nil, fmt.Errorf("wal: record at %d is record #%d, want #%d (stale or out of sequence): %w", pos, storedIndex, index, ErrMisplaced)
	}
	return payload, nil
}

// padding returns the bytes that fill [pos, next sector boundary): a checksummed padding
// record, or zeros when the gap is too small for a header.
func (l *Log) padding(pos int64) []byte {
	gap := roundUp(pos, l.align) - pos
	buf := make([]byte, gap)
	if gap >= headerSize {
		binary.LittleEndian.PutUint64(buf[0:], uint64(pos))
		binary.LittleEndian.PutUint32(buf[8:], padIndex)
		binary.LittleEndian.PutUint32(buf[12:], uint32(gap-headerSize))
		binary.LittleEndian.PutUint32(buf[16:], checksum(pos, padIndex, buf[headerSize:]))
	}
	return buf
}

var errPad = errors.New("padding")

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (l *Log) recover() error {
	meta, err := l.readMeta()
	if err != nil {
		return errors.Join(fmt.Errorf("wal: recover %s: cannot tell what was acknowledged: %w", l.name, ErrLost), err)
	}
	pos := int64(0)
	var bad error
	for {
		payload, err := l.readRecord(pos, len(l.records))
		if err == errPad {
			pos = roundUp(pos, l.align)
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			bad = err
			break
		}
		l.records = append(l.records, Record{Pos: pos, Payload: payload})
		pos += headerSize + int64(len(payload))
	}
	if uint64(len(l.records)) < meta.count {
		reason := bad
		if reason == nil {
			reason = fmt.Errorf("wal: log ends at %d", pos)
		}
		return errors.Join(fmt.Errorf("wal: recover %s: %d records readable, %d were acknowledged: %w",
			l.name, len(l.records), meta.count, ErrLost), reason)
	}
	if meta.count > 0 {
		last := l.records[meta.count-1]
		if got := last.Pos + headerSize + int64(len(last.Payload)); got != meta.end && roundUp(got, l.align) != meta.end {
			return fmt.Errorf("wal: recover %s: acknowledged records end at %d, meta says %d: %w", l.name, got, meta.end, ErrLost)
		}
	}
	// Everything after pos was never acknowledged: cut it off durably, so that stale bytes
	// cannot be mistaken for records later, and pad to the next sector so that the next
	// batch never shares a sector with acknowledged records.
	aligned := roundUp(pos, l.align)
	if aligned > pos {
		if _, err := l.data.WriteAt(l.padding(pos), pos); err != nil {
			return fmt.Errorf("wal: recover %s: %w", l.name, err)
		}
	}
	if err := l.data.Truncate(aligned); err != nil {
		return fmt.Errorf("wal: recover %s: %w", l.name, err)
	}
	if err := l.data.Sync(); err != nil {
		return fmt.Errorf("wal: recover %s: %w", l.name, err)
	}
	l.synced = len(l.records)
	l.seq = meta.seq
	l.end = aligned
	if uint64(l.synced) != meta.count {
		// Records that were durable but not yet acknowledged are acknowledged now, so a
		// later loss of them is detected too.
		l.seq++
		if err := l.writeMeta(); err != nil {
			return fmt.Errorf("wal: recover %s: %w", l.name, err)
		}
	}
	return nil
}

func roundUp(x, a int64) int64 { return (x + a - 1) / a * a }

// Records returns the records recovered and appended so far (acknowledged or not).
func (l *Log) Records() []Record { return l.records }

// Acknowledged is how many records are durable as far as the log knows.
func (l *Log) Acknowledged() int { return l.synced }

// Append writes a record and returns its position. It is not durable until Sync.
func (l *Log) Append(payload []byte) (int64, error) {
	if l.failed != nil {
		return 0, l.failed
	}
	if len(payload) > maxRecord {
		return 0, fmt.Errorf("wal: append: record of %d bytes over the limit %d", len(payload), maxRecord)
	}
	if gap := roundUp(l.end, l.align) - l.end; gap > 0 && gap < headerSize {
		l.end += gap // too close to a sector boundary for a header: start on the next sector
	}
	pos := l.end
	buf := make([]byte, headerSize+len(payload))
	index := uint32(len(l.records))
	binary.LittleEndian.PutUint64(buf[0:], uint64(pos))
	binary.LittleEndian.PutUint32(buf[8:], index)
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[16:], checksum(pos, index, payload))
	copy(buf[headerSize:], payload)
	if _, err := l.data.WriteAt(buf, pos); err != nil {
		l.failed = fmt.Errorf("%w: %w", ErrPoisoned, err)
		return 0, err
	}
	l.end += int64(len(buf))
	l.records = append(l.records, Record{Pos: pos, Payload: buf[headerSize:]})
	return pos, nil
}

// Sync makes every appended record durable and acknowledges them: the data file is synced,
// then the meta file records how many records are acknowledged. It returns how many records
// are acknowledged in all. Any error poisons the log: nothing pending is acknowledged and
// the caller must restart from the durable state.
func (l *Log) Sync() (int, error) {
	if l.failed != nil {
		return l.synced, l.failed
	}
	if l.synced == len(l.records) {
		return l.synced, nil
	}
	// Pad the batch to a whole sector, explicitly: the next batch then starts on a fresh
	// sector, and a sector torn at a crash never holds acknowledged records.
	tail := l.end
	if pad := l.padding(l.end); len(pad) > 0 {
		if _, err := l.data.WriteAt(pad, l.end); err != nil {
			l.failed = fmt.Errorf("%w: %w", ErrPoisoned, err)
			return l.synced, fmt.Errorf("wal: sync %s: %w", l.name, err)
		}
		l.end += int64(len(pad))
	}
	if err := l.data.Sync(); err != nil {
		l.failed = fmt.Errorf("%w: %w", ErrPoisoned, err)
		return l.synced, fmt.Errorf("wal: sync %s: %w", l.name, err)
	}
	// Read after write: every record of the batch must read back intact at its position
	// before it is acknowledged (catches write corruption and misdirected writes).
	for i := l.synced; i < len(l.records); i++ {
		r := l.records[i]
		got, err := l.readRecord(r.Pos, i)
		if err != nil || !bytes.Equal(got, r.Payload) {
			l.failed = fmt.Errorf("%w: record at %d: %w", ErrPoisoned, r.Pos, ErrVerify)
			return l.synced, l.failed
		}
	}
	if tail < l.end && l.end-tail >= headerSize {
		if _, err := l.readRecord(tail, -1); err != errPad {
			l.failed = fmt.Errorf("%w: padding at %d: %w", ErrPoisoned, tail, ErrVerify)
			return l.synced, l.failed
		}
	}
	l.seq++
	old := l.synced
	l.synced = len(l.records)
	if err := l.writeMeta(); err != nil {
		l.synced = old
		l.failed = fmt.Errorf("%w: %w", ErrPoisoned, err)
		return l.synced, fmt.Errorf("wal: sync %s: %w", l.name, err)
	}
	return l.synced, nil
}

// Read reads the record at pos, checking its checksum and position.
func (l *Log) Read(pos int64) ([]byte, error) {
	p, err := l.readRecord(pos, -1)
	if err == io.EOF || err == errPad {
		return nil, fmt.Errorf("wal: read at %d: no record there: %w", pos, ErrChecksum)
	}
	return p, err
}

// Close closes the log's files.
func (l *Log) Close() error {
	return errors.Join(l.data.Close(), l.meta.Close())
}
