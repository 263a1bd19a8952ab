//go:build linux && amd64

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/faultbox/faultbox/trace"
)

func init() {
	// Keep main on the main thread, where the tracer then runs (see trace.Config.OnThisThread).
	runtime.LockOSThread()
	register(command{name: "run", summary: "trace a program's communication and inject faults at exact calls", run: runTrace})
}

func runTrace(args []string, stdout, stderr io.Writer) int {
	o, err := trace.ParseArgs(args, stderr)
	if err == trace.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runtime.LockOSThread() // a no-op for the binary (locked in init); needed when tests call this
	defer runtime.UnlockOSThread()
	o.OnThisThread = true
	// faultbox's only children are tracees, and the kernel never reaps a traced child on its
	// own: ignoring SIGCHLD spares the process a signal delivery for every tracee stop.
	signal.Ignore(syscall.SIGCHLD)
	defer signal.Reset(syscall.SIGCHLD)
	res, err := trace.Run(ctx, o.Config)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := trace.WriteOutputs(res, o.EventsPath, o.HTMLPath, o.ChromePath); err != nil {
		fmt.Fprintln(stderr, err)
	}
	if !o.Quiet {
		fmt.Fprint(stderr, res.Summary())
	}
	if res.Interrupted {
		return 130
	}
	return res.ExitCode
}
