package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// replaceFile writes content to name through a temporary file and a rename: the classic
// atomic replace. With syncData false it is the classic bug: the rename (made durable by
// the directory sync) can reach the media before the data does.
func replaceFile(fsys FS, name, content string, syncData bool) error {
	f, err := fsys.Create(name + ".tmp")
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		return err
	}
	if syncData {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(name+".tmp", name); err != nil {
		return err
	}
	return fsys.SyncDir("")
}

// checkWhole: the file holds one of the versions, whole.
func checkWhole(versions ...string) func(CrashState) error {
	return func(s CrashState) error {
		f, err := s.FS.Open("config")
		if err != nil {
			return fmt.Errorf("config missing: %w", err)
		}
		fi, _ := f.Stat()
		buf := make([]byte, fi.Size())
		if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return err
		}
		for _, v := range versions {
			if string(buf) == v {
				return nil
			}
		}
		return fmt.Errorf("config holds %d bytes starting %.12q: not one of the %d versions, whole", len(buf), buf, len(versions))
	}
}

func TestEnumerateFindsTheUnsyncedRename(t *testing.T) {
	t.Parallel()
	v1, v2 := strings.Repeat("one ", 300), strings.Repeat("two ", 300)
	for _, tc := range []struct {
		syncData bool
		wantFail bool
	}{{false, true}, {true, false}} {
		res, err := Enumerate(func(fsys FS) error {
			if err := replaceFile(fsys, "config", v1, true); err != nil {
				return err
			}
			return replaceFile(fsys, "config", v2, tc.syncData)
		}, func(s CrashState) error {
			if s.Point <= 2 { // before the first version is durable, nothing to hold
				return nil
			}
			return checkWhole(v1, v2)(s)
		}, EnumerateOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Tried < res.Distinct || res.Distinct == 0 || res.Points < 4 {
			t.Fatalf("syncData=%v: %+v", tc.syncData, res)
		}
		if got := len(res.Failures) > 0; got != tc.wantFail {
			t.Fatalf("syncData=%v: failures %v, want some=%v (%+v)", tc.syncData, res.Failures, tc.wantFail, res)
		}
		if tc.wantFail {
			t.Logf("found: %s: %v (%d points, %d states tried, %d distinct)",
				res.Failures[0].State, res.Failures[0].Err, res.Points, res.Tried, res.Distinct)
		}
	}
}

func TestEnumerateIsDeterministic(t *testing.T) {
	t.Parallel()
	run := func() string {
		var seen []string
		res, _ := Enumerate(func(fsys FS) error {
			f, _ := fsys.Create("log")
			for i := 0; i < 5; i++ {
				_, _ = f.WriteAt([]byte(strings.Repeat("x", 700)), int64(700*i))
				_ = f.Sync()
			}
			return fsys.SyncDir("")
		}, func(s CrashState) error {
			seen = append(seen, fmt.Sprintf("%s %x", s, digest(s.FS.(*MemFS))))
			return nil
		}, EnumerateOptions{Seed: 3})
		return fmt.Sprint(res, seen)
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("two enumerations differ:\n%s\n%s", a, b)
	}
}

// A workload on several goroutines, as a storage engine's commits and flushes are: each
// writer appends 300-byte records to its own log and syncs after each, counting a record
// acknowledged once its sync returned. Every state of every point must hold each log's
// acknowledged records (with power-safe overwrite, the last sector's synced bytes survive
// any tear): the enumerator takes syncs one at a time and builds a point's states from one
// instant. Run with -race, it also shows the enumerator's own bookkeeping is safe.
func TestEnumerateConcurrentWorkload(t *testing.T) {
	t.Parallel()
	const writers, records, size = 3, 12, 300
	var mu sync.Mutex
	acked := make([]int, writers)
	record := func(w, i int) []byte {
		return []byte(strings.Repeat(string(rune('a'+w)), size-1) + string(rune('0'+i%10)))
	}
	res, err := Enumerate(func(fsys FS) error {
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := 0; w < writers; w++ {
			f, err := fsys.Create(fmt.Sprintf("log%d", w))
			if err != nil {
				return err
			}
			if err := fsys.SyncDir(""); err != nil {
				return err
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < records; i++ {
					if _, err := f.WriteAt(record(w, i), int64(i*size)); err != nil {
						errs[w] = err
						return
					}
					if err := f.Sync(); err != nil {
						errs[w] = err
						return
					}
					mu.Lock()
					acked[w] = i + 1
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}, func(s CrashState) error {
		mu.Lock()
		want := append([]int(nil), acked...)
		mu.Unlock()
		for w, n := range want {
			if n == 0 {
				continue
			}
			f, err := s.FS.Open(fmt.Sprintf("log%d", w))
			if err != nil {
				return fmt.Errorf("log%d with %d acknowledged records: %w", w, n, err)
			}
			buf := make([]byte, n*size)
			if m, _ := f.ReadAt(buf, 0); m < len(buf) {
				return fmt.Errorf("log%d holds %d bytes, %d records were acknowledged", w, m, n)
			}
			for i := 0; i < n; i++ {
				if !bytes.Equal(buf[i*size:(i+1)*size], record(w, i)) {
					return fmt.Errorf("log%d: acknowledged record %d damaged", w, i)
				}
			}
		}
		return nil
	}, EnumerateOptions{Seed: 5, TornSeeds: 4, PowersafeOverwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := writers + writers*records + 1; res.Points != want {
		t.Fatalf("points = %d, want %d (a directory sync per log, a sync per record, the end)", res.Points, want)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("%d of %d states failed, first: %s: %v", len(res.Failures), res.Distinct, res.Failures[0].State, res.Failures[0].Err)
	}
	t.Logf("%d points, %d states tried, %d distinct, none failed", res.Points, res.Tried, res.Distinct)
}
