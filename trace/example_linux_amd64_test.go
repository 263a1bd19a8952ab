//go:build linux && amd64

package trace_test

import (
	"context"
	"fmt"
	"os"

	"github.com/faultbox/faultbox/trace"
)

func ExampleParseInject() {
	r, err := trace.ParseInject("sendto:omit:when=3:fd=tcp:proc=client")
	fmt.Println(r.Action, r.When.First, r.FdKind, r.Proc, err)

	_, err = trace.ParseInject("write:error=ENOSPC:when=0")
	fmt.Println(err)
	// Output:
	// omit 3 tcp client <nil>
	// --inject "write:error=ENOSPC:when=0": column 25: when "0": expected FIRST[..LAST][+[STEP]] with FIRST, STEP in 1..65535 and LAST in FIRST..65534
}

func ExampleRun() {
	rule, _ := trace.ParseInject("write:error=EIO:when=2")
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	res, err := trace.Run(context.Background(), trace.Config{
		Args:   []string{"sh", "-c", "echo one; echo two; echo three"},
		Rules:  []*trace.Rule{rule},
		Stderr: devnull, // sh's complaint about the failed write
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit", res.ExitCode)
	fmt.Println(res.Faults)
	// Output:
	// one
	// three
	// exit 0
	// [p1/t0/6: write:error=EIO:when=2]
}
