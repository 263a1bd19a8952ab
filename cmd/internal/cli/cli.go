package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/faultbox/faultbox/fault"
)

// Exit is one exit code a command uses and what it means for that command.
type Exit struct {
	Code    int
	Meaning string
}

// UsageExit is the exit code every command shares for a wrong command line.
var UsageExit = Exit{fault.ExitUsage, "usage error: an unknown flag or command, a missing or bad argument or value"}

// HelpExit is what a dispatching command returns after printing its help.
var HelpExit = Exit{fault.ExitPass, "help was asked for (-h, -help, --help or help) and printed on stdout"}

// Command is one command or subcommand of a binary, described once so that every command
// prints its help the same way. A command either dispatches (Subs) or runs (Run).
type Command struct {
	Name    string // one word, as typed after its parent ("torture")
	Summary string // one line: what the command does
	Args    string // what follows the command in the usage line: "[flags]", "[flags] NAME TERMS"
	Details string // paragraphs printed after the usage line (may be empty)
	Exits   []Exit // the exit codes the command uses, UsageExit included
	// Subs are the subcommands of a dispatching command; Run is nil then.
	Subs []*Command
	// Run runs a leaf command with the arguments after its name and returns the exit code.
	Run func(e *Env, args []string) int
}

// Env is one invocation of a command: the command as typed and where it writes.
type Env struct {
	Cmd    *Command
	Path   string // the command as typed: "faultbox disk torture"
	Stdout io.Writer
	Stderr io.Writer
}

// IsHelp reports whether arg asks for help.
func IsHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// Main runs the command tree rooted at root, named name (the binary), with args (without
// the program name), and returns the exit code.
func Main(root *Command, name string, args []string, stdout, stderr io.Writer) int {
	return run(&Env{Cmd: root, Path: name, Stdout: stdout, Stderr: stderr}, args)
}

func run(e *Env, args []string) int {
	c := e.Cmd
	if c.Subs == nil {
		return c.Run(e, args)
	}
	if len(args) == 0 {
		fmt.Fprintf(e.Stderr, "%s: no command given\n\n", e.Path)
		e.WriteUsage(e.Stderr, nil)
		return fault.ExitUsage
	}
	if IsHelp(args[0]) {
		e.WriteUsage(e.Stdout, nil)
		return fault.ExitPass
	}
	args = subFirst(c, args)
	sub := c.Sub(args[0])
	if sub == nil {
		fmt.Fprintf(e.Stderr, "%s: unknown command %q: want one of %s\n\n", e.Path, args[0], strings.Join(c.names(), ", "))
		e.WriteUsage(e.Stderr, nil)
		return fault.ExitUsage
	}
	return run(&Env{Cmd: sub, Path: e.Path + " " + sub.Name, Stdout: e.Stdout, Stderr: e.Stderr}, args[1:])
}

// subFirst lets flags come before the subcommand's name ("failpoints --addr A list"): when
// args starts with a flag, the first argument that names a subcommand moves to the front,
// and the flags go to the subcommand. (A flag's value that is also a subcommand's name is
// taken for the name; no subcommand takes such values.)
func subFirst(c *Command, args []string) []string {
	if !strings.HasPrefix(args[0], "-") {
		return args
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		if c.Sub(a) != nil {
			return slices.Concat([]string{a}, args[:i], args[i+1:])
		}
	}
	return args
}

// Sub returns the subcommand called name, or nil.
func (c *Command) Sub(name string) *Command {
	for _, s := range c.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (c *Command) names() []string {
	var n []string
	for _, s := range c.Subs {
		n = append(n, s.Name)
	}
	return n
}

// Walk calls fn for c and every command below it, parents first, with the command as
// typed (path is c's own path).
func Walk(c *Command, path string, fn func(path string, c *Command)) {
	fn(path, c)
	for _, s := range c.Subs {
		Walk(s, path+" "+s.Name, fn)
	}
}

// FlagSet returns an empty flag set for the command that prints nothing itself: Parse
// reports what went wrong.
func (e *Env) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(e.Path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// Parse parses the flags of a leaf command. Flags and positional arguments may be mixed
// ("set NAME TERMS --addr A"); everything after "--" is positional. It returns the
// positional arguments and ok; when ok is false the command must return code: 0 after -h
// (the help went to stdout), 2 after a bad flag (the error and the usage went to stderr).
func (e *Env) Parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		rest, code, ok := e.ParseStrict(fs, args)
		if !ok {
			return nil, code, false
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, true
		}
		if len(rest) == 0 {
			return pos, 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// ParseStrict is Parse for a command whose positional arguments are not flags: parsing
// stops at the first non-flag argument or "--" (as for 'faultbox run [flags] -- CMD').
func (e *Env) ParseStrict(fs *flag.FlagSet, args []string) (rest []string, code int, ok bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		e.WriteUsage(e.Stdout, fs)
		return nil, fault.ExitPass, false
	}
	if err != nil {
		return nil, e.UsageError(fs, "%v", err), false
	}
	return fs.Args(), 0, true
}

// UsageError writes "PATH: message" and the usage lines to stderr and returns ExitUsage.
// fs may be nil.
func (e *Env) UsageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(e.Stderr, "%s: %s\n", e.Path, fmt.Sprintf(format, args...))
	fmt.Fprintf(e.Stderr, "%sRun '%s -h' for the flags and exit codes.\n", e.usageLines(), e.Path)
	return fault.ExitUsage
}

// Fail writes "PATH: message" to stderr and returns ExitFail: the command line was right
// but the command could not do its job.
func (e *Env) Fail(format string, args ...any) int {
	fmt.Fprintf(e.Stderr, "%s: %s\n", e.Path, fmt.Sprintf(format, args...))
	return fault.ExitFail
}

func (e *Env) usageLines() string {
	c := e.Cmd
	args := c.Args
	if c.Subs != nil && args == "" {
		args = "<command> [arguments]"
	}
	var b strings.Builder
	for i, a := range strings.Split(args, "\n") {
		if i == 0 {
			fmt.Fprintf(&b, "usage: %s %s\n", e.Path, a)
		} else {
			fmt.Fprintf(&b, "       %s %s\n", e.Path, a)
		}
	}
	return b.String()
}

// WriteUsage writes the command's help: the summary, the usage line(s), the details, the
// subcommands or the flags of fs (flag.PrintDefaults' layout), and the exit codes.
func (e *Env) WriteUsage(w io.Writer, fs *flag.FlagSet) {
	c := e.Cmd
	var b strings.Builder
	b.WriteString(c.Summary + "\n\n")
	b.WriteString(e.usageLines())
	if c.Details != "" {
		b.WriteString("\n" + strings.TrimRight(c.Details, "\n") + "\n")
	}
	if len(c.Subs) > 0 {
		b.WriteString("\ncommands:\n")
		width := 0
		for _, s := range c.Subs {
			width = max(width, len(s.Name))
		}
		for _, s := range c.Subs {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, s.Name, s.Summary)
		}
		fmt.Fprintf(&b, "\nRun '%s <command> -h' for a command's flags and exit codes.\n", e.Path)
	}
	if fs != nil {
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			b.WriteString("\nflags:\n")
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	exits := c.Exits
	if c.Subs != nil && len(exits) == 0 {
		exits = []Exit{HelpExit, UsageExit}
	}
	if len(exits) > 0 {
		b.WriteString("\nexit codes:\n")
		width := 0
		for _, x := range exits {
			width = max(width, len(fmt.Sprint(x.Code)))
		}
		for _, x := range exits {
			fmt.Fprintf(&b, "  %-*d  %s\n", width, x.Code, x.Meaning)
		}
		if c.Subs != nil {
			b.WriteString("  otherwise the command's own (see its -h)\n")
		}
	}
	io.WriteString(w, b.String())
}
