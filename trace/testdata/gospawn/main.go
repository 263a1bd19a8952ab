// Command gospawn runs a child process the way Go does (clone with CLONE_VFORK) and prints
// what it said: a Go target that starts processes, for the trace package's tests.
package main

import (
	"fmt"
	"os"
	"os/exec"
)

func main() {
	out, err := exec.Command("sh", "-c", "echo from child").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gospawn:", err)
		os.Exit(1)
	}
	fmt.Printf("child said: %s", out)
}
