package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/mount"
	"github.com/faultbox/faultbox/disk/wal"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
)

// 'faultbox disk mount' and 'faultbox disk ctl': any program on the lying disk (disk.go lists
// them under its command).
var diskMountCommands = []*cli.Command{{
	Name:    "mount",
	Summary: "Serve the memory disk as a FUSE file system at DIR, so that any program runs on the lying disk.",
	Args:    "[flags] DIR",
	Details: `Every file operation under DIR goes to the disk model (disk.FaultFS on a MemFS):
writes become durable only when fsync'd, directory entries only when the directory is fsync'd,
and the disk's fault families and targeting rules apply. Reads and writes bypass the kernel's
page cache, so a crash is seen at once. The command serves in the foreground until SIGINT or
SIGTERM, an 'unmount' on the control socket, or umount(8); then it prints a report.

With --control SOCK, a Unix socket takes one command a line and answers each, once done:
crash (power loss: what was not synced is lost or torn, open files fail with EIO), wipe,
rules [SPEC] (install rules such as sync:path=*.db:error=EIO; none clears), status, unmount.
Send them with 'faultbox disk ctl SOCK COMMAND'. Stop the programs using the mount before a
crash, as a power cut would.

Needs /dev/fuse and root (the mount is made with mount(2)), or the fusermount3 helper
(Debian's fuse3). Presets for --config: default, fast-local, random, stress, or a JSON object
of disk.Config fields; the default keeps latencies at fast-local and loses everything
unsynced at a crash.`,
	Exits: []cli.Exit{
		{Code: fault.ExitPass, Meaning: "served and unmounted cleanly"},
		{Code: fault.ExitFail, Meaning: "the mount or the control socket could not be set up, or the unmount failed"},
		cli.UsageExit,
	},
	Run: runDiskMount,
}, {
	Name:    "ctl",
	Summary: "Send one command to a running 'faultbox disk mount --control SOCK' and print its answer.",
	Args:    "SOCK COMMAND [ARGS]",
	Details: `COMMAND is crash, wipe, rules [SPEC], status or unmount. The answer comes once the
command is done, so a script may go on at once: 'faultbox disk ctl /tmp/ctl.sock crash'.`,
	Exits: []cli.Exit{
		{Code: fault.ExitPass, Meaning: "the command was carried out"},
		{Code: fault.ExitFail, Meaning: "the mount refused it or could not be reached"},
		cli.UsageExit,
	},
	Run: runDiskCtl,
}}

// mountDefault is the --config the mount starts with: fast-local latencies and a crash that
// keeps nothing unsynced (the LazyFS model), so what survives is exactly what was synced.
const mountDefault = "lazyfs"

func mountConfig(spec string, seed fault.Seed) (disk.Config, error) {
	if spec == mountDefault {
		c := disk.FastLocal()
		c.CrashKeepAllProbability = 0
		return c, nil
	}
	return wal.ConfigFor(spec, seed)
}

func runDiskMount(e *cli.Env, args []string) int {
	fs := e.FlagSet()
	var seed fault.Seed = 1
	fs.Var(&seed, "seed", "seed `N` of the disk's decisions, decimal or 0x hex")
	config := fs.String("config", mountDefault, "disk model: lazyfs (fast, loses all unsynced data at a crash), default, fast-local, random, stress, or a JSON object of disk.Config fields")
	rules := fs.String("rules", "", "targeting rules in the one-line form, e.g. 'sync:path=*.db:error=EIO'")
	control := fs.String("control", "", "serve the control protocol on a Unix socket at `SOCK`")
	events := fs.String("o", "", "write the disk's events as JSON lines to `FILE` at the end")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	debug := fs.Bool("debug", false, "log every FUSE request on stderr")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return e.UsageError(fs, "want one DIR to mount on, got %d arguments", len(pos))
	}
	dir := pos[0]
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return e.UsageError(fs, "DIR %q: want an existing directory (%v)", dir, err)
	}
	cfg, err := mountConfig(*config, seed)
	if err != nil {
		return e.UsageError(fs, "--config: %v", err)
	}
	var rs []disk.Rule
	if *rules != "" {
		if rs, err = disk.ParseRules(*rules); err != nil {
			return e.UsageError(fs, "--rules: %v", err)
		}
	}
	st, err := disk.NewStorage(seed, cfg, disk.RealClock())
	if err != nil {
		return e.UsageError(fs, "--config: %v", err)
	}
	if err := st.SetRules(rs); err != nil {
		return e.UsageError(fs, "--rules: %v", err)
	}
	m, err := mount.New(dir, st, mount.Options{Debug: *debug})
	if err != nil {
		return e.Fail("%v", err)
	}
	var unmountAsked <-chan struct{}
	if *control != "" {
		ctl, err := m.ServeControl(*control)
		if err != nil {
			m.Unmount()
			return e.Fail("%v", err)
		}
		defer ctl.Close()
		unmountAsked = ctl.Unmount()
	}
	fmt.Fprintf(e.Stderr, "%s: serving %s (control: %s); stop with SIGINT\n", e.Path, dir, orNone(*control))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	unmounted := false
	select {
	case <-done: // umount(8) from outside
		unmounted = true
	case <-ctx.Done():
	case <-unmountAsked:
	}
	var unmountErr error
	if !unmounted {
		if unmountErr = m.Unmount(); unmountErr == nil {
			<-done
		}
	}

	r := fault.NewReport(e.Path, seed)
	r.Target = dir
	r.Add("config", *config)
	if *rules != "" {
		r.Add("rules", *rules)
	}
	r.Add("operations served", m.Ops())
	r.Add("crashes", m.Crashes())
	r.SetFaults(st.Log().Counts())
	detail := ""
	if unmountErr != nil {
		detail = unmountErr.Error()
	}
	r.Check("unmounted cleanly", unmountErr == nil, "%s", detail)
	r.Note("the mount checks nothing in the program's data: the program's own recovery and checks judge it")
	replay := []string{"--seed", seed.String(), "--config", *config}
	if *rules != "" {
		replay = append(replay, "--rules", *rules)
	}
	r.Replay = e.Path + " " + shellquote.Quote(append(replay, dir)...)
	if *events != "" {
		if err := writeEventsFile(*events, st.Events()); err != nil {
			return e.Fail("-o: %v", err)
		}
	}
	r.Judge()
	return writeReport(e, r, *asJSON)
}

// writeReport prints a run report on stdout, as JSON or text, and returns its exit code.
func writeReport(e *cli.Env, r *fault.Report, asJSON bool) int {
	var err error
	if asJSON {
		err = r.WriteJSON(e.Stdout)
	} else {
		err = r.WriteText(e.Stdout)
	}
	if err != nil {
		return e.Fail("write report: %v", err)
	}
	return r.Verdict.ExitCode()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// writeEventsFile writes events as JSON lines to a new file.
func writeEventsFile(name string, events []fault.Event) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := fault.WriteJSONL(f, events); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runDiskCtl(e *cli.Env, args []string) int {
	fs := e.FlagSet()
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) < 2 {
		return e.UsageError(fs, "want SOCK and a COMMAND (crash, wipe, rules [SPEC], status, unmount), got %d arguments", len(pos))
	}
	line := strings.Join(pos[1:], " ")
	if _, err := mount.ParseCommand(line); err != nil {
		return e.UsageError(fs, "%v", err)
	}
	answer, err := mount.Send(pos[0], line)
	if err != nil {
		return e.Fail("%v", err)
	}
	fmt.Fprintln(e.Stdout, answer)
	return fault.ExitPass
}
