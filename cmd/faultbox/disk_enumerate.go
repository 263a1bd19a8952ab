package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/mount"
	"github.com/faultbox/faultbox/disk/wal"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
)

// The crash-state enumerator and the rule checker, as subcommands of 'faultbox disk'
// (disk.go lists them under its command).
var diskEnumerateCommands = []*cli.Command{{
	Name:    "enumerate",
	Summary: "Crash a workload at every persistence point, in every crash state, and check each recovery (ALICE-style).",
	Args:    "[flags] [--check CMD -- PROGRAM [ARG...]]",
	Details: `Runs one workload on the memory disk and, just before each sync and directory sync
and at the end, builds the crash states of that instant (everything unsynced lost, everything
kept, and --torn torn shapes; with --powersafe-overwrite a torn sector lands new or old,
never garbage), then recovers on each distinct one and checks it.

With --check and a PROGRAM, the workload is that program, unmodified, on the lying disk
mounted with FUSE in a temporary directory (its working directory): a crash-free run counts
its fsyncs, then it runs once per fsync and crash shape, crashed just before that fsync, and
CMD (a shell command, run in the same directory on each distinct post-crash disk) must exit
0. CMD finds the program's standard output, what it acknowledged, in the file named by
$FAULTBOX_WORKLOAD_STDOUT. The program must do the same operations each run. Needs
/dev/fuse and root or fusermount3.

Built-in targets (--target):

  wal            the checksummed log of disk/wal, 6 batches: every acknowledged record must
                 come back intact (or recovery must refuse with ErrLost)
  rename         a file replaced through a temporary file and a rename, the data never
                 synced: the classic bug; some state must hold neither version whole
  rename-synced  the same with the data synced before the rename: every state holds one`,
	Exits: []cli.Exit{
		{Code: fault.ExitPass, Meaning: "every crash state passed its check"},
		{Code: fault.ExitFail, Meaning: "some crash state failed its check (listed)"},
		cli.UsageExit,
	},
	Run: runDiskEnumerate,
}, {
	Name:    "rules",
	Summary: "Check targeting rules in the one-line form and print what each selects and does.",
	Args:    "SPEC...",
	Details: `Each SPEC is one or more rules separated by ';', for example
sync:path=*.log:nth=3:error=EIO or *:nth=120:crash (see docs/disk.md, "Targeting").
A bad rule is reported with its column, field, value and what was expected.`,
	Exits: []cli.Exit{{Code: fault.ExitPass, Meaning: "every rule is valid"}, cli.UsageExit},
	Run:   runDiskRules,
}}

func runDiskRules(e *cli.Env, args []string) int {
	fs := e.FlagSet()
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return e.UsageError(fs, "no rule: want a SPEC like sync:path=*.log:nth=3:error=EIO")
	}
	for _, spec := range pos {
		rs, err := disk.ParseRules(spec)
		if err != nil {
			return e.UsageError(fs, "%v", err)
		}
		for _, r := range rs {
			act := fmt.Sprintf("fails it with %s (%v)", disk.ErrnoName(r.Err), r.Err)
			switch {
			case r.Crash:
				act = "crashes the process just before it"
			case r.Family != "":
				act = "scopes " + string(r.Family) + " to it"
				if r.Probability > 0 {
					act += " at p=" + strconv.FormatFloat(r.Probability, 'g', -1, 64)
				}
			}
			fmt.Fprintf(e.Stdout, "%s\n  selects %s\n  %s\n", r, r.When, act)
		}
	}
	return fault.ExitPass
}

func runDiskEnumerate(e *cli.Env, args []string) int {
	fs := e.FlagSet()
	target := fs.String("target", "wal", "workload: wal, rename or rename-synced")
	var seed fault.Seed = 1
	fs.Var(&seed, "seed", "seed `N` of the torn shapes, decimal or 0x hex")
	torn := fs.Int("torn", 8, "torn shapes per persistence point, 0..1000")
	powersafe := fs.Bool("powersafe-overwrite", false, "tear sectors new or old, never garbage (the drive Pebble and SQLite assume)")
	checkCmd := fs.String("check", "", "with a PROGRAM after --: the shell command `CMD` that judges each crash state")
	point := fs.Int("point", 0, "with a PROGRAM: only persistence point `K` (1 is the first fsync)")
	shape := fs.String("shape", "", "with a PROGRAM: only crash shape `S` (drop, keep-all, torn/N)")
	save := fs.String("save", "", "with a PROGRAM: copy each failing state's files into `DIR`/point-K-SHAPE")
	jobs := fs.Int("j", 1, "with a PROGRAM: crash states run and checked at once, `N` in 1..64 (the result does not depend on it)")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if *torn < 0 || *torn > 1000 {
		return e.UsageError(fs, "--torn %d: want 0..1000", *torn)
	}
	set := given(fs)
	switch {
	case len(pos) > 0 && *checkCmd == "":
		return e.UsageError(fs, "a PROGRAM (%q) without --check: want --check CMD to judge its crash states", pos[0])
	case len(pos) == 0 && set["check"]:
		return e.UsageError(fs, "--check %q without a PROGRAM: want -- PROGRAM [ARG...] after the flags", *checkCmd)
	case len(pos) > 0 && set["target"]:
		return e.UsageError(fs, "--target %q and a PROGRAM: want one workload, a built-in target or a program", *target)
	case len(pos) == 0 && (set["point"] || set["shape"] || set["save"] || set["j"]):
		return e.UsageError(fs, "--point, --shape, --save and -j go with --check CMD -- PROGRAM")
	case *jobs < 1 || *jobs > 64:
		return e.UsageError(fs, "-j %d: want 1..64 crash states at once", *jobs)
	case *point < 0:
		return e.UsageError(fs, "--point %d: want a persistence point >= 1 (0: all)", *point)
	case len(pos) > 0:
		return enumerateProgram(e, pos, *checkCmd, seed, *torn, *powersafe, mount.EnumerateOptions{Point: *point, Shape: *shape, Save: *save, Workers: *jobs})
	}
	var workload func(disk.FS) error
	var check func(disk.CrashState) error
	var refused *int
	switch *target {
	case "wal":
		workload, check, refused = walEnumeration()
	case "rename", "rename-synced":
		workload, check = renameEnumeration(*target == "rename-synced")
	default:
		return e.UsageError(fs, "--target %q: want wal, rename or rename-synced", *target)
	}
	res, err := disk.Enumerate(workload, check, disk.EnumerateOptions{Seed: seed, TornSeeds: tornSeeds(*torn), PowersafeOverwrite: *powersafe})
	if err != nil {
		return e.Fail("workload: %v", err)
	}
	replay := []string{"--target", *target}
	refusedLine := ""
	if refused != nil && *refused > 0 {
		refusedLine = fmt.Sprintf("  recovery refused    %d (ErrLost: a detected possible loss, not a silent one)\n", *refused)
	}
	return printEnumeration(e, "target "+*target, res, refusedLine, replay, nil, seed, *torn, *powersafe)
}

// printEnumeration reports an enumeration: what ran, the counts, the failures, a replay
// line and the verdict, whose exit code it returns.
// The replay line is replayArgs(head, tail, ...).
func printEnumeration(e *cli.Env, what string, res disk.EnumerateResult, extra string, head, tail []string, seed fault.Seed, torn int, powersafe bool) int {
	drive := ""
	if powersafe {
		drive = ", power-safe overwrite"
	}
	fmt.Fprintf(e.Stdout, "%s, seed %s, %d torn shapes a point%s\n", what, seed, torn, drive)
	fmt.Fprintf(e.Stdout, "  persistence points  %d\n  crash states tried  %d\n  distinct, checked   %d\n  failed              %d\n",
		res.Points, res.Tried, res.Distinct, len(res.Failures))
	for i, f := range res.Failures {
		if i == 10 {
			fmt.Fprintf(e.Stdout, "  ... %d more\n", len(res.Failures)-10)
			break
		}
		fmt.Fprintf(e.Stdout, "  FAIL %s: %v\n", f.State, f.Err)
	}
	fmt.Fprint(e.Stdout, extra)
	fmt.Fprintf(e.Stdout, "replay: %s %s\n", e.Path, shellquote.Quote(replayArgs(head, tail, seed, torn, powersafe)...))
	if len(res.Failures) > 0 {
		fmt.Fprintln(e.Stdout, "verdict: fail")
		return fault.ExitFail
	}
	fmt.Fprintln(e.Stdout, "verdict: pass")
	return fault.ExitPass
}

func walRecord(i int) []byte { return []byte(strings.Repeat(fmt.Sprintf("record %04d ", i), 1+i%7)) }

func walEnumeration() (func(disk.FS) error, func(disk.CrashState) error, *int) {
	refused := 0
	c := &wal.CrashCheck{Record: walRecord, OnRefused: func(disk.CrashState, int) { refused++ }}
	return c.Workload, c.Check, &refused
}

func renameEnumeration(syncData bool) (func(disk.FS) error, func(disk.CrashState) error) {
	v1, v2 := strings.Repeat("version one ", 100), strings.Repeat("version two ", 100)
	durable := false
	replace := func(fsys disk.FS, content string, syncData bool) error {
		f, err := fsys.Create("config.tmp")
		if err != nil {
			return err
		}
		if _, err := f.WriteAt([]byte(content), 0); err != nil {
			return err
		}
		if syncData {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		if err := fsys.Rename("config.tmp", "config"); err != nil {
			return err
		}
		return fsys.SyncDir("")
	}
	workload := func(fsys disk.FS) error {
		if err := replace(fsys, v1, true); err != nil {
			return err
		}
		durable = true
		return replace(fsys, v2, syncData)
	}
	check := func(s disk.CrashState) error {
		if !durable {
			return nil // before the first version is durable, nothing must hold
		}
		f, err := s.FS.Open("config")
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		got, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
		if err != nil {
			return err
		}
		if string(got) != v1 && string(got) != v2 {
			return fmt.Errorf("config holds %d bytes, neither version whole", len(got))
		}
		return nil
	}
	return workload, check
}

// enumerateProgram is 'disk enumerate --check CMD -- PROGRAM...': ALICE on an unmodified
// program, through the FUSE mount.
func enumerateProgram(e *cli.Env, program []string, check string, seed fault.Seed, torn int, powersafe bool, only mount.EnumerateOptions) int {
	dir, err := os.MkdirTemp("", "faultbox-enumerate-")
	if err != nil {
		return e.Fail("%v", err)
	}
	defer os.Remove(dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := only
	opts.Dir, opts.Seed, opts.TornSeeds, opts.PowersafeOverwrite = dir, seed, tornSeeds(torn), powersafe
	res, err := mount.EnumerateProgram(ctx, mount.Program{Workload: program, Check: []string{"sh", "-c", check}}, opts)
	if err != nil {
		return e.Fail("%v", err)
	}
	head := []string{"--check", check}
	if only.Point > 0 {
		head = append(head, "--point", strconv.Itoa(only.Point))
	}
	if only.Shape != "" {
		head = append(head, "--shape", only.Shape)
	}
	if only.Save != "" {
		head = append(head, "--save", only.Save)
	}
	extra := ""
	if len(res.Failures) > 0 && only.Point == 0 {
		f := res.Failures[0]
		one := []string{"--check", check, "--point", strconv.Itoa(f.Point), "--shape", f.Variant, "--save", "crash-state"}
		extra = fmt.Sprintf("replay the first failure, keeping its files: %s %s\n", e.Path,
			shellquote.Quote(replayArgs(one, append([]string{"--"}, program...), seed, torn, powersafe)...))
	}
	if only.Save != "" && len(res.Failures) > 0 {
		extra += fmt.Sprintf("  the failing states' files are in %s\n", only.Save)
	}
	return printEnumeration(e, "program "+shellquote.Quote(program...), res, extra, head,
		append([]string{"--"}, program...), seed, torn, powersafe)
}

// replayArgs is a replay's arguments: head, the seed and shape flags, then tail.
func replayArgs(head, tail []string, seed fault.Seed, torn int, powersafe bool) []string {
	args := append(slices.Clone(head), "--seed", seed.String(), "--torn", strconv.Itoa(torn))
	if powersafe {
		args = append(args, "--powersafe-overwrite")
	}
	return append(args, tail...)
}

// tornSeeds is --torn as disk's TornSeeds, where 0 means the default and negative none.
func tornSeeds(torn int) int {
	if torn == 0 {
		return -1
	}
	return torn
}
