// Command gowrite writes five lines to stdout, one write each, and reports the first error on
// stderr; the trace package's tests run it under faultbox and under strace.
package main

import (
	"fmt"
	"os"
	"runtime"
)

// strace and faultbox count invocations per thread; the main goroutine stays on one thread so
// that "the 2nd write" names the same write on every run.
func init() { runtime.LockOSThread() }

func main() {
	for i := 1; i <= 5; i++ {
		if _, err := fmt.Fprintf(os.Stdout, "line %d\n", i); err != nil {
			fmt.Fprintf(os.Stderr, "gowrite: line %d: %v\n", i, err)
			os.Exit(3)
		}
	}
}
