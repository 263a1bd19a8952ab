package failpoint

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// failRSTerm is one term as fail-rs reads it.
type failRSTerm struct {
	percent float64 // as written; 100 when absent
	count   int64   // -1 when absent
	action  string
	arg     string
	hasArg  bool
}

var (
	// What both parsers read alike: a plain decimal with an optional "+" (Rust's f32 also takes
	// 1e1, inf, NaN and negative values; docs/failpoint.md lists those differences) and a whole
	// number with an optional "+" (all that Rust's usize takes).
	failRSDecimal = regexp.MustCompile(`^\+?([0-9]+\.?[0-9]*|\.[0-9]+)$`)
	failRSWhole   = regexp.MustCompile(`^\+?[0-9]+$`)
	// Roughly what Rust's f32 takes besides: signs, exponents, inf and NaN.
	rustFloat = regexp.MustCompile(`^[+-]?((?i:inf|infinity|nan)|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$`)
)

// failRSChain is a model of how fail-rs reads a chain of terms, written from its source
// (tikv/fail-rs src/lib.rs: `set` splits at every "->", `Action::from_str` reads a term) so
// that tests can hold Parse to it. err is what fail-rs reports. skip is set when the input
// uses one of the deliberate differences listed in docs/failpoint.md, where the two
// parsers are not meant to agree.
func failRSChain(chain string) (terms []failRSTerm, skip string, err error) {
	if !utf8.ValidString(chain) {
		return nil, "not UTF-8 (a Rust string cannot hold it)", nil
	}
	if strings.IndexFunc(chain, func(r rune) bool { return unicode.IsSpace(r) && !strings.ContainsRune(" \t\r\n", r) }) >= 0 {
		return nil, "white space other than blanks (Rust's trim removes it)", nil
	}
	if len(chain) > maxTermsBytes || strings.Count(chain, "->") >= maxTerms {
		return nil, "over the limits", nil
	}
	for _, s := range strings.Split(chain, "->") {
		t, tskip, terr := failRSTermOf(s)
		if skip == "" {
			skip = tskip
		}
		if err == nil {
			err = terr
		}
		terms = append(terms, t)
	}
	if err != nil {
		terms = nil
	}
	return terms, skip, err
}

// failRSTermOf follows Action::from_str: trim; cut at the first "(" (the rest must end with
// ")", and what lies between is the argument); then cut what precedes at the first "%" (the
// percentage) and then at the first "*" (the count); what remains must be the action.
func failRSTermOf(s string) (t failRSTerm, skip string, err error) {
	t = failRSTerm{percent: 100, count: -1}
	remain := strings.Trim(s, " \t\r\n")
	if before, after, ok := strings.Cut(remain, "("); ok {
		remain = before
		if !strings.HasSuffix(after, ")") {
			return t, "", errors.New("parentheses do not match")
		}
		t.arg, t.hasArg = after[:len(after)-1], true
	}
	if before, after, ok := strings.Cut(remain, "%"); ok {
		remain = after
		switch {
		case failRSDecimal.MatchString(before):
			v, perr := strconv.ParseFloat(before, 64)
			if perr != nil && !errors.Is(perr, strconv.ErrRange) {
				panic(perr)
			}
			t.percent = v
		case rustFloat.MatchString(before):
			skip = "a percentage in Rust's float syntax, or negative"
		default:
			return t, "", errors.New("failed to parse frequency")
		}
	}
	if before, after, ok := strings.Cut(remain, "*"); ok {
		remain = after
		if !failRSWhole.MatchString(before) {
			return t, skip, errors.New("failed to parse count")
		}
		v, perr := strconv.ParseUint(strings.TrimPrefix(before, "+"), 10, 64)
		if perr != nil || v > maxCount {
			return t, "a count over 2^53", nil
		}
		t.count = int64(v)
	}
	t.action = remain
	switch remain {
	case "off", "pause", "yield":
		if t.hasArg {
			skip = "an argument to " + remain + " (fail-rs ignores it)"
		}
	case "return", "panic", "print":
		if a := strings.TrimLeft(t.arg, " \t\r\n"); a != "" && strings.ContainsRune("\"'`", rune(a[0])) {
			skip = "a quoted argument"
		}
	case "sleep", "delay":
		if !t.hasArg || !failRSWhole.MatchString(t.arg) {
			return t, skip, errors.New("failed to parse timeout")
		}
		ms, perr := strconv.ParseUint(strings.TrimPrefix(t.arg, "+"), 10, 64)
		if perr != nil {
			return t, skip, errors.New("failed to parse timeout")
		}
		if ms > uint64(1<<62)/uint64(time.Millisecond) {
			return t, "a duration over 2^62 ns", nil
		}
	default:
		return t, skip, errors.New("unrecognized command")
	}
	return t, skip, nil
}

// sameAsFailRS reports how got differs from what fail-rs made of the chain, or "".
func sameAsFailRS(got []Term, want []failRSTerm) string {
	if len(got) != len(want) {
		return "the chain has " + strconv.Itoa(len(got)) + " terms, fail-rs " + strconv.Itoa(len(want))
	}
	for i, w := range want {
		g := got[i]
		n := "term " + strconv.Itoa(i+1) + ": "
		switch {
		case g.Action.String() != w.action:
			return n + "action " + g.Action.String() + ", fail-rs " + w.action
		case g.Percent != min(w.percent, 100):
			return n + "percent " + strconv.FormatFloat(g.Percent, 'g', -1, 64) + ", fail-rs " + strconv.FormatFloat(w.percent, 'g', -1, 64)
		case g.Count != w.count:
			return n + "count " + strconv.FormatInt(g.Count, 10) + ", fail-rs " + strconv.FormatInt(w.count, 10)
		case g.HasArg != w.hasArg || g.Arg != w.arg:
			return n + "argument " + strconv.Quote(g.Arg) + ", fail-rs " + strconv.Quote(w.arg)
		case w.action == "sleep" || w.action == "delay":
			ms, _ := strconv.ParseInt(strings.TrimPrefix(w.arg, "+"), 10, 64)
			if g.Duration != time.Duration(ms)*time.Millisecond {
				return n + "duration " + g.Duration.String() + ", fail-rs " + w.arg + " ms"
			}
		}
	}
	return ""
}

// failRSEnv is a model of how fail-rs reads FAILPOINTS (FailScenario::setup): trim, split at
// every ";", skip empty entries, cut each at its first "=". Names that this package refuses
// (empty, with blanks or control bytes; fail-rs takes any) are a listed difference.
func failRSEnv(value string) (names []string, chains [][]failRSTerm, skip string, err error) {
	if len(value) > 16*maxTermsBytes {
		return nil, nil, "over the limits", nil
	}
	if strings.IndexFunc(value, func(r rune) bool { return unicode.IsSpace(r) && !strings.ContainsRune(" \t\r\n", r) }) >= 0 {
		return nil, nil, "white space other than blanks (Rust's trim removes it)", nil
	}
	for _, entry := range strings.Split(strings.Trim(value, " \t\r\n"), ";") {
		entry = strings.Trim(entry, " \t\r\n")
		if entry == "" {
			continue
		}
		name, chain, ok := strings.Cut(entry, "=")
		if !ok {
			return nil, nil, skip, errors.New("invalid failpoint")
		}
		if checkName(name) != nil {
			skip = "a name this package refuses"
		}
		terms, tskip, terr := failRSChain(chain)
		if skip == "" {
			skip = tskip
		}
		if terr != nil {
			return nil, nil, skip, terr
		}
		names = append(names, name)
		chains = append(chains, terms)
	}
	return names, chains, skip, nil
}

var failRSSeeds = []string{
	"return(:-))", "return(:-()", "return())", "return(()", "return(a)(b)", "return(()->return(x)",
	"return(x)y", "return(x))y", "print(:-) ) ", "125%2*return", "125%2*sleep(100)", " 125%2*off ",
	"return(2%5)", "25%return", "5*return", "+5%+3*return(+)", "sleep(+5)", "delay(2)", "print",
	"50%3*return(EIO)->off", "20%3*print(still alive!)->panic", "1*return(x)->2*panic(y)->yield",
	"return(\"x\")", "off(1)", "1e1%return", "-5%return", "return(msg", "Return", "ab%return",
}

// TestFailRSModel: the model reads fail-rs's own test cases (src/lib.rs, test_parse) as fail-rs
// does, so that the fuzz targets below compare against something right.
func TestFailRSModel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]failRSTerm{
		"return":           {percent: 100, count: -1, action: "return"},
		"return(64)":       {percent: 100, count: -1, action: "return", arg: "64", hasArg: true},
		"5*return":         {percent: 100, count: 5, action: "return"},
		"25%return":        {percent: 25, count: -1, action: "return"},
		"125%2*return":     {percent: 125, count: 2, action: "return"},
		"return(2%5)":      {percent: 100, count: -1, action: "return", arg: "2%5", hasArg: true},
		" 125%2*off ":      {percent: 125, count: 2, action: "off"},
		"125%2*sleep(100)": {percent: 125, count: 2, action: "sleep", arg: "100", hasArg: true},
		"125%2*print(msg)": {percent: 125, count: 2, action: "print", arg: "msg", hasArg: true},
		"return(:-))":      {percent: 100, count: -1, action: "return", arg: ":-)", hasArg: true},
	} {
		got, skip, err := failRSChain(in)
		if err != nil || skip != "" || len(got) != 1 || got[0] != want {
			t.Errorf("model(%q) = %+v, %q, %v; want %+v", in, got, skip, err, want)
		}
	}
	for _, in := range []string{"delay", "sleep", "Return", "ab%return", "ab*return", "return(msg", "unknown", "return(x)y"} {
		if _, _, err := failRSChain(in); err == nil {
			t.Errorf("model(%q) accepted it; fail-rs refuses it", in)
		}
	}
	// And Parse agrees with the model on those seeds that fall in the shared language.
	for _, in := range failRSSeeds {
		checkAgainstFailRS(t, in)
	}
}

// checkAgainstFailRS holds Parse to the model: what fail-rs accepts, Parse reads the same; a
// single term that fail-rs refuses (no "->" for Parse to read differently, no sleep or delay
// whose argument Parse reads more widely) Parse refuses too.
func checkAgainstFailRS(t *testing.T, chain string) {
	t.Helper()
	want, skip, ferr := failRSChain(chain)
	if skip != "" {
		return
	}
	got, err := Parse(chain)
	if ferr == nil {
		if err != nil {
			t.Fatalf("Parse(%q): %v; fail-rs reads %+v", chain, err, want)
		}
		if d := sameAsFailRS(got, want); d != "" {
			t.Fatalf("Parse(%q) = %v; %s", chain, got, d)
		}
		return
	}
	if err == nil && !strings.Contains(chain, "->") && !strings.Contains(chain, "sleep") && !strings.Contains(chain, "delay") {
		t.Fatalf("Parse(%q) = %v; fail-rs refuses it: %v", chain, got, ferr)
	}
}

// FuzzParseFailRS compares Parse with the model of fail-rs's parser.
func FuzzParseFailRS(f *testing.F) {
	for _, s := range failRSSeeds {
		f.Add(s)
	}
	f.Fuzz(checkAgainstFailRS)
}

// FuzzParseEnvFailRS compares ParseEnv with the model of fail-rs's FAILPOINTS reader: a value
// fail-rs accepts gives the same entries, in order, with the same terms.
func FuzzParseEnvFailRS(f *testing.F) {
	for _, s := range []string{"a=return(:-));b=print(:-()", "a=print(it's);b=off", "x=125%2*return->off;;y=sleep(5)",
		"a=return(()->return(x);b=1*panic(;))", " a = return ", "a=return(x)y;b=off", "setup1=return;setup2=pause;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		names, chains, skip, ferr := failRSEnv(value)
		if skip != "" || ferr != nil {
			return
		}
		got, err := ParseEnv(value)
		if err != nil {
			t.Fatalf("ParseEnv(%q): %v; fail-rs reads entries %q", value, err, names)
		}
		if len(got) != len(names) {
			t.Fatalf("ParseEnv(%q) has %d entries, fail-rs %d (%q)", value, len(got), len(names), names)
		}
		for i, st := range got {
			if st.Name != strings.Trim(names[i], " \t\r\n") {
				t.Fatalf("ParseEnv(%q) entry %d is %q, fail-rs %q", value, i+1, st.Name, names[i])
			}
			if d := sameAsFailRS(st.Terms, chains[i]); d != "" {
				t.Fatalf("ParseEnv(%q) entry %d %q: %s", value, i+1, st.Name, d)
			}
		}
	})
}
