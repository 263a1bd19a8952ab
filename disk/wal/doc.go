// Package wal is a small write-ahead log built on disk.FS, the consumer that proves the
// disk layer's faults are injected and can be handled. Every record carries its length, its
// own position, its index in the log and a CRC32C over all of them and the payload, so a
// record that is corrupted, torn, stale, or found where it was not written is detected. A naive log without those
// defences (Naive) is the negative control.
//
// Layout: records are [position u64][index u32][length u32][crc u32][payload], appended in
// batches; each Sync pads the batch to a sector boundary with a checksummed padding record,
// syncs, reads the batch back, and then records in a two-slot meta file how many records
// are acknowledged. Recovery reads records from the start and fails with ErrLost if fewer
// than the acknowledged count are intact, so a torn unacknowledged tail is cut off while a
// lost acknowledged record is always reported.
//
// Torture runs the log through a random workload with crashes on a faulty disk.Storage and
// checks every recovery against what was acknowledged; it backs 'faultbox disk torture'.
// TortureReport.Report is the run as a fault.Report: figures, faults by layer and kind, the
// checks "no silent loss" and "losses explained", and the verdict (empty when nothing was
// acknowledged).
package wal
