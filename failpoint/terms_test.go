package failpoint

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	cases := []struct {
		in   string
		want []Term
		text string // canonical form
	}{
		{"off", []Term{{Percent: 100, Count: -1, Action: Off}}, "off"},
		{"return", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		{"return(EIO)", []Term{{Percent: 100, Count: -1, Action: Return, Arg: "EIO", HasArg: true}}, `return("EIO")`},
		{`return("a->b;c")`, []Term{{Percent: 100, Count: -1, Action: Return, Arg: "a->b;c", HasArg: true}}, `return("a->b;c")`},
		{`return('x')`, []Term{{Percent: 100, Count: -1, Action: Return, Arg: "x", HasArg: true}}, `return("x")`},
		{`return('it\'s')`, []Term{{Percent: 100, Count: -1, Action: Return, Arg: "it's", HasArg: true}}, `return("it's")`},
		{"return(`raw\\n`)", []Term{{Percent: 100, Count: -1, Action: Return, Arg: `raw\n`, HasArg: true}}, `return("raw\\n")`},
		{"return()", []Term{{Percent: 100, Count: -1, Action: Return, Arg: "", HasArg: true}}, `return("")`},
		{"return(f(x))", []Term{{Percent: 100, Count: -1, Action: Return, Arg: "f(x)", HasArg: true}}, `return("f(x)")`},
		{"sleep(200)", []Term{{Percent: 100, Count: -1, Action: Sleep, Arg: "200", HasArg: true, Duration: 200 * ms}}, "sleep(200)"},
		{"sleep(+200)", []Term{{Percent: 100, Count: -1, Action: Sleep, Arg: "+200", HasArg: true, Duration: 200 * ms}}, "sleep(200)"},
		{`sleep("1.5s")`, []Term{{Percent: 100, Count: -1, Action: Sleep, Arg: "1.5s", HasArg: true, Duration: 1500 * ms}}, "sleep(1500)"},
		{`delay(250us)`, []Term{{Percent: 100, Count: -1, Action: Delay, Arg: "250us", HasArg: true, Duration: 250 * time.Microsecond}}, `delay("250µs")`},
		{"panic", []Term{{Percent: 100, Count: -1, Action: Panic}}, "panic"},
		{"panic(boom)", []Term{{Percent: 100, Count: -1, Action: Panic, Arg: "boom", HasArg: true}}, `panic("boom")`},
		{"print(still alive!)", []Term{{Percent: 100, Count: -1, Action: Print, Arg: "still alive!", HasArg: true}}, `print("still alive!")`},
		{"pause", []Term{{Percent: 100, Count: -1, Action: Pause}}, "pause"},
		{"yield", []Term{{Percent: 100, Count: -1, Action: Yield}}, "yield"},
		{"50%return", []Term{{Percent: 50, Count: -1, Action: Return}}, "50%return"},
		{"0.5%return", []Term{{Percent: 0.5, Count: -1, Action: Return}}, "0.5%return"},
		{".5%return", []Term{{Percent: 0.5, Count: -1, Action: Return}}, "0.5%return"},
		{"100%return", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		// fail-rs fires a term at 100% and above on every evaluation.
		{"125%2*return", []Term{{Percent: 100, Count: 2, Action: Return}}, "2*return"},
		{"100.5%return", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		{"1" + strings.Repeat("0", 400) + "%return", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		// A plus sign, as Rust's number syntax allows.
		{"+5%+3*return", []Term{{Percent: 5, Count: 3, Action: Return}}, "5%3*return"},
		{"3*return", []Term{{Percent: 100, Count: 3, Action: Return}}, "3*return"},
		{"0*return", []Term{{Percent: 100, Count: 0, Action: Return}}, "0*return"},
		{
			" 20%3*print(still alive!) -> panic ",
			[]Term{
				{Percent: 20, Count: 3, Action: Print, Arg: "still alive!", HasArg: true},
				{Percent: 100, Count: -1, Action: Panic},
			},
			`20%3*print("still alive!")->panic`,
		},
		// Line ends count as blanks around terms: a file sent with curl --data-binary keeps them.
		{"return\n", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		{"return\r\n", []Term{{Percent: 100, Count: -1, Action: Return}}, "return"},
		{
			"\r\n 1*return(x)\n->\r\n\toff\n",
			[]Term{
				{Percent: 100, Count: 1, Action: Return, Arg: "x", HasArg: true},
				{Percent: 100, Count: -1, Action: Off},
			},
			`1*return("x")->off`,
		},
		{"return( \n'x'\n)", []Term{{Percent: 100, Count: -1, Action: Return, Arg: "x", HasArg: true}}, `return("x")`},
		{
			"50%3*return(EIO)->off",
			[]Term{
				{Percent: 50, Count: 3, Action: Return, Arg: "EIO", HasArg: true},
				{Percent: 100, Count: -1, Action: Off},
			},
			`50%3*return("EIO")->off`,
		},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if f := Format(got); f != c.text {
			t.Errorf("Format(Parse(%q)) = %q, want %q", c.in, f, c.text)
		}
	}
}

// TestParseArgLikeFailRS: an unquoted argument is what fail-rs makes of it (src/lib.rs,
// Action::from_str): the text between the term's first "(" and its last ")", the term ending
// at the next "->" or the end. Rows with err set are errors in fail-rs too ("parentheses do
// not match", or a term fail-rs cannot read).
func TestParseArgLikeFailRS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		args []string // each term's argument
		err  string   // a piece of the error, when Parse must fail
	}{
		{in: "return(:-))", args: []string{":-)"}},
		{in: "return(:-()", args: []string{":-("}},
		{in: "return())", args: []string{")"}},
		{in: "return(()", args: []string{"("}},
		{in: "return((x)", args: []string{"(x"}},
		{in: "return(a)(b)", args: []string{"a)(b"}},
		{in: "return(f(x))", args: []string{"f(x)"}},
		{in: "print(:-) ) ", args: []string{":-) "}},
		{in: " print( x ) ", args: []string{" x "}},
		{in: "1*return(:-))->return(;-))", args: []string{":-)", ";-)"}},
		{in: "return(()->return(x)", args: []string{"(", "x"}},
		{in: "return(:-)) -> off", args: []string{":-)", ""}},
		{in: "50%return(2%5)", args: []string{"2%5"}},
		// Where fail-rs would cut the term at "->" and fail, a "->" inside parentheses still
		// open belongs to the argument.
		{in: "print(a->b)", args: []string{"a->b"}},
		{in: "print(g(a->b))->off", args: []string{"g(a->b)", ""}},
		{in: "print(a;b)", args: []string{"a;b"}},
		// Text after the last ")" of a term.
		{in: "return(x)y", err: `term 1 "return(x)y" at offset 9: expected "->" or end of terms after the argument's last ")", found "y"`},
		{in: "return(x))y", err: `at offset 10: expected "->" or end of terms after the argument's last ")", found "y"`},
		{in: "return(x) y->off", err: `at offset 10: expected "->" or end of terms after the argument's last ")", found "y->off"`},
		{in: "return(x)y->return(z)", err: "at offset 9"},
		// A ")" right before "->" ends the argument, as in fail-rs; quote an argument that
		// holds ")->".
		{in: "print(f(x)->y)", err: `term 2 "y)" at offset 12: expected an action`},
		{in: "return(x", err: `at offset 8: expected ")" to close the "(" at offset 6`},
		{in: "return(", err: `at offset 7: expected ")" to close`},
		{in: "return(x->off", err: `at offset 13: expected ")" to close`},
		{in: "return)(", err: `at offset 6: expected "->" or end of terms`},
		{in: "return (x)", err: `at offset 7: expected "->" or end of terms`},
	}
	for _, c := range cases {
		terms, err := Parse(c.in)
		if c.err != "" {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) = %v, %v; want a *ParseError containing %q", c.in, terms, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		var args []string
		for _, term := range terms {
			args = append(args, term.Arg)
		}
		if !reflect.DeepEqual(args, c.args) {
			t.Errorf("Parse(%q) arguments = %q, want %q", c.in, args, c.args)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in       string
		term     int
		offset   int
		expected string // a piece of ParseError.Expected
	}{
		{"", 1, 0, "an action"},
		{"explode", 1, 0, "an action"},
		{"Return", 1, 0, "an action"},
		{"return->", 2, 8, "an action"},
		{"off->->off", 2, 5, "an action"},
		{"return(x", 1, 8, `")" to close`},
		{`return("x)`, 1, 10, "a closing"},
		{`return("x" y)`, 1, 11, `")" after the quoted`},
		{`return("\q")`, 1, 7, "a valid Go string"},
		{"return(x) off", 1, 10, `"->" or end`},
		{"return\nexplode", 1, 7, `"->" or end`},
		{"return\r\n->\r\n", 2, 12, "an action"},
		{"-5%return", 1, 0, "a percentage of 0 or more"},
		{"-0%return", 1, 0, "a percentage of 0 or more"},
		{"off->-.5%return", 2, 5, "a percentage of 0 or more"},
		{"+.%return", 1, 0, "a percentage of 0 or more, such as 50"},
		{"-3*return", 1, 0, "a whole count"},
		{"-x%return", 1, 0, "an action"},
		{"1.2.3%return", 1, 3, `"%" after a percentage`},
		{"50return", 1, 2, `"%" after a percentage`},
		{"1.5*return", 1, 0, "a whole count"},
		{"99999999999999999999*return", 1, 0, "a whole count"},
		{"3*50%return", 1, 2, "an action"},
		{"sleep", 1, 5, "needs a duration"},
		{"sleep(abc)", 1, 6, "milliseconds or a Go duration"},
		{"sleep(-5s)", 1, 6, "not negative"},
		{"delay()", 1, 6, "milliseconds"},
		{"off(1)", 1, 4, "off without an argument"},
		{"pause(x)", 1, 6, "pause without an argument"},
		{"return->50%%off", 2, 11, "an action"},
		{strings.Repeat("off->", maxTerms) + "off", maxTerms + 1, maxTerms * 5, "at most 256 terms"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error = %v, want a *ParseError", c.in, err)
			continue
		}
		if pe.Term != c.term || pe.Offset != c.offset || !strings.Contains(pe.Expected, c.expected) {
			t.Errorf("Parse(%q): term %d offset %d expected %q; want term %d offset %d expected ~%q (%v)",
				c.in, pe.Term, pe.Offset, pe.Expected, c.term, c.offset, c.expected, err)
		}
		msg := err.Error()
		for _, piece := range []string{"term ", "offset ", "expected ", "found "} {
			if !strings.Contains(msg, piece) {
				t.Errorf("Parse(%q) message %q lacks %q", c.in, msg, piece)
			}
		}
	}
}

func TestParseEnv(t *testing.T) {
	t.Parallel()
	got, err := ParseEnv(` a=return(1) ; ;b/c=print("x;y")->off;a=off;d=print(p;q)`)
	if err != nil {
		t.Fatal(err)
	}
	var names, texts []string
	for _, s := range got {
		names = append(names, s.Name)
		texts = append(texts, s.Text)
	}
	if want := []string{"a", "b/c", "a", "d"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
	if want := []string{"return(1)", `print("x;y")->off`, "off", "print(p;q)"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("texts = %q, want %q", texts, want)
	}
	if got[3].Terms[0].Arg != "p;q" {
		t.Errorf("unquoted argument with ; = %q, want p;q", got[3].Terms[0].Arg)
	}

	bad := []struct {
		in    string
		entry int
		want  string
	}{
		{"a=return;b", 2, `no "="`},
		{"a=return;=off", 2, "name of 1 to 256 bytes"},
		{"a b=off", 1, "without spaces"},
		{"a=return;b=explode", 2, "an action"},
	}
	for _, c := range bad {
		_, err := ParseEnv(c.in)
		var ee *EnvError
		if !errors.As(err, &ee) || ee.Entry != c.entry || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEnv(%q) = %v; want entry %d mentioning %q", c.in, err, c.entry, c.want)
		}
	}
}

// TestParseEnvLikeFailRS: FAILPOINTS entries end where fail-rs ends them (at ";"), and an
// unquoted argument ends at its term's last ")" as in Parse, so an apostrophe or an unbalanced
// parenthesis in an argument does not swallow the entries after it.
func TestParseEnvLikeFailRS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		want  string // name=canonical terms, joined by ";"
		entry int    // when ParseEnv must fail: the entry it names
		err   string // and a piece of the message
	}{
		{in: "a=print(it's);b=off", want: `a=print("it's");b=off`},
		{in: "a=print(:-();b=off", want: `a=print(":-(");b=off`},
		{in: "a=return(:-));b=return(;-))", want: `a=return(":-)");b=return(";-)")`},
		{in: "a=return(()->return(x);b=off", want: `a=return("(")->return("x");b=off`},
		{in: "a=print(it's) -> off ; b=off", want: `a=print("it's")->off;b=off`},
		{in: "a=print(p;q);b=off", want: `a=print("p;q");b=off`},
		{in: `a=print("x);b=y");b=off`, want: `a=print("x);b=y");b=off`},
		{in: "a=return(x)y;b=off", entry: 1, err: `expected "->", ";" or end of terms after the argument's last ")", found "y"`},
		{in: "a=off;b=print(x;c=off", entry: 2, err: `expected ")" to close`},
		{in: "a=off;b=;c=off", entry: 2, err: `parse "": term 1 "" at offset 0: expected an action`},
		{in: "a=off;b=return x;c=off", entry: 2, err: `parse "return x": term 1 "return x" at offset 7: expected "->", ";" or end of terms, found "x"`},
	}
	for _, c := range cases {
		got, err := ParseEnv(c.in)
		if c.err != "" {
			var ee *EnvError
			if !errors.As(err, &ee) || ee.Entry != c.entry || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseEnv(%q) = %v; want entry %d mentioning %q", c.in, err, c.entry, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEnv(%q): %v", c.in, err)
			continue
		}
		var entries []string
		for _, st := range got {
			entries = append(entries, st.Name+"="+Format(st.Terms))
		}
		if s := strings.Join(entries, ";"); s != c.want {
			t.Errorf("ParseEnv(%q) = %s, want %s", c.in, s, c.want)
		}
	}
}

func TestParseSeed(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]fault.Seed{"0": 0, "42": 42, " 0x2a ": 42, "010": 10, "18446744073709551615": 1<<64 - 1} {
		got, err := ParseSeed(in)
		if err != nil || got != want {
			t.Errorf("ParseSeed(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "x", "18446744073709551616"} {
		if _, err := ParseSeed(in); err == nil || !strings.Contains(err.Error(), EnvSeed) {
			t.Errorf("ParseSeed(%q) error = %v, want one naming %s", in, err, EnvSeed)
		}
	}
}

// FuzzParse: no input panics; what parses formats to a canonical text that parses back to the
// same terms.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"off", "50%3*return(EIO)->off", `return('x')`, `return("a\"b")`, "sleep(1.5s)",
		"return(f(x))", "20%3*print(still alive!)->panic", "1.2.3%", "return(`x`)", "delay(5)->yield->pause",
		"return(:-))->return(()", "print(a->b)->off", "125%+2*return", "-5%return", "return(x)y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T, want *ParseError", s, err)
			}
			if pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("Parse(%q) offset %d out of range", s, pe.Offset)
			}
			return
		}
		text := Format(terms)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", s, text, err)
		}
		if Format(again) != text {
			t.Fatalf("canonical form not stable: %q -> %q", text, Format(again))
		}
	})
}

// FuzzParseEnv: no FAILPOINTS value panics.
func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{"a=off", "a=return(1);b=print(\"x;y\")", ";;", "a", "=", "a=b=c",
		"a=print(it's);b=off", "a=print(:-();b=return(:-))", "a=print(p;q)->off"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		settings, err := ParseEnv(s)
		if err != nil {
			var ee *EnvError
			if !errors.As(err, &ee) {
				t.Fatalf("ParseEnv(%q) error %T, want *EnvError", s, err)
			}
			return
		}
		for _, st := range settings {
			if checkName(st.Name) != nil || len(st.Terms) == 0 {
				t.Fatalf("ParseEnv(%q) accepted %+v", s, st)
			}
			// The text kept for the status means the same terms when given to Enable.
			terms, err := Parse(st.Text)
			if err != nil || !reflect.DeepEqual(terms, st.Terms) {
				t.Fatalf("ParseEnv(%q): entry %q has terms %v, but Parse(%q) = %v, %v", s, st.Name, st.Terms, st.Text, terms, err)
			}
		}
	})
}

func TestParseTooLong(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.Repeat(" ", maxTermsBytes) + "off")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Term != 1 || !strings.Contains(pe.Expected, "at most") {
		t.Fatalf("Parse(64 KiB + 3) = %v", err)
	}
}
