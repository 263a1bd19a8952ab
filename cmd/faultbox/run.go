//go:build linux && amd64

package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/trace"
)

func init() {
	// Keep main on the main thread, where the tracer then runs (see trace.Config.OnThisThread).
	runtime.LockOSThread()
	register(&cli.Command{
		Name:    "run",
		Summary: "Trace a program's communication and inject faults at exact calls (any Linux program, no rebuild).",
		Args:    "[flags] -- CMD [ARGS...]  |  [flags] -p PID",
		Details: `Every spec is checked before anything starts, and so is every output path: the files are
created first. With -p the running process is attached to instead (every thread, later
children followed) and detached on exit or Ctrl-C, left running. A summary goes to stderr (stdout and stdin are the program's): text, or with
--json a fault report (figures, faults by kind, checks, verdict, replay). See docs/trace.md.`,
		Exits: []cli.Exit{
			{Code: 0, Meaning: "the traced command exited 0; otherwise its own status (128+N when killed by signal N)"},
			{Code: fault.ExitFail, Meaning: "faultbox could not trace the command, or an output file could not be written after the run"},
			cli.UsageExit,
			{Code: 128 + int(syscall.SIGINT), Meaning: "faultbox was interrupted by SIGINT (143: SIGTERM); every tracee was killed (with -p: detached and left running)"},
		},
		Run: runTrace,
	})
}

func runTrace(e *cli.Env, args []string) int {
	var r runFlagSet
	fs := e.FlagSet()
	r.define(fs)
	perr := fs.Parse(args)
	if errors.Is(perr, flag.ErrHelp) {
		e.WriteUsage(e.Stdout, fs)
		return fault.ExitPass
	}
	o, err := r.options(args, fs.Args(), perr)
	if err != nil {
		return e.UsageError(fs, "%v", err)
	}
	// Output files are created before anything starts: a path that cannot be written is a
	// usage error (exit 2), not a surprise after a long run.
	outs, err := trace.OpenOutputs(o.EventsPath, o.HTMLPath, o.ChromePath)
	if err != nil {
		return e.UsageError(fs, "%v", err)
	}
	defer outs.Close()
	switch o.TextPath {
	case "":
	case "-":
		o.Text = e.Stderr
	default:
		f, err := os.Create(o.TextPath)
		if err != nil {
			return e.UsageError(fs, "faultbox run: output file: %v", err)
		}
		defer f.Close()
		o.Text = f
	}
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
	if onlyTracees {
		// The kernel never reaps a traced child on its own: ignoring SIGCHLD spares the
		// process a signal delivery for every tracee stop. Any other child would be reaped
		// at its exit, and its owner's Wait fail with ECHILD ("waitid: no child
		// processes", seen in the tests, which run beside other goroutines' processes).
		signal.Ignore(syscall.SIGCHLD)
		defer signal.Reset(syscall.SIGCHLD)
	}
	res, err := trace.Run(ctx, o.Config)
	if err != nil {
		return e.Fail("%v", err)
	}
	werr := outs.Write(res)
	if werr != nil {
		e.Fail("%v", werr)
	}
	if o.Stats {
		trace.WriteStatsTable(e.Stderr, res)
	}
	switch {
	case o.JSON:
		if err := runReport(e.Path, args, o, res).WriteJSON(e.Stderr); err != nil && werr == nil {
			werr = err
		}
	case !o.Quiet:
		e.Stderr.Write([]byte(res.Summary()))
	}
	if res.Interrupted {
		if s, ok := got.Load().(os.Signal); ok && s == syscall.SIGTERM {
			return 128 + int(syscall.SIGTERM)
		}
		return 128 + int(syscall.SIGINT)
	}
	if werr != nil {
		return fault.ExitFail // the run's record is lost or partial: not a success, whatever the command did
	}
	return res.ExitCode
}
