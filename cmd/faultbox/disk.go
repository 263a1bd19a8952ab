package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/wal"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/progress"
	"github.com/faultbox/faultbox/internal/shellquote"
)

func init() {
	register(&cli.Command{
		Name:    "disk",
		Summary: "Storage faults on a disk that lies: torture a write-ahead log, enumerate crash states, check targeting rules, mount it for any program (FUSE).",
		Subs: slices.Concat([]*cli.Command{{
			Name:    "torture",
			Summary: "Run the checksummed write-ahead log (disk/wal) through a random workload on a faulty disk and report what it survived.",
			Args:    "[flags]",
			Details: `The workload appends, syncs, reads back and crashes; after every recovery each
acknowledged record must be there intact, or the log must have said it is lost and an
injected write-side fault must explain it. The report gives the seed, the figures, the
faults by layer and kind, the two checks and a replay command line; with --naive, the
naive log (no checksums, retried syncs) runs on the same kind of disk for contrast.

Presets for --config: default, fast-local, random (disk.RandomForSeed(seed)), stress (every
family at 0.2%, half the crashes tearing, the Linux sync mode); or a JSON object of
disk.Config fields. On a terminal, progress is shown on stderr (not with --json or -v).`,
			Exits: []cli.Exit{
				{Code: fault.ExitPass, Meaning: "pass: no acknowledged record was lost silently, every detected loss was explained"},
				{Code: fault.ExitFail, Meaning: "fail: a silent loss or an unexplained detection (or the run could not be done)"},
				cli.UsageExit,
				{Code: fault.ExitEmpty, Meaning: "empty: nothing was acknowledged, so nothing was checked"},
			},
			Run: func(e *cli.Env, args []string) int { return runDiskTorture(e, args, nil) },
		}}, diskEnumerateCommands, diskMountCommands),
	})
}

// diskTortureArgs are the parsed flags of 'faultbox disk torture'.
type diskTortureArgs struct {
	opts    wal.TortureOptions
	config  string
	events  int
	naive   bool
	json    bool
	verbose bool
}

const maxTortureOps = 10_000_000

func diskTortureFlags(fs *flag.FlagSet, a *diskTortureArgs) {
	a.opts.Seed = 1
	fs.Var(&a.opts.Seed, "seed", "seed `N` of the whole run, decimal or 0x hex")
	fs.IntVar(&a.opts.Ops, "ops", 2000, "workload steps (append, sync, read, crash), 0.."+strconv.Itoa(maxTortureOps))
	fs.StringVar(&a.config, "config", "stress", "disk model: a preset (default, fast-local, random, stress) or a JSON object of disk.Config fields")
	fs.IntVar(&a.events, "events", 0, "also list the first `N` injected events (text only)")
	fs.BoolVar(&a.naive, "naive", true, "also run the naive log (no checksums) under the same faults, for contrast")
	fs.BoolVar(&a.json, "json", false, "print the report as JSON on stdout, and nothing else there")
	fs.BoolVar(&a.verbose, "v", false, "log every workload step, restart and recovery on stderr")
}

// checkDiskTorture checks what the flag package cannot: ranges and the configuration.
func checkDiskTorture(a *diskTortureArgs, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if a.opts.Ops < 0 || a.opts.Ops > maxTortureOps {
		return fmt.Errorf("--ops %d: want 0..%d", a.opts.Ops, maxTortureOps)
	}
	if a.events < 0 {
		return fmt.Errorf("--events %d: want >= 0", a.events)
	}
	if a.json && a.events > 0 {
		return fmt.Errorf("--events %d with --json: the event list is part of the text output only", a.events)
	}
	cfg, err := wal.ConfigFor(a.config, a.opts.Seed)
	if err != nil {
		return err
	}
	a.opts.Config = cfg
	return nil
}

// runDiskTorture runs 'faultbox disk torture'; adjust, when set, changes the torture
// options after the flags are parsed: the tests use it to run a deliberately broken log or a
// small event cap, which the command line does not offer.
func runDiskTorture(e *cli.Env, args []string, adjust func(*wal.TortureOptions)) int {
	var a diskTortureArgs
	fs := e.FlagSet()
	diskTortureFlags(fs, &a)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if err := checkDiskTorture(&a, pos); err != nil {
		return e.UsageError(fs, "%v", err)
	}
	if adjust != nil {
		adjust(&a.opts)
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	a.opts.Logger = newLogger(e.Stderr, level).With("run", "wal")

	total := a.opts.Ops
	if a.naive {
		total *= 2
	}
	var meter *progress.Meter
	if !a.json && !a.verbose { // -v logs lines on stderr; a progress line would cut into them
		meter = progress.New(e.Stderr, "torture", "steps", total)
	}
	a.opts.OnStep = func(done, _ int) { meter.Update(done) }
	rep, err := wal.Torture(a.opts)
	if err != nil {
		meter.Done()
		return e.Fail("%v", err)
	}
	r := rep.Report(e.Path)
	r.Target = "wal on disk config " + a.config
	if rep.EventsDropped > 0 {
		r.Note("the event log kept the first %d events; %d more were counted (the fault counts cover them), not kept",
			len(rep.Events), rep.EventsDropped)
	}
	replay := []string{"--seed", a.opts.Seed.String(), "--ops", strconv.Itoa(a.opts.Ops), "--config", a.config}
	if a.naive {
		nopts := a.opts
		nopts.Logger = a.opts.Logger.With("run", "naive")
		nopts.OnStep = func(done, _ int) { meter.Update(a.opts.Ops + done) }
		nrep, err := wal.NaiveTorture(nopts)
		if err != nil {
			meter.Done()
			return e.Fail("naive: %v", err)
		}
		r.Add("naive: acknowledged", nrep.Acked)
		r.Add("naive: recoveries", nrep.Recoveries)
		r.Add("naive: silent losses", nrep.SilentLosses)
		r.Add("naive: faults injected", nrep.Counters.Total())
		r.Note("the naive log (no checksums, retried syncs) on the same kind of disk: %d of %d recoveries silently lost or altered acknowledged records",
			nrep.SilentLosses, nrep.Recoveries)
	} else {
		replay = append(replay, "--naive=false")
	}
	meter.Done()
	r.Replay = e.Path + " " + shellquote.Quote(replay...)
	if a.json {
		if err := r.WriteJSON(e.Stdout); err != nil {
			return e.Fail("write report: %v", err)
		}
		return r.Verdict.ExitCode()
	}
	if err := r.WriteText(e.Stdout); err != nil {
		return e.Fail("write report: %v", err)
	}
	writeTortureEvents(e.Stdout, rep, a.events)
	return r.Verdict.ExitCode()
}

// writeTortureEvents lists the first event of each fault family and, when asked, the first n
// events of the run.
func writeTortureEvents(w io.Writer, rep *wal.TortureReport, n int) {
	header := false
	for _, fam := range disk.Families {
		line := ""
		for _, ev := range rep.Events {
			if ev.Layer == fault.LayerDisk && ev.Kind == string(fam) {
				line = ev.String()
				break
			}
		}
		if c := rep.Counters.Of(fam); line == "" && c > 0 {
			line = fmt.Sprintf("%s: %d injected, all after the event log was full", fam, c)
		}
		if line == "" {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nthe first fault of each family:")
			header = true
		}
		fmt.Fprintf(w, "  %s\n", line)
	}
	if n = min(n, len(rep.Events)); n > 0 {
		fmt.Fprintf(w, "\nthe first %d events:\n", n)
		for _, ev := range rep.Events[:n] {
			fmt.Fprintf(w, "  %s\n", ev)
		}
	}
}

// newLogger is the logger of a long command: text on stderr, without the wall-clock time,
// so that two runs with one seed log the same lines.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
