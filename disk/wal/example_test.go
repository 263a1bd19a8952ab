package wal_test

import (
	"errors"
	"fmt"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/wal"
)

// A phantom write: the sync reports success, the bytes never reach the media, and the log
// says so after the restart instead of silently coming back shorter.
func Example() {
	st, _ := disk.NewStorage(1, disk.Config{}, disk.NewVirtualClock())
	l, _ := wal.Open(st.FS("node-1"), "wal", wal.Options{})
	_, _ = l.Append([]byte("first"))
	_, _ = l.Sync()

	_ = st.SetConfig(disk.Config{PhantomWriteProbability: 1})
	_, _ = l.Append([]byte("second"))
	_ = st.SetConfig(disk.Config{})
	acked, err := l.Sync()
	fmt.Println("acknowledged:", acked, err)

	st.Crash("node-1", true)
	_, err = wal.Open(st.FS("node-1"), "wal", wal.Options{})
	fmt.Println(errors.Is(err, wal.ErrLost))
	fmt.Println(st.Counters())
	// Output:
	// acknowledged: 2 <nil>
	// true
	// phantom-write=1 crashes=1 wipes=0
}
