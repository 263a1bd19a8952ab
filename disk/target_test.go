package disk

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestParseRulesErrorsNameFieldValueAndExpectation(t *testing.T) {
	t.Parallel()
	cases := []struct{ spec, want string }{
		{"", `disk rule "": column 1: rule "": expected at least one rule`},
		{"fsync:error=EIO", `column 1: operation "fsync": expected * or a comma list of open, create`},
		{"sync:nth=0:error=EIO", `column 10: nth "0": expected a count >= 1`},
		{"sync:error=EWHAT", `column 12: error "EWHAT": expected an errno name: EIO, ENOSPC`},
		{"sync:path=[:error=EIO", `column 11: path "[": expected a glob`},
		{"write:after=soon:crash", `column 13: after "soon": expected a duration >= 0`},
		{"write:fault=torn-write", `column 13: fault "torn-write": expected a family decided at an operation`},
		{"write:fault=phantom-write:p=2", `column 29: p "2": expected a probability in (0, 1]`},
		{"write:error=EIO:p=0.5", `p "0.5": expected p= only with fault=FAMILY`},
		{"write:path=a", `rule "write:path=a": expected exactly one action`},
		{"write:error=EIO:crash", `expected exactly one action`},
		{"write:nth=1:nth=2:crash", `column 13: nth "2": expected each field once per rule`},
		{"write:bogus=1:crash", `column 7: field "bogus": expected one of path=GLOB`},
		{"write:nth!=1:crash", `column 7: nth! "1": expected != only on path or proc`},
		{"sync:error=EIO; write:zap", `column 23: field "zap": expected KEY=VALUE`},
		{"read:bytes=10-5:error=EIO", `column 12: bytes "10-5": expected FIRST-LAST or FIRST- in bytes, 0 <= FIRST <= LAST`},
		{"read:bytes=4096:error=EIO", `column 12: bytes "4096": expected FIRST-LAST`},
		{"read:bytes=-5:error=EIO", `bytes "-5": expected FIRST-LAST`},
		{"read,sync:bytes=0-1:error=EIO", `column 1: operation "sync": expected read, write or * with bytes=`},
		{"*:bytes=0-:fault=sync-failure", `fault "sync-failure": expected a read or write family with bytes=`},
	}
	for _, c := range cases {
		_, err := ParseRules(c.spec)
		var re *RuleError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRules(%q) = %v, want a *RuleError containing %q", c.spec, err, c.want)
		}
	}
}

func TestParseRulesSelects(t *testing.T) {
	t.Parallel()
	rs, err := ParseRules("sync:path=*.log:nth=3:error=EIO; write,truncate:path!=tmp/*:proc=a:error=ENOSPC")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Err != syscall.EIO || rs[1].Err != syscall.ENOSPC {
		t.Fatalf("rules = %v", rs)
	}
	hits := 0
	for i := 0; i < 6; i++ {
		for _, p := range []string{"x.log", "d/y.log", "z.sst"} {
			if rs[0].When.Match(Access{Op: OpSync, Path: p, Process: "a"}) {
				hits++
				if i != 1 || p != "x.log" { // the third sync of a *.log, counting both files
					t.Fatalf("matched sync %d of %s", i, p)
				}
			}
		}
	}
	if hits != 1 {
		t.Fatalf("nth=3 matched %d times, want once", hits)
	}
	w := rs[1].When
	for _, c := range []struct {
		a    Access
		want bool
	}{
		{Access{Op: OpWrite, Path: "db/x", Process: "a"}, true},
		{Access{Op: OpTruncate, Path: "x", Process: "a"}, true},
		{Access{Op: OpWrite, Path: "tmp/x", Process: "a"}, false},
		{Access{Op: OpWrite, Path: "x", Process: "b"}, false},
		{Access{Op: OpSync, Path: "x", Process: "a"}, false},
	} {
		if got := w.Match(c.a); got != c.want {
			t.Errorf("%v on %+v = %v, want %v", w, c.a, got, c.want)
		}
	}
}

// Every operation can be failed by a rule, with the errno the rule names, and each failure
// is an event.
func TestEveryOperationCanFail(t *testing.T) {
	t.Parallel()
	for _, op := range Ops {
		st, _ := NewStorage(1, Config{}, nil)
		fsys := st.FS("p")
		_ = fsys.Mkdir("d")
		f, _ := fsys.Create("d/f")
		_, _ = f.WriteAt([]byte("abc"), 0)
		rs, err := ParseRules(string(op) + ":path=d/*,d:error=ENOSPC")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetRules(rs); err != nil {
			t.Fatal(err)
		}
		fsys = st.FS("p")
		var got error
		switch op {
		case OpOpen:
			_, got = fsys.Open("d/f")
		case OpCreate:
			_, got = fsys.Create("d/g")
		case OpRename:
			got = fsys.Rename("d/f", "d/h")
		case OpRemove:
			got = fsys.Remove("d/f")
		case OpMkdir:
			got = fsys.Mkdir("d/e")
		case OpList:
			_, got = fsys.List("d")
		case OpStat:
			_, got = fsys.Stat("d/f")
		case OpSync:
			got = f.Sync()
		case OpSyncDir:
			got = fsys.SyncDir("d")
		case OpRead:
			_, got = f.ReadAt(make([]byte, 3), 0)
		case OpWrite:
			_, got = f.WriteAt([]byte("x"), 0)
		case OpTruncate:
			got = f.Truncate(0)
		}
		var ie *InjectedError
		if !errors.Is(got, syscall.ENOSPC) || !errors.As(got, &ie) {
			t.Errorf("%s: err = %v, want an injected ENOSPC", op, got)
		}
		if c := st.Counters(); c.Injected != 1 {
			t.Errorf("%s: injected = %d, want 1", op, c.Injected)
		}
	}
}

// storageWithRules is a fault-free Storage (seed 1) with the rules of spec installed.
func storageWithRules(t *testing.T, spec string) *Storage {
	t.Helper()
	st, err := NewStorage(1, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRules(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRules(rs); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFamilyScopedByRule(t *testing.T) {
	t.Parallel()
	st := storageWithRules(t, "write:path=*.log:nth=2:fault=phantom-write:p=1")
	fsys := st.FS("p")
	a, _ := fsys.Create("a.log")
	b, _ := fsys.Create("b.dat")
	for i := 0; i < 4; i++ {
		_, _ = b.WriteAt([]byte("bbbb"), int64(4*i))
		_, _ = a.WriteAt([]byte("aaaa"), int64(4*i))
	}
	ev := st.Events()
	if len(ev) != 1 || ev[0].Kind != string(PhantomWrite) || ev[0].Where != "a.log" || ev[0].Offset != 4 {
		t.Fatalf("events = %v, want one phantom write: the second write of a.log", ev)
	}
}

// A faulty area, as TigerBeetle's storage simulator has them: a rule with bytes= fails every
// read touching the range, and nothing else; with nth=1 the fault is transient, and a retry
// of the same read succeeds.
func TestFaultyAreaAndTransientReadFault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		spec    string
		retryOK bool
	}{
		{"read:path=*.sst:bytes=4096-8191:error=EIO", false},
		{"read:path=*.sst:bytes=4096-8191:nth=1:error=EIO", true},
	} {
		st := storageWithRules(t, c.spec)
		fsys := st.FS("p")
		f, _ := fsys.Create("t.sst")
		g, _ := fsys.Create("t.log")
		data := make([]byte, 16384)
		if _, err := f.WriteAt(data, 0); err != nil { // writes are not selected
			t.Fatalf("%s: write: %v", c.spec, err)
		}
		_, _ = g.WriteAt(data, 0)
		buf := make([]byte, 4096)
		for _, off := range []int64{0, 8192, 12288} { // around the area: untouched
			if _, err := f.ReadAt(buf, off); err != nil {
				t.Fatalf("%s: read at %d: %v", c.spec, off, err)
			}
		}
		if _, err := g.ReadAt(buf, 4096); err != nil { // another file's bytes there
			t.Fatalf("%s: read of t.log: %v", c.spec, err)
		}
		for _, r := range []struct{ off, n int64 }{{4095, 2}, {8191, 1}, {6000, 1}} { // touching it
			_, err := f.ReadAt(buf[:r.n], r.off)
			if want := !c.retryOK || r.off == 4095; want != errors.Is(err, syscall.EIO) {
				t.Fatalf("%s: read of %d bytes at %d: %v, want EIO %v", c.spec, r.n, r.off, err, want)
			}
		}
		if got, want := st.Counters().Injected, map[bool]int{false: 3, true: 1}[c.retryOK]; got != want {
			t.Errorf("%s: injected = %d, want %d", c.spec, got, want)
		}
	}
}

// A family scoped to a byte range applies to the reads and writes that touch it and to no
// other: here a phantom write, at p=1, to each write into the file's second 4 KiB.
func TestFamilyScopedToBytes(t *testing.T) {
	t.Parallel()
	st := storageWithRules(t, "write:bytes=4096-8191:fault=phantom-write:p=1")
	f, _ := st.FS("p").Create("f")
	for _, off := range []int64{0, 4096, 8192, 6000, 12288} {
		_, _ = f.WriteAt([]byte("abcd"), off)
	}
	ev := st.Events()
	if len(ev) != 2 || ev[0].Offset != 4096 || ev[1].Offset != 6000 {
		t.Fatalf("events = %v, want phantom writes at 4096 and 6000 only", ev)
	}
}

func TestCrashAtTheNthIO(t *testing.T) {
	t.Parallel()
	st := storageWithRules(t, "*:nth=4:crash")
	fsys := st.FS("p")
	f, _ := fsys.Create("f") // 1
	_ = fsys.SyncDir("")     // 2
	_, _ = f.WriteAt([]byte("synced"), 0)
	_ = f.Sync()                                                          // 4: crash just before it
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, ErrCrashed) { // the handle is dead
		t.Fatalf("after the crash point: %v, want ErrCrashed", err)
	}
	c := st.Counters()
	if c.Crashes != 1 || c.CrashPoints != 1 {
		t.Fatalf("counters %v, want one crash from one crash point", c)
	}
	if got, _ := st.Mem("p").DurableSize("f"); got != 0 {
		t.Fatalf("the sync the crash preempted made %d bytes durable", got)
	}
	// The rule fired once: the new incarnation is not crashed again at its own 4th I/O.
	fsys = st.FS("p")
	for i := 0; i < 6; i++ {
		if _, err := fsys.Stat("f"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCrashRuleNeedsStorage(t *testing.T) {
	t.Parallel()
	f, _ := NewFaultFS(NewMem(), FaultOptions{})
	rs, _ := ParseRules("*:crash")
	if err := f.SetRules(rs); err == nil || !strings.Contains(err.Error(), "needs a disk.Storage") {
		t.Fatalf("crash rule on a bare FaultFS: %v", err)
	}
}

func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"sync:path=*.log:nth=3:error=EIO", "*:nth=120:crash", "write,read:proc!=a:after=1s:before=2s:fault=read-corruption:p=0.5",
		"a;b", ":::", "sync:path!=x:error=eio; write:crash",
		"read:path=*.sst:bytes=4096-8191:nth=1:error=EIO", "*:bytes=0-:crash", "write:bytes=1-1:fault=phantom-write"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		rs, err := ParseRules(spec)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || re.Pos < 1 || re.Pos > len(spec)+1 {
				t.Fatalf("ParseRules(%q): %v, want a *RuleError with a column in the spec", spec, err)
			}
			return
		}
		for _, r := range rs {
			if err := r.validate(); err != nil {
				t.Fatalf("ParseRules(%q) gave an invalid rule %q: %v", spec, r, err)
			}
			again, err := ParseRules(r.String())
			if err != nil || len(again) != 1 || again[0].String() != r.String() {
				t.Fatalf("rule %q does not read back: %v %v", r, again, err)
			}
		}
	})
}

// The byte range's edges, and offsets near the top of int64 where Off+Len overflows.
func TestOnBytesEdges(t *testing.T) {
	t.Parallel()
	const max = int64(^uint64(0) >> 1)
	for _, c := range []struct {
		first, last, off, n int64
		want                bool
	}{
		{4096, 8191, 0, 4096, false},
		{4096, 8191, 0, 4097, true},
		{4096, 8191, 8191, 1, true},
		{4096, 8191, 8192, 1, false},
		{4096, 8191, 5000, 0, false},
		{100, -1, max - 10, 100, true},
		{max - 5, max, max - 10, 20, true},
		{max - 5, max, max - 10, 5, false},
		{0, -1, -1, 10, false},
	} {
		a := Access{Op: OpWrite, Path: "f", Off: c.off, Len: c.n}
		if got := OnBytes(c.first, c.last).Match(a); got != c.want {
			t.Errorf("OnBytes(%d, %d) on %d bytes at %d: %v, want %v", c.first, c.last, c.n, c.off, got, c.want)
		}
	}
}

// Read corruption scoped by bytes= hits only the sectors that overlap the range, however
// large the read: a faulty area, not a faulty read.
func TestReadCorruptionStaysInItsArea(t *testing.T) {
	t.Parallel()
	st := storageWithRules(t, "read:bytes=4096-5119:fault=read-corruption:p=1")
	f, _ := st.FS("p").Create("f")
	if _, err := f.WriteAt(make([]byte, 16384), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16384)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	ev := st.Events()
	if len(ev) != 2 {
		t.Fatalf("events = %v, want one read corruption in each of the area's two sectors", ev)
	}
	for _, e := range ev {
		if e.Kind != string(ReadCorruption) || e.Offset < 4096 || e.Offset > 5119 {
			t.Fatalf("event %v outside the area 4096-5119", e)
		}
	}
	for i, b := range buf {
		if b != 0 && (i < 4096 || i > 5119) {
			t.Fatalf("byte %d read back %#x, outside the area", i, b)
		}
	}
}
