//go:build linux

package trace

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	var zero StatusSet
	if !zero.Has(StatusFailed) || !zero.Has(StatusDetached) {
		t.Errorf("the zero StatusSet hides a status")
	}
	cases := []struct {
		in       string
		has, not []StatusSet
	}{
		{"failed", []StatusSet{StatusFailed}, []StatusSet{StatusSuccessful, StatusUnfinished}},
		{"successful,unfinished", []StatusSet{StatusSuccessful, StatusUnfinished}, []StatusSet{StatusFailed}},
		{"!successful", []StatusSet{StatusFailed, StatusDetached}, []StatusSet{StatusSuccessful}},
		{"none", nil, []StatusSet{StatusSuccessful, StatusFailed}},
		{"all", []StatusSet{StatusSuccessful, StatusUnavailable}, nil},
	}
	for _, c := range cases {
		s, err := ParseStatus(c.in)
		if err != nil {
			t.Fatalf("ParseStatus(%q): %v", c.in, err)
		}
		for _, h := range c.has {
			if !s.Has(h) {
				t.Errorf("ParseStatus(%q) lacks %d", c.in, h)
			}
		}
		for _, h := range c.not {
			if s.Has(h) {
				t.Errorf("ParseStatus(%q) has %d", c.in, h)
			}
		}
	}
	_, err := ParseStatus("failed,nope")
	var se *SpecError
	if !errors.As(err, &se) || se.Field != "status" || se.Value != "nope" || !strings.Contains(err.Error(), "successful") {
		t.Errorf("bad status: %v", err)
	}
}

func TestParseSignals(t *testing.T) {
	t.Parallel()
	s, err := ParseSignals("SIGINT,term,9")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Has(2) || !s.Has(15) || !s.Has(9) || s.Has(17) {
		t.Errorf("ParseSignals(SIGINT,term,9) = %+v", s)
	}
	s, _ = ParseSignals("!SIGCHLD")
	if s.Has(17) || !s.Has(2) || !s.Has(64) {
		t.Errorf("!SIGCHLD = %+v", s)
	}
	s, _ = ParseSignals("none")
	if s.Has(2) {
		t.Errorf("none has SIGINT")
	}
	var zero SignalSet
	if !zero.Has(17) {
		t.Errorf("the zero SignalSet hides SIGCHLD")
	}
	_, err = ParseSignals("SIGINT,SIGNOPE")
	var se *SpecError
	if !errors.As(err, &se) || se.Field != "signal" || se.Value != "SIGNOPE" || !strings.Contains(err.Error(), "1..64") {
		t.Errorf("bad signal: %v", err)
	}
}

func TestSiginfoText(t *testing.T) {
	t.Parallel()
	si := make([]byte, 128)
	put := func(off int, v int32) {
		for i := 0; i < 4; i++ {
			si[off+i] = byte(uint32(v) >> (8 * i))
		}
	}
	put(0, 17)
	put(8, 1)
	put(16, 42)
	put(24, 3)
	si[40] = 1
	want := "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=42, si_uid=0, si_status=3, si_utime=0, si_stime=1 /* 0.01 s */}"
	if got := siginfoText(si); got != want {
		t.Errorf("siginfoText = %s\nwant %s", got, want)
	}
}

func FuzzParseStatusSignals(f *testing.F) {
	for _, s := range []string{"failed", "!successful,detached", "none", "SIGINT,9", "!all", "", "!", "int,,term"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) error{
			func(s string) error { _, err := ParseStatus(s); return err },
			func(s string) error { _, err := ParseSignals(s); return err },
		} {
			err := parse(s)
			if err == nil {
				continue
			}
			var se *SpecError
			if !errors.As(err, &se) || se.Field == "" || se.Expected == "" || !strings.Contains(err.Error(), strconv.Quote(se.Value)) {
				t.Fatalf("%q: bad error %v", s, err)
			}
		}
		var si [128]byte
		copy(si[:], s)
		_ = siginfoText(si[:])
	})
}
