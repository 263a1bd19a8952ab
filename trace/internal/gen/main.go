// Command gen writes trace/sysnames_amd64.go and trace/sysnames_arm64.go, the tables of
// system call numbers to names, from golang.org/x/sys/unix's zsysnum_linux_*.go files (of the
// x/sys version go.mod requires): a constant SYS_FOO = N becomes N: "foo".
//
// Run it with `go generate ./trace` from the repository root.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

var constLine = regexp.MustCompile(`^\s*SYS_([A-Z0-9_]+)\s*=\s*([0-9]+)\s*$`)

func main() {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		fail(fmt.Errorf("locate golang.org/x/sys: %w", err))
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "unix")
	for _, arch := range []struct{ goarch, name string }{{"amd64", "x86-64"}, {"arm64", "arm64"}} {
		if err := write(dir, arch.goarch, arch.name); err != nil {
			fail(err)
		}
	}
}

func write(dir, goarch, archName string) error {
	src := "zsysnum_linux_" + goarch + ".go"
	f, err := os.Open(filepath.Join(dir, src))
	if err != nil {
		return err
	}
	defer f.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated from golang.org/x/sys/unix %s; DO NOT EDIT.\n\n", src)
	b.WriteString("//go:build linux\n\npackage trace\n\n")
	fmt.Fprintf(&b, "// sysNames maps an %s system call number to its name.\n", archName)
	b.WriteString("var sysNames = map[int]string{\n")
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := constLine.FindStringSubmatch(sc.Text()); m != nil {
			fmt.Fprintf(&b, "%s: %q,\n", m[2], strings.ToLower(m[1]))
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: no SYS_ constants found", src)
	}
	b.WriteString("}\n")
	code, err := format.Source(b.Bytes())
	if err != nil {
		return fmt.Errorf("format the table from %s: %w", src, err)
	}
	return os.WriteFile("sysnames_"+goarch+".go", code, 0o644)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
