//go:build linux

package trace

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// StatusSet says which calls the text trace shows by how they returned, as strace's
// -e status=: the zero value shows every call.
type StatusSet uint8

// The statuses of strace's -e status=.
const (
	StatusSuccessful  StatusSet = 1 << iota // returned without an error
	StatusFailed                            // returned an error (an injected one included)
	StatusUnfinished                        // never returned: the process died in the call
	StatusUnavailable                       // returned, but the result could not be read
	StatusDetached                          // the tracer detached while the call was in progress
	statusGiven                             // set by ParseStatus: the zero value means every status
)

var statusNames = []struct {
	name string
	bit  StatusSet
}{
	{"successful", StatusSuccessful}, {"failed", StatusFailed}, {"unfinished", StatusUnfinished},
	{"unavailable", StatusUnavailable}, {"detached", StatusDetached},
}

const statusAll = StatusSuccessful | StatusFailed | StatusUnfinished | StatusUnavailable | StatusDetached

// Has reports whether calls that ended with status st are shown.
func (s StatusSet) Has(st StatusSet) bool { return s&statusGiven == 0 || s&st != 0 }

// ParseStatus parses strace's -e status=SET: a comma list of successful, failed,
// unfinished, unavailable, detached, or all or none; a leading ! negates the set.
func ParseStatus(s string) (StatusSet, error) {
	bad := func(v, want string) error {
		return &SpecError{Flag: "-e status", Spec: s, Pos: 1, Field: "status", Value: v, Expected: want}
	}
	body, neg := strings.CutPrefix(s, "!")
	if body == "" {
		return 0, bad(s, "a comma list of successful, failed, unfinished, unavailable, detached, or all or none")
	}
	var set StatusSet
	for _, item := range strings.Split(body, ",") {
		switch item {
		case "all":
			set |= statusAll
			continue
		case "none":
			continue
		}
		found := false
		for _, n := range statusNames {
			if item == n.name {
				set |= n.bit
				found = true
			}
		}
		if !found {
			return 0, bad(item, "one of successful, failed, unfinished, unavailable, detached, all, none")
		}
	}
	if neg {
		set = statusAll &^ set
	}
	return set | statusGiven, nil
}

// SignalSet says which signals the text trace shows (strace's -e signal=): the zero value
// shows every signal.
type SignalSet struct {
	bits  uint64 // bit N-1 for signal N
	given bool
}

// Has reports whether signal sig is shown.
func (s SignalSet) Has(sig int) bool {
	if !s.given {
		return true
	}
	return sig >= 1 && sig <= 64 && s.bits&(1<<(sig-1)) != 0
}

// ParseSignals parses strace's -e signal=SET: a comma list of signal names (SIGINT, INT,
// int) or numbers 1..64, or all or none; a leading ! negates the set.
func ParseSignals(s string) (SignalSet, error) {
	bad := func(v, want string) error {
		return &SpecError{Flag: "-e signal", Spec: s, Pos: 1, Field: "signal", Value: v, Expected: want}
	}
	body, neg := strings.CutPrefix(s, "!")
	if body == "" {
		return SignalSet{}, bad(s, "a comma list of signal names or numbers 1..64, or all or none")
	}
	var bits uint64
	for _, item := range strings.Split(body, ",") {
		switch item {
		case "all":
			bits = ^uint64(0)
			continue
		case "none":
			continue
		}
		n, ok := parseSignal(item)
		if !ok {
			return SignalSet{}, bad(item, "a signal name (SIGINT, INT, int) or a number 1..64, or all or none")
		}
		bits |= 1 << (n - 1)
	}
	if neg {
		bits = ^bits
	}
	return SignalSet{bits: bits, given: true}, nil
}

// pathMatches reports whether p is one of the paths asked for (strace -P), each exact or, with
// * or ?, a pattern.
func pathMatches(paths []string, p string) bool {
	if p == "" {
		return false
	}
	for _, want := range paths {
		if want == p || strings.ContainsAny(want, "*?") && globMatch(want, p) {
			return true
		}
	}
	return false
}

// resolvePaths adds to each path of a -P list (not a pattern) the absolute path it names from
// dir (the command's directory, or faultbox's) and, when it goes through a symbolic link,
// where it leads, as strace does ("Requested path "src" resolved into "/tmp/x/src""): the
// tracer sees a descriptor's file by its absolute, resolved path.
func resolvePaths(paths []string, dir string) []string {
	if len(paths) == 0 {
		return paths
	}
	out := append([]string(nil), paths...)
	for _, p := range paths {
		if strings.ContainsAny(p, "*?") {
			continue
		}
		abs := p
		if !filepath.IsAbs(p) {
			base := dir
			if base == "" {
				base, _ = os.Getwd()
			}
			abs = filepath.Join(base, p)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if !slices.Contains(out, abs) {
			out = append(out, abs)
		}
	}
	return out
}
