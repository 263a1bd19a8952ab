//go:build linux && amd64

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
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
	// Output files are created before anything starts: a path that cannot be written is a
	// usage error (exit 2), not a surprise after a long run.
	outs, err := trace.OpenOutputs(o.EventsPath, o.HTMLPath, o.ChromePath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer outs.Close()
	// SIGINT and SIGTERM stop the run (every tracee is killed, none left stopped); faultbox
	// then exits as a shell reports a command killed by that signal: 130, 143.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var got atomic.Value
	go func() {
		select {
		case s := <-sigs:
			got.Store(s)
			cancel()
		case <-ctx.Done():
		}
	}()
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
	werr := outs.Write(res)
	if werr != nil {
		fmt.Fprintln(stderr, werr)
	}
	if !o.Quiet {
		fmt.Fprint(stderr, res.Summary())
	}
	if res.Interrupted {
		if s, ok := got.Load().(os.Signal); ok && s == syscall.SIGTERM {
			return 128 + int(syscall.SIGTERM)
		}
		return 128 + int(syscall.SIGINT)
	}
	if werr != nil {
		return 1 // the run's record is lost or partial: not a success, whatever the command did
	}
	return res.ExitCode
}
