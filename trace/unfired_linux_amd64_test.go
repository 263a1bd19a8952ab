//go:build linux && amd64

package trace

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A rule that never fired says why, from what real programs did: for a rule with a path=
// filter, the calls made on the file (cat with stdout to a regular file copies it with
// copy_file_range and never reads it); for a rule without a filter, how often its call was made.
func TestUnfiredSaysWhy(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hostname")
	if err := os.WriteFile(file, []byte("box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cat := []string{"cat", file}
	cases := []struct {
		name   string
		stdout string // file or pipe
		args   []string
		rules  []string // --inject terms; "--crash X" for a crash rule
		want   []string // regexps the reason of the first rule must match, in order
	}{
		{"path-stdout-file", "file", cat, []string{"read:error=EIO:when=2:path=" + file},
			// copy_file_range since coreutils 9.0; older cats read the file.
			[]string{`^calls on ` + regexp.QuoteMeta(file) + `: openat=1 .*(copy_file_range|read)=\d .*close=1`}},
		{"path-stdout-pipe-when", "pipe", cat, []string{"read:error=EIO:when=3:path=" + file},
			[]string{`^calls on ` + regexp.QuoteMeta(file) + `: openat=1 .*read=2 close=1; when=3 never reached$`}},
		{"path-never-named", "file", cat, []string{"openat:error=ENOENT:path=/nowhere"},
			[]string{`^no call on /nowhere$`}},
		{"no-filter-when", "file", cat, []string{"read:error=EIO:when=1000"},
			[]string{`^read was called \d+ times?; when=1000 never reached$`}},
		{"no-filter-never-called", "file", cat, []string{"fsync:error=EIO"},
			[]string{`^fsync was never called$`}},
		{"proc-no-such-label", "file", cat, []string{"read:error=EIO:proc=nobody"},
			[]string{`^no process was labelled nobody$`}},
		{"replaced-by-later-term", "file", cat, []string{"close:error=EIO:when=1", "close:error=EBADF:when=99"},
			[]string{`^a later --inject term for close replaces it \(strace keeps the last term for each call\)$`}},
		{"crash-count-not-reached", "file", cat, []string{"--crash p1@close#99"},
			[]string{`^close was called \d+ times? by p1; #99 never reached$`}},
		{"per-thread-counts", "file", []string{"sh", "-c", "(cat " + file + "); (cat " + file + ")"},
			[]string{"openat:error=ENOENT:when=4:path=" + file},
			[]string{`; when=4 never reached \(counted per thread: at most 1\)$`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var rules []*Rule
			for _, s := range c.rules {
				if spec, ok := strings.CutPrefix(s, "--crash "); ok {
					r, err := ParseCrash(spec)
					if err != nil {
						t.Fatal(err)
					}
					rules = append(rules, r)
				} else {
					rules = append(rules, mustRule(t, s))
				}
			}
			stdout, read := stdoutOfKind(t, c.stdout)
			res, err := Run(t.Context(), Config{Args: c.args, Stdout: stdout, Rules: rules, MaxEvents: -1})
			if err != nil {
				t.Fatal(err)
			}
			read()
			text := rules[0].Text
			if !strings.HasPrefix(text, "--") {
				text = "--inject " + text
			}
			i := slices.Index(res.Unfired, text)
			if i < 0 || len(res.UnfiredWhy) != len(res.Unfired) {
				t.Fatalf("unfired %q, reasons %q: want %q among them", res.Unfired, res.UnfiredWhy, text)
			}
			why := res.UnfiredWhy[i]
			t.Logf("%s never fired; %s", text, why)
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(why) {
					t.Errorf("reason %q does not match %q", why, w)
				}
			}
			if line := "warning: " + text + " never fired; " + why + "\n"; !strings.Contains(res.Summary(), line) {
				t.Errorf("summary lacks %q:\n%s", line, res.Summary())
			}
		})
	}
}

// The calls a filtered rule watches stop the tracee but make no events: the run's events and
// their addresses are the same with and without such a rule.
func TestWatchedCallsMakeNoEvents(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(rules ...*Rule) (events []string, calls map[string]int) {
		stdout, read := stdoutOfKind(t, "pipe")
		res, err := Run(t.Context(), Config{Args: []string{"cat", file}, Stdout: stdout, Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		read()
		for _, e := range res.Events {
			events = append(events, e.Addr+" "+e.Call)
		}
		return events, res.Calls
	}
	plain, plainCalls := run()
	watched, watchedCalls := run(mustRule(t, "write:error=EIO:path=/nowhere"), mustRule(t, "write:error=EIO:fd=tcp"))
	if !slices.Equal(plain, watched) {
		t.Errorf("events differ with watching rules:\nwithout %q\nwith    %q", plain, watched)
	}
	if !maps.Equal(plainCalls, watchedCalls) {
		t.Errorf("calls counted differ: %v and %v", plainCalls, watchedCalls)
	}
}
