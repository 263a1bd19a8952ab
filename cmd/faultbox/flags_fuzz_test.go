package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// The flags of 'faultbox sim run' and 'faultbox explore', fuzzed as the commands read them
// (arguments split at NUL bytes, so a value may hold spaces), up to the checks that come
// before anything runs. Bad input gets an error that names what it refuses (a flag, or an
// unexpected argument), never a panic; what is accepted is within the documented ranges.

// namesWhat reports whether a refusal names what it refuses: the flag package's own errors
// name the flag ("-x", "--x"), the commands' checks a flag or the unexpected argument; -h
// asks for the help, which the commands print.
func namesWhat(err error) bool {
	msg := err.Error()
	return errors.Is(err, flag.ErrHelp) || strings.Contains(msg, "-") || strings.HasPrefix(msg, "unexpected argument")
}

// addSeeds adds each argument list, its words joined by NUL, to the fuzzer's corpus.
func addSeeds(f *testing.F, joined ...string) {
	for _, s := range joined {
		f.Add(s)
	}
}

// quietFlags is a flag set that returns its errors and prints nothing.
func quietFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func FuzzSimRunFlags(f *testing.F) {
	addSeeds(f,
		"--target\x00dbctl\x00--seed\x007\x00--ops\x002000\x00--keys\x00128\x00--scenario\x00fault\x00--faults\x00all",
		"--target\x00raftkv\x00--nodes\x005\x00--clients\x0064\x00--bug\x00no-checksum\x00--duration\x0010s",
		"--target\x00raftkv\x00--ops\x0010",
		"--target\x00dbctl\x00--schedule\x00at 2s crash 10.0.0.2 for 500ms; at 3s heal",
		"--target\x00dbctl\x00--duration\x00-1s",
		"--keys\x000\x00--target\x00dbctl",
		"--target\x00dbctl\x00--seed\x000xffffffffffffffff\x00extra",
	)
	f.Fuzz(func(t *testing.T, joined string) {
		var a simArgs
		fs := quietFlags("faultbox sim run")
		simFlags(fs, &a)
		err := fs.Parse(strings.Split(joined, "\x00"))
		if err == nil {
			a.set = given(fs)
			err = checkSimArgs(&a, fs.Args())
		}
		if err != nil {
			if !namesWhat(err) {
				t.Fatalf("%q: the error %q names no flag or argument", joined, err)
			}
			return
		}
		if a.target != "dbctl" && a.target != "raftkv" {
			t.Fatalf("%q: accepted --target %q", joined, a.target)
		}
		if a.cfg.Ops > maxSimOps || a.cfg.Keys < 1 || a.cfg.Duration < 0 || a.cfg.Duration > 24*time.Hour {
			t.Fatalf("%q: accepted out-of-range flags: %+v", joined, a.cfg)
		}
		if a.target == "raftkv" {
			if err := checkRaftkvSize(a.nodes, a.clients); err != nil {
				t.Fatalf("%q: accepted %v", joined, err)
			}
		}
	})
}

func FuzzExploreFlags(f *testing.F) {
	addSeeds(f,
		"--target\x00raftkv\x00--bug\x00no-checksum\x00--strategy\x00lineage\x00--runs\x00300",
		"--target\x00dbctl\x00--bug\x00ack-before-sync\x00-j\x002\x00--shard\x001/3",
		"--target\x00dbctl\x00--nodes\x005",
		"--target\x00raftkv\x00--faults\x00crash,garble,bogus",
		"--runs\x000\x00--budget\x001m\x00--target\x00raftkv\x00--duration\x002h",
		"--shard\x003/3\x00--target\x00dbctl",
		"--check\x00true\x00--label\x00a=b\x00--\x00true",
		"--target\x00dbctl\x00--\x00true",
	)
	f.Fuzz(func(t *testing.T, joined string) {
		var a exploreArgs
		fs := quietFlags("faultbox explore")
		exploreFlags(fs, &a)
		err := fs.Parse(strings.Split(joined, "\x00"))
		if err == nil {
			tg, terr := exploreTarget(fs, &a, fs.Args())
			if terr == nil && tg == nil {
				t.Fatalf("%q: no target and no error", joined)
			}
			err = terr
		}
		if err != nil {
			if !namesWhat(err) {
				t.Fatalf("%q: the error %q names no flag or argument", joined, err)
			}
			return
		}
		o := a.opts
		if o.Runs < 0 || o.Runs > 10_000_000 || o.Runs == 0 && o.Budget <= 0 || o.Budget < 0 ||
			o.Workers < 1 || o.Workers > 256 || o.Shards > 0 && (o.Shard < 0 || o.Shard >= o.Shards) {
			t.Fatalf("%q: accepted out-of-range options: %+v", joined, o)
		}
	})
}

// FuzzDiskCommandArgs runs 'faultbox disk enumerate' and 'faultbox disk rules' on fuzzed
// arguments: the exit is pass (0), a failed check (1) or a usage error (2) that says what
// it refuses on stderr, never a panic. Inputs with --check are skipped: with a program
// after "--" they would run it (TestDiskEnumerateProgramUsage tests those refusals). (disk
// torture's flags have FuzzDiskTortureFlags; mount and ctl touch the machine, and their
// parsers, ParseConfig, ParseRules and ParseCommand, have their own targets.)
func FuzzDiskCommandArgs(f *testing.F) {
	addSeeds(f,
		"enumerate\x00--target\x00rename\x00--torn\x000",
		"enumerate\x00--torn\x001001",
		"enumerate\x00--target\x00btree",
		"enumerate\x00--seed\x00x",
		"enumerate\x00--target\x00wal\x00--torn\x002\x00--powersafe-overwrite",
		"rules\x00sync:path=*.log:nth=3:error=EIO\x00write:error=ENOSPC",
		"rules\x00sync:nth=0",
		"rules",
	)
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		if args[0] != "enumerate" && args[0] != "rules" {
			return
		}
		if slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "check") }) {
			return // --check runs a program of the input's choosing: its refusals have unit tests
		}
		var out, errb strings.Builder
		code := dispatch(append([]string{"disk"}, args...), &out, &errb)
		switch code {
		case 0, 1:
		case 2:
			if !strings.HasPrefix(errb.String(), "faultbox disk "+args[0]+": ") {
				t.Fatalf("%q: usage error without its reason: %q", args, errb.String())
			}
		default:
			t.Fatalf("%q: exit %d\n%s", args, code, errb.String())
		}
	})
}
