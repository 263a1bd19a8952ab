package main

import (
	"io"
	"os"
	"slices"
	"strings"

	"github.com/faultbox/faultbox/cmd/internal/cli"
)

// root is the command tree: each subcommand lives in its own file of this folder and
// registers itself in init, so that adding a layer never edits this one.
var root = &cli.Command{
	Name:    "faultbox",
	Summary: "faultbox makes failures happen on purpose, deterministically.",
}

func register(c *cli.Command) {
	if root.Sub(c.Name) != nil {
		panic("faultbox: subcommand registered twice: " + c.Name)
	}
	root.Subs = append(root.Subs, c)
	slices.SortFunc(root.Subs, func(a, b *cli.Command) int { return strings.Compare(a.Name, b.Name) })
}

// onlyTracees says that the process's only children are the tracees of `faultbox run`: true
// in the binary, false where dispatch is called beside other work (the tests, whose other
// goroutines start processes of their own).
var onlyTracees bool

func main() {
	onlyTracees = true
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	return cli.Main(root, "faultbox", args, stdout, stderr)
}
