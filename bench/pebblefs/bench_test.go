package pebblefs_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/faultbox/faultbox/bench/pebblefs"
	"github.com/faultbox/faultbox/disk"
)

// BenchmarkPebble: Pebble writing 1,000 keys of 100 bytes with pebble.Sync, then a flush, on
// Pebble's own vfs.NewMem and on this adapter over disk.NewMem (no faults), side by side:
//
//	cd bench && go test -run '^$' -bench Pebble -benchmem -count 5 ./pebblefs/
func BenchmarkPebble(b *testing.B) {
	for _, c := range []struct {
		name string
		fs   func() vfs.FS
	}{
		{"vfs.NewMem", func() vfs.FS { return vfs.NewMem() }},
		{"pebblefs-over-disk.NewMem", func() vfs.FS { return pebblefs.New(disk.NewMem()) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			val := make([]byte, 100)
			for i := 0; i < b.N; i++ {
				fsys := c.fs()
				if err := fsys.MkdirAll("db", 0o755); err != nil {
					b.Fatal(err)
				}
				db, err := pebble.Open("db", options(fsys))
				if err != nil {
					b.Fatal(err)
				}
				for k := 0; k < 1000; k++ {
					if err := db.Set([]byte(fmt.Sprintf("k%06d", k)), val, pebble.Sync); err != nil {
						b.Fatal(err)
					}
				}
				if err := db.Flush(); err != nil {
					b.Fatal(err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
