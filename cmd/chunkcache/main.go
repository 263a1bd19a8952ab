package main

import (
	"os"

	"github.com/faultbox/faultbox/cmd/internal/chunkcachecli"
	"github.com/faultbox/faultbox/cmd/internal/cli"
)

// root is the command tree, shared with 'faultbox chunkcache'.
var root = chunkcachecli.Command(nil)

func main() {
	os.Exit(cli.Main(root, "chunkcache", os.Args[1:], os.Stdout, os.Stderr))
}
