package failpoint

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/faultbox/faultbox/fault"
)

// The environment variables the package reads.
const (
	// EnvTerms holds "name=terms;name2=terms", read once when the package initialises.
	EnvTerms = "FAILPOINTS"
	// EnvSeed holds the seed (decimal or 0x-prefixed hexadecimal uint64) of every probability.
	EnvSeed = "FAILPOINTS_SEED"
)

// Setting is one "name=terms" entry of a FAILPOINTS value.
type Setting struct {
	Name  string
	Text  string // the terms as written, trimmed
	Terms []Term
}

// EnvError says which entry of a FAILPOINTS value is wrong and why.
type EnvError struct {
	Entry int    // 1-based index of the entry
	Text  string // the entry as written
	Err   error  // a *ParseError, or a description of the bad name
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("failpoint: %s entry %d %q: %s", EnvTerms, e.Entry, clip(e.Text), strings.TrimPrefix(e.Err.Error(), "failpoint: "))
}

func (e *EnvError) Unwrap() error { return e.Err }

// ParseEnv parses a FAILPOINTS value: entries "name=terms" separated by ";". An entry ends
// at the first ";" after its terms, as in fail-rs, except that a ";" inside quotes, or inside
// an unquoted argument whose parentheses are still open with no ")" right before the ";",
// belongs to the argument (see Parse). Empty entries are skipped; a later entry for the same
// name replaces an earlier one, as in fail-rs.
func ParseEnv(value string) ([]Setting, error) {
	if len(value) > 16*maxTermsBytes {
		return nil, &EnvError{Entry: 1, Text: value, Err: fmt.Errorf("expected at most %d bytes, found %d", 16*maxTermsBytes, len(value))}
	}
	var out []Setting
	pos := 0
	for entry := 1; ; entry++ {
		rest := value[pos:]
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			seg := rest
			if eq >= 0 {
				seg = rest[:eq]
			}
			if text := strings.TrimSpace(seg); text != "" {
				return nil, &EnvError{Entry: entry, Text: text, Err: fmt.Errorf(`expected "name=terms", found no "="`)}
			}
			if eq < 0 {
				return out, nil
			}
			pos += eq + 1
			continue
		}
		name := strings.TrimSpace(rest[:eq])
		termsAt := pos + eq + 1
		for termsAt < len(value) && isSpace(value[termsAt]) {
			termsAt++
		}
		terms, end, err := parseEntryTerms(value[termsAt:])
		text := strings.TrimSpace(value[pos : termsAt+end])
		if err := checkName(name); err != nil {
			return nil, &EnvError{Entry: entry, Text: text, Err: err}
		}
		if err != nil {
			return nil, &EnvError{Entry: entry, Text: text, Err: err}
		}
		out = append(out, Setting{Name: name, Text: strings.TrimSpace(value[termsAt : termsAt+end]), Terms: terms})
		if termsAt+end == len(value) {
			return out, nil
		}
		pos = termsAt + end + 1 // past the ";"
	}
}

// parseEntryTerms parses the terms that start an entry's text, in (which runs to the end of
// the FAILPOINTS value), and returns them with the length of their text: up to the ";" that
// ends the entry, or the end. On an error, the length runs to the next ";" after the error,
// and the *ParseError speaks of that text only.
func parseEntryTerms(in string) ([]Term, int, error) {
	p := parser{in: in, termIndex: 1, entry: true}
	terms, err := p.chain()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			return nil, len(in), err
		}
		end := len(in)
		if j := strings.IndexByte(in[pe.Offset:], ';'); j >= 0 {
			end = pe.Offset + j
		}
		pe.Input = in[:end]
		return nil, end, pe
	}
	if text := strings.TrimSpace(in[:p.i]); len(text) > maxTermsBytes {
		return nil, p.i, &ParseError{Input: text, Term: 1, TermText: p.termText(), Offset: 0,
			Expected: fmt.Sprintf("at most %d bytes of terms", maxTermsBytes), Found: fmt.Sprintf("%d bytes", len(text))}
	}
	return terms, p.i, nil
}

// checkName accepts what FAILPOINTS can carry: 1 to 256 bytes, no spaces or control bytes,
// no "=" and no ";".
func checkName(name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("expected a fail point name of 1 to 256 bytes, found %q", clip(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || c == '=' || c == ';' {
			return fmt.Errorf("expected a fail point name without spaces, control bytes, \"=\" or \";\", found %q", clip(name))
		}
	}
	return nil
}

// ParseSeed reads a seed as FAILPOINTS_SEED writes it, by the rule every faultbox seed
// follows (fault.ParseSeed: decimal, or hexadecimal after 0x; "010" is ten), ignoring
// surrounding spaces.
func ParseSeed(s string) (fault.Seed, error) {
	v, err := fault.ParseSeed(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("failpoint: %s=%q: expected a decimal or 0x-hexadecimal uint64", EnvSeed, clip(s))
	}
	return v, nil
}

// envErr is what init found wrong in the environment; see EnvErr.
var envErr error

// EnvErr reports what was wrong with FAILPOINTS or FAILPOINTS_SEED when the package read them
// at start-up (nil when both were fine or absent). A bad FAILPOINTS is applied not at all,
// never in part; the error is also written once to standard error.
func EnvErr() error { return envErr }

func init() {
	if compiledOut {
		return
	}
	envErr = loadEnv(os.Getenv(EnvSeed), os.Getenv(EnvTerms))
	if envErr != nil {
		fmt.Fprintln(os.Stderr, envErr)
	}
}

func loadEnv(seed, terms string) error {
	if seed != "" {
		v, err := ParseSeed(seed)
		if err != nil {
			return err
		}
		SetSeed(v)
	}
	if strings.TrimSpace(terms) == "" {
		return nil
	}
	return Configure(terms)
}
