package failpoint

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits on what the parser accepts, so that a hostile or mistyped input costs little.
const (
	maxTermsBytes = 64 << 10 // longest terms text
	maxTerms      = 256      // longest chain
	maxCount      = 1 << 53  // largest N in N*
)

// Action is what a term does when it fires.
type Action uint8

// The actions of fail-rs and FreeBSD fail(9).
const (
	Off    Action = iota // do nothing (and stop the chain)
	Return               // make the site report an early return, with an optional value
	Sleep                // sleep for a duration (honours the evaluation's context)
	Panic                // panic with an *Error
	Print                // write a line to the configured output
	Pause                // block until the fail point is reconfigured or the context ends
	Yield                // runtime.Gosched
	Delay                // busy-wait for a duration
)

var actionNames = [...]string{
	Off: "off", Return: "return", Sleep: "sleep", Panic: "panic",
	Print: "print", Pause: "pause", Yield: "yield", Delay: "delay",
}

// String returns the action's name as written in terms.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

const actionList = "one of off, return, sleep, panic, print, pause, yield, delay"

// Term is one parsed element of a chain: [P%][N*]action[(arg)].
type Term struct {
	Percent  float64       // probability of firing, 0..100; 100 when not written or written over 100
	Count    int64         // how many times the term may fire; -1 when not written (no limit)
	Action   Action        // what happens when the term fires
	Arg      string        // the argument, unquoted; "" when absent
	HasArg   bool          // whether an argument was written
	Duration time.Duration // for sleep and delay
}

// String writes the term back in canonical form: the same term, spelled one way.
func (t Term) String() string {
	var b strings.Builder
	if t.Percent != 100 {
		b.WriteString(strconv.FormatFloat(t.Percent, 'f', -1, 64))
		b.WriteByte('%')
	}
	if t.Count >= 0 {
		b.WriteString(strconv.FormatInt(t.Count, 10))
		b.WriteByte('*')
	}
	b.WriteString(t.Action.String())
	switch {
	case t.Action == Sleep || t.Action == Delay:
		b.WriteByte('(')
		if t.Duration%time.Millisecond == 0 {
			b.WriteString(strconv.FormatInt(int64(t.Duration/time.Millisecond), 10))
		} else {
			b.WriteString(strconv.Quote(t.Duration.String()))
		}
		b.WriteByte(')')
	case t.HasArg:
		b.WriteByte('(')
		b.WriteString(strconv.Quote(t.Arg))
		b.WriteByte(')')
	}
	return b.String()
}

// Format writes terms back as a chain in canonical form.
func Format(terms []Term) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = t.String()
	}
	return strings.Join(parts, "->")
}

// ParseError says where terms text went wrong: which term, at which byte offset of the input,
// what the parser expected and what it found instead.
type ParseError struct {
	Input    string // the whole text given to Parse
	Term     int    // 1-based index of the term in the chain
	TermText string // the text of that term
	Offset   int    // byte offset into Input
	Expected string
	Found    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("failpoint: parse %q: term %d %q at offset %d: expected %s, found %s",
		clip(e.Input), e.Term, clip(e.TermText), e.Offset, e.Expected, e.Found)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Parse parses a chain of terms, `[P%][N*]action[(arg)]` joined by `->`, as written in
// FAILPOINTS and accepted by Enable. Bad input yields a *ParseError, never a panic.
func Parse(text string) ([]Term, error) {
	p := parser{in: text, termIndex: 1}
	if len(text) > maxTermsBytes {
		return nil, p.fail(0, fmt.Sprintf("at most %d bytes of terms", maxTermsBytes), fmt.Sprintf("%d bytes", len(text)))
	}
	return p.chain()
}

// chain parses terms joined by "->" from p.i up to the end of the input or, in a FAILPOINTS
// value (p.entry), up to the ";" that ends the entry, where it leaves p.i.
func (p *parser) chain() ([]Term, error) {
	var out []Term
	for {
		p.space()
		p.termStart = p.i
		p.termIndex = len(out) + 1
		if p.termIndex > maxTerms {
			return nil, p.fail(p.i, fmt.Sprintf("at most %d terms", maxTerms), "more")
		}
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		p.space()
		if p.i == len(p.in) || p.entry && p.in[p.i] == ';' {
			return out, nil
		}
		if !strings.HasPrefix(p.in[p.i:], "->") {
			return nil, p.fail(p.i, p.endExpected(), p.found(p.i))
		}
		p.i += 2
	}
}

type parser struct {
	in        string
	i         int
	termStart int
	termIndex int
	entry     bool // parsing the terms of a FAILPOINTS entry: a ";" ends them
}

// sepAt reports whether a term ends at in[j]: at "->", at the end of the input, or at the
// ";" that ends a FAILPOINTS entry.
func (p *parser) sepAt(j int) bool {
	return j == len(p.in) || strings.HasPrefix(p.in[j:], "->") || p.entry && p.in[j] == ';'
}

func (p *parser) endExpected() string {
	if p.entry {
		return `"->", ";" or end of terms`
	}
	return `"->" or end of terms`
}

func (p *parser) fail(at int, expected, found string) *ParseError {
	return &ParseError{Input: p.in, Term: p.termIndex, TermText: p.termText(), Offset: at, Expected: expected, Found: found}
}

// termText is the current term up to the next arrow, or ";" in an entry (a good enough cut
// for a message).
func (p *parser) termText() string {
	rest := p.in[min(p.termStart, len(p.in)):]
	if j := strings.Index(rest, "->"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.IndexByte(rest, ';'); p.entry && j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}

func (p *parser) found(at int) string {
	rest := p.in[min(at, len(p.in)):]
	if j := strings.IndexByte(rest, ';'); p.entry && j >= 0 {
		rest = rest[:j] // the entry's end
	}
	if rest == "" {
		return "end of terms"
	}
	if len(rest) > 12 {
		rest = rest[:12] + "..."
	}
	return strconv.Quote(rest)
}

// space skips blanks around terms: spaces, tabs and line ends, so that terms read from a file
// (`curl --data-binary @file`, a heredoc) parse with their trailing newline or CRLF.
func (p *parser) space() {
	for p.i < len(p.in) && isSpace(p.in[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberAhead reports whether a number, perhaps signed, starts at p.i.
func (p *parser) numberAhead() bool {
	j := p.i
	if j < len(p.in) && (p.in[j] == '+' || p.in[j] == '-') {
		j++
	}
	return j < len(p.in) && (isDigit(p.in[j]) || p.in[j] == '.')
}

// number scans digits with at most one decimal point.
func (p *parser) number() string {
	start, dot := p.i, false
	for p.i < len(p.in) {
		c := p.in[p.i]
		if isDigit(c) {
			p.i++
			continue
		}
		if c == '.' && !dot {
			dot = true
			p.i++
			continue
		}
		break
	}
	return p.in[start:p.i]
}

func (p *parser) term() (Term, error) {
	t := Term{Percent: 100, Count: -1}
	// The optional prefixes: a percentage then a count, each a number with its sign.
	for stage := 0; stage < 2 && p.numberAhead(); stage++ {
		start := p.i
		if c := p.in[p.i]; c == '+' || c == '-' {
			p.i++
		}
		p.number()
		num := p.in[start:p.i]
		if p.i >= len(p.in) || (p.in[p.i] != '%' && p.in[p.i] != '*') {
			return t, p.fail(p.i, `"%" after a percentage or "*" after a count`, p.found(p.i))
		}
		switch p.in[p.i] {
		case '%':
			if stage > 0 {
				return t, p.fail(start, "the percentage before the count (P%N*action)", strconv.Quote(num+"%"))
			}
			// fail-rs draws only below 100%: at 100 and above a term always fires, as here. A
			// negative percentage makes fail-rs panic when the term is drawn; here it is an
			// error now rather than a crash later.
			if num[0] == '-' {
				return t, p.fail(start, "a percentage of 0 or more", strconv.Quote(num))
			}
			v, err := strconv.ParseFloat(num, 64) // a range error means huge: over 100
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return t, p.fail(start, "a percentage of 0 or more, such as 50 or 12.5", strconv.Quote(num))
			}
			t.Percent = min(v, 100)
		case '*':
			v, err := strconv.ParseInt(num, 10, 64)
			if err != nil || v < 0 || v > maxCount {
				return t, p.fail(start, fmt.Sprintf("a whole count from 0 to %d", int64(maxCount)), strconv.Quote(num))
			}
			t.Count = v
			stage = 2 // nothing may follow a count but the action
		}
		p.i++
	}
	start := p.i
	for p.i < len(p.in) && (p.in[p.i] >= 'a' && p.in[p.i] <= 'z' || p.in[p.i] >= 'A' && p.in[p.i] <= 'Z' || p.in[p.i] == '_') {
		p.i++
	}
	word := p.in[start:p.i]
	a := slices.Index(actionNames[:], word)
	if a < 0 {
		if word == "" {
			return t, p.fail(start, "an action ("+actionList+")", p.found(start))
		}
		return t, p.fail(start, "an action ("+actionList+")", strconv.Quote(word))
	}
	t.Action = Action(a)
	if p.i < len(p.in) && p.in[p.i] == '(' {
		argStart := p.i + 1
		arg, err := p.arg()
		if err != nil {
			return t, err
		}
		t.Arg, t.HasArg = arg, true
		if err := p.checkArg(&t, argStart); err != nil {
			return t, err
		}
		return t, nil
	}
	switch t.Action {
	case Sleep, Delay:
		return t, p.fail(p.i, fmt.Sprintf("%s(ms): %s needs a duration in milliseconds", t.Action, t.Action), p.found(p.i))
	}
	return t, nil
}

// arg reads "(" arg ")" where arg is a Go-quoted string, a single-quoted string or raw text
// (see rawArg); p.i is at the "(".
func (p *parser) arg() (string, error) {
	open := p.i
	p.i++
	p.space()
	var arg string
	if p.i < len(p.in) && (p.in[p.i] == '"' || p.in[p.i] == '\'' || p.in[p.i] == '`') {
		s, err := p.quoted()
		if err != nil {
			return "", err
		}
		arg = s
		p.space()
		if p.i >= len(p.in) || p.in[p.i] != ')' {
			return "", p.fail(p.i, `")" after the quoted argument`, p.found(p.i))
		}
		p.i++
		return arg, nil
	}
	return p.rawArg(open)
}

// rawArg reads an unquoted argument the way fail-rs does: everything from the "(" at open to
// the last ")" of the term, where the term ends at the next "->" (or ";" in an entry) or at
// the end of the input. So `return(:-))` means ":-)", `return(()` means "(" and
// `return(a)(b)` means "a)(b", while text after the last ")" (`return(x)y`) is an error.
// Where fail-rs would cut the term short, a "->" or ";" that no ")" precedes and that lies
// inside parentheses still open belongs to the argument, so `print(a->b)` and `print(a;b)`
// work; a ")" before it ends the argument there, as in fail-rs.
func (p *parser) rawArg(open int) (string, error) {
	depth := 1      // parentheses open, the argument's own included
	lastClose := -1 // the last ")" seen
	lastSolid := -1 // the last byte that is not a blank
	for j := open + 1; ; j++ {
		if p.sepAt(j) {
			if lastSolid >= 0 && p.in[lastSolid] == ')' {
				p.i = lastSolid + 1
				return p.in[open+1 : lastSolid], nil
			}
			if depth <= 0 {
				// The argument closed and the term goes on past its last ")".
				at := lastClose + 1
				for isSpace(p.in[at]) {
					at++
				}
				return "", p.fail(at, p.endExpected()+` after the argument's last ")"`, p.found(at))
			}
			if j == len(p.in) {
				return "", p.fail(j, `")" to close the "(" at offset `+strconv.Itoa(open), "end of terms")
			}
		}
		switch c := p.in[j]; {
		case c == '(':
			depth++
		case c == ')':
			depth--
			lastClose = j
		}
		if !isSpace(p.in[j]) {
			lastSolid = j
		}
	}
}

// quoted reads a string in double quotes or back quotes (Go syntax) or in single quotes
// (where only \' and \\ are escapes), so `return('x')` means the string x.
func (p *parser) quoted() (string, error) {
	start := p.i
	q := p.in[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.in) {
		c := p.in[p.i]
		if c == '\\' && q != '`' {
			if p.i+1 >= len(p.in) {
				break
			}
			if q == '\'' {
				b.WriteByte(p.in[p.i+1])
			}
			p.i += 2
			continue
		}
		if c == q {
			p.i++
			if q == '\'' {
				return b.String(), nil
			}
			s, err := strconv.Unquote(p.in[start:p.i])
			if err != nil {
				return "", p.fail(start, "a valid Go string literal", strconv.Quote(p.in[start:p.i]))
			}
			return s, nil
		}
		if q == '\'' {
			b.WriteByte(c)
		}
		p.i++
	}
	return "", p.fail(len(p.in), "a closing "+string(q)+" for the quote at offset "+strconv.Itoa(start), "end of terms")
}

func (p *parser) checkArg(t *Term, at int) error {
	switch t.Action {
	case Off, Pause, Yield:
		return p.fail(at, t.Action.String()+" without an argument", strconv.Quote(t.Arg))
	case Sleep, Delay:
		d, err := parseDuration(t.Arg)
		if err != nil {
			return p.fail(at, t.Action.String()+"(ms): milliseconds or a Go duration such as 1.5s, not negative", strconv.Quote(t.Arg))
		}
		t.Duration = d
	}
	return nil
}

// parseDuration reads whole milliseconds, with an optional "+" as Rust's u64 allows (fail-rs),
// or a Go duration string (gofail).
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if digits := strings.TrimPrefix(s, "+"); digits != "" && strings.Trim(digits, "0123456789") == "" {
		ms, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || ms > int64(1<<62)/int64(time.Millisecond) {
			return 0, fmt.Errorf("milliseconds out of range: %q", s)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}
