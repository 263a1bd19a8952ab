package cli

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func tree(ran *[]string) *Command {
	leaf := func(name string) *Command {
		return &Command{Name: name, Summary: "The " + name + " command.", Args: "[flags] NAME",
			Exits: []Exit{{0, "done"}, UsageExit, {130, "interrupted"}},
			Run: func(e *Env, args []string) int {
				fs := e.FlagSet()
				addr := fs.String("addr", "", "`ADDR` to talk to")
				pos, code, ok := e.Parse(fs, args)
				if !ok {
					return code
				}
				*ran = append(*ran, e.Path+" addr="+*addr+" "+strings.Join(pos, ","))
				return 0
			}}
	}
	return &Command{Name: "tool", Summary: "A tool.", Subs: []*Command{
		{Name: "group", Summary: "A group.", Subs: []*Command{leaf("list"), leaf("set")}},
	}}
}

func TestMainDispatchesAndParses(t *testing.T) {
	t.Parallel()
	var ran []string
	root := tree(&ran)
	for _, tc := range []struct {
		args []string
		code int
		ran  string
	}{
		{[]string{"group", "set", "a", "--addr", "x", "b"}, 0, "tool group set addr=x a,b"},
		{[]string{"group", "--addr", "x", "list"}, 0, "tool group list addr=x "}, // flags before the subcommand
		{[]string{"group", "set", "--", "--addr", "x"}, 0, "tool group set addr= --addr,x"},
		{[]string{"group", "set", "--bogus"}, 2, ""},
		{[]string{"group", "frob"}, 2, ""},
		{[]string{"group"}, 2, ""},
		{[]string{}, 2, ""},
		{[]string{"group", "set", "-h"}, 0, ""},
		{[]string{"group", "help"}, 0, ""},
	} {
		ran = nil
		var out, errb bytes.Buffer
		code := Main(root, "tool", tc.args, &out, &errb)
		got := strings.Join(ran, "")
		if code != tc.code || got != tc.ran {
			t.Errorf("%q: exit %d, ran %q; want %d, %q (stderr %q)", tc.args, code, got, tc.code, tc.ran, errb.String())
		}
		if code == 2 && (out.Len() != 0 || !strings.Contains(errb.String(), "usage: tool")) {
			t.Errorf("%q: a usage error must write the usage to stderr only: stdout %q stderr %q", tc.args, out.String(), errb.String())
		}
	}
}

// One layout for every command: summary, usage line, details, commands or flags, exit codes.
func TestWriteUsage(t *testing.T) {
	t.Parallel()
	var ran []string
	root := tree(&ran)
	var out, errb bytes.Buffer
	if code := Main(root, "tool", []string{"group", "set", "--help"}, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	want := `The set command.

usage: tool group set [flags] NAME

flags:
  -addr ADDR
    	ADDR to talk to

exit codes:
  0    done
  2    usage error: an unknown flag or command, a missing or bad argument or value
  130  interrupted
`
	if out.String() != want {
		t.Fatalf("help:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	Main(root, "tool", []string{"group", "-h"}, &out, &errb)
	for _, line := range []string{"A group.\n", "usage: tool group <command> [arguments]\n", "commands:\n  list  The list command.\n",
		"Run 'tool group <command> -h'", "exit codes:\n  0  help was asked for"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("group help lacks %q:\n%s", line, out.String())
		}
	}
	var paths []string
	Walk(root, "tool", func(path string, _ *Command) { paths = append(paths, path) })
	if !reflect.DeepEqual(paths, []string{"tool", "tool group", "tool group list", "tool group set"}) {
		t.Errorf("Walk: %q", paths)
	}
}
