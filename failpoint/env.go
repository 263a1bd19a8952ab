package failpoint

import (
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

// ParseEnv parses a FAILPOINTS value: entries "name=terms" separated by ";" (a ";" inside
// quotes or parentheses belongs to an argument). Empty entries are skipped; a later entry for
// the same name replaces an earlier one, as in fail-rs.
func ParseEnv(value string) ([]Setting, error) {
	if len(value) > 16*maxTermsBytes {
		return nil, &EnvError{Entry: 1, Text: value, Err: fmt.Errorf("expected at most %d bytes, found %d", 16*maxTermsBytes, len(value))}
	}
	var out []Setting
	for i, entry := range splitEntries(value) {
		text := strings.TrimSpace(entry)
		if text == "" {
			continue
		}
		name, terms, ok := strings.Cut(text, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, &EnvError{Entry: i + 1, Text: text, Err: fmt.Errorf(`expected "name=terms", found no "="`)}
		}
		if err := checkName(name); err != nil {
			return nil, &EnvError{Entry: i + 1, Text: text, Err: err}
		}
		terms = strings.TrimSpace(terms)
		parsed, err := Parse(terms)
		if err != nil {
			return nil, &EnvError{Entry: i + 1, Text: text, Err: err}
		}
		out = append(out, Setting{Name: name, Text: terms, Terms: parsed})
	}
	return out, nil
}

// splitEntries cuts at ";" outside quotes and parentheses.
func splitEntries(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			if depth > 0 {
				quote = c
			}
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case c == ';' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
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
