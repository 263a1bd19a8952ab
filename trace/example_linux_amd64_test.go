package trace_test

import (
	"context"
	"fmt"
	"os"

	"github.com/faultbox/faultbox/trace"
)

// Run cat under the tracer and make its read of one file fail with EIO, as
// `faultbox run --inject 'read:error=EIO:path=/etc/hostname' -- cat /etc/hostname` would.
func ExampleRun() {
	rule, err := trace.ParseInject("read:error=EIO:path=/etc/hostname")
	if err != nil {
		fmt.Println(err)
		return
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer devnull.Close()
	res, err := trace.Run(context.Background(), trace.Config{
		Args:   []string{"cat", "/etc/hostname"},
		Rules:  []*trace.Rule{rule},
		Stdout: devnull,
		Stderr: devnull, // cat's "Input/output error" message
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit status:", res.ExitCode)
	fmt.Println("faults injected:", len(res.Faults))
	fmt.Println("processes:", len(res.Procs))
	// Output:
	// exit status: 1
	// faults injected: 1
	// processes: 1
}

// A bad spec is rejected before anything runs, with its position and what was expected.
func ExampleParseInject() {
	_, err := trace.ParseInject("write:error=EWHAT")
	fmt.Println(err)
	// Output:
	// --inject "write:error=EWHAT": column 13: error "EWHAT": expected an errno name like ENOENT or a number in 1..4095
}
