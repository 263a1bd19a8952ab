package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/clitest"
	"github.com/faultbox/faultbox/explore"
)

// explore finds the planted bug, prints its replay command last and exits 1; the correct code
// exits 0; shards run as separate invocations merge into the single run's files.
func TestExploreCommand(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := dispatch([]string{"explore", "--target", "dbctl", "--bug", "ack-before-sync", "--strategy", "random",
		"--runs", "30", "--ops", "100", "--keys", "8"}, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 1 || !strings.HasPrefix(lines[len(lines)-1], "faultbox sim run --target dbctl --seed ") ||
		!strings.Contains(out.String(), "failure: acknowledged entries survive a crash") {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	out.Reset()
	if code := dispatch([]string{"explore", "--target", "dbctl", "--strategy", "aimed", "--runs", "30", "--ops", "100", "--keys", "8"},
		&out, &errb); code != 0 || !strings.Contains(out.String(), "verdict: no run failed") {
		t.Fatalf("correct code: exit %d\n%s", code, out.String())
	}
}

func TestExploreShardsMerge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"explore", "--target", "dbctl", "--bug", "ack-before-sync", "--strategy", "random", "--runs", "21",
		"--ops", "100", "--keys", "8", "--seed", "0x2a"}
	var out, errb bytes.Buffer
	dispatch(append(args, "--out", filepath.Join(dir, "single")), &out, &errb)
	shards := []string{"merge", "--out", filepath.Join(dir, "merged")}
	for i := range 3 {
		d := filepath.Join(dir, "shard"+string(rune('0'+i)))
		dispatch(append(args, "--shard", string(rune('0'+i))+"/3", "--out", d), &out, &errb)
		shards = append(shards, d)
	}
	if code := dispatch(append([]string{"explore"}, shards...), &out, &errb); code != 1 {
		t.Fatalf("merge: exit %d, stderr %s", code, errb.String())
	}
	for _, f := range []string{"runs.jsonl", "result.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, "single", f))
		b, _ := os.ReadFile(filepath.Join(dir, "merged", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: merged shards differ from the single run", f)
		}
	}
}

func TestExploreUsageErrors(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{ // arguments split at spaces
		"explore": "--target is required",
		"explore --target dbctl --strategy clever":      `--strategy "clever": want random, aimed or lineage`,
		"explore --target dbctl --shard 3/3":            `--shard "3/3": want I/N with 0 <= I < N`,
		"explore --target dbctl --bug typo":             `--bug "typo": want one of ack-before-sync`,
		"explore --target dbctl --faults crash,explode": `--faults: kind "explode"`,
		"explore --target dbctl -j 0":                   "-j 0: want 1..256",
		"explore --target dbctl --runs 0":               "--runs 0 needs a --budget",
		"explore --target dbctl --shards 2":             `--shards 2 with JOB_COMPLETION_INDEX=""`,
		"explore merge":                                 "merge: want the directories",
	} {
		var out, errb bytes.Buffer
		if code := dispatch(strings.Fields(args), &out, &errb); code != 2 || !strings.Contains(errb.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, errb.String(), want)
		}
	}
}

// --shards N takes the shard from JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it.
func TestExploreShardFromJobIndex(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	a := exploreArgs{shards: 4}
	if err := parseShard(&a); err != nil || a.opts.Shard != 2 || a.opts.Shards != 4 {
		t.Fatalf("shard %d/%d, %v", a.opts.Shard, a.opts.Shards, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "4")
	if err := parseShard(&exploreArgs{shards: 4}); err == nil {
		t.Fatal("index 4 of 4 shards accepted")
	}
}

// Shards run as separate processes, each told its index by JOB_COMPLETION_INDEX as a
// Kubernetes Indexed Job does (deploy/explore-job.yaml), merge into the one-machine result.
// Not parallel: it starts processes (see TestEveryCommandAnswersHelp).
func TestExploreShardsAsProcesses(t *testing.T) {
	bin := clitest.Build(t, ".", "faultbox")
	dir := t.TempDir()
	args := []string{"explore", "--target", "dbctl", "--bug", "ack-before-sync", "--strategy", "random", "--runs", "24",
		"--ops", "100", "--keys", "8", "--seed", "7"}
	if code, _, errOut := clitest.Run(t, bin, append(args, "--out", filepath.Join(dir, "single"))...); code != 1 {
		t.Fatalf("single: exit %d %s", code, errOut)
	}
	var procs []*exec.Cmd
	for i := range 4 {
		cmd := exec.Command(bin, append(args, "--shards", "4", "--out", filepath.Join(dir, fmt.Sprint("shard-", i)))...)
		cmd.Env = append(os.Environ(), fmt.Sprint("JOB_COMPLETION_INDEX=", i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() > 1 {
				t.Fatalf("a shard: %v", err)
			}
		}
	}
	merge := []string{"explore", "merge", "--out", filepath.Join(dir, "merged")}
	for i := range 4 {
		merge = append(merge, filepath.Join(dir, fmt.Sprint("shard-", i)))
	}
	if code, _, errOut := clitest.Run(t, bin, merge...); code != 1 {
		t.Fatalf("merge: exit %d %s", code, errOut)
	}
	for _, f := range []string{"runs.jsonl", "result.json"} {
		a, _ := os.ReadFile(filepath.Join(dir, "single", f))
		b, _ := os.ReadFile(filepath.Join(dir, "merged", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: the merged shards differ from the single run", f)
		}
	}
}

// The replay command of a failure reproduces the same failed check.
func TestExploreReplayReproduces(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := dispatch([]string{"explore", "--target", "dbctl", "--bug", "ack-before-sync", "--strategy", "aimed",
		"--runs", "20", "--ops", "100", "--keys", "8", "--json"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d %s", code, errb.String())
	}
	var res explore.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Failures) == 0 {
		t.Fatalf("%v %s", err, out.String())
	}
	f := res.Failures[0]
	out.Reset()
	code := dispatch([]string{"sim", "run", "--target", "dbctl", "--seed", f.Seed.String(), "--ops", "100", "--keys", "8",
		"--bug", "ack-before-sync", "--schedule", strings.Join(f.Minimal, "; ")}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "FAIL  "+f.Check) {
		t.Fatalf("replay of %v: exit %d\n%s", f.Minimal, code, out.String())
	}
	if !strings.Contains(f.Replay, "--schedule '"+strings.Join(f.Minimal, "; ")+"'") {
		t.Fatalf("replay line %q does not carry the minimal plan %v", f.Replay, f.Minimal)
	}
}

// Every planted bug of the raftkv target is found by explore, shrunk, and the replay command
// it prints (run as the shell would split it) fails the same check. Each bug is explored with
// the strategy that finds it soonest (BENCHMARKS.md has the figures for all of them).
func TestExploreRaftkvBugsReplay(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ bug, strategy, seed, runs string }{
		{"send-before-persist", "aimed", "1", "10"},
		{"skip-fsync", "random", "1", "20"},
		{"apply-uncommitted", "random", "1", "20"},
		{"stale-read", "random", "1", "20"},
		{"no-checksum", "lineage", "3", "40"},
	} {
		t.Run(c.bug, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			if code := dispatch([]string{"explore", "--target", "raftkv", "--bug", c.bug, "--strategy", c.strategy,
				"--runs", c.runs, "--seed", c.seed, "--json"}, &out, &errb); code != 1 {
				t.Fatalf("exit %d %s", code, errb.String())
			}
			var res explore.Result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Failures) == 0 {
				t.Fatalf("%v %s", err, out.String())
			}
			f := res.Failures[0]
			// stale-read needs no fault at all: a follower that answers from its own state
			// lags the leader by a round trip, so its minimal plan may be empty.
			if (len(f.Minimal) == 0 && c.bug != "stale-read") || len(f.Minimal) > len(f.Plan) {
				t.Fatalf("minimal plan %v of %v", f.Minimal, f.Plan)
			}
			args := shellSplit(t, strings.TrimPrefix(f.Replay, "faultbox "))
			out.Reset()
			if code := dispatch(args, &out, &errb); code != 1 || !strings.Contains(out.String(), "FAIL  "+f.Check) {
				t.Fatalf("replay %q: exit %d\n%s", f.Replay, code, out.String())
			}
		})
	}
}

// shellSplit splits a command line as sh does.
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	b, err := exec.Command("sh", "-c", "for a in "+line+`; do printf '%s\0' "$a"; done`).Output()
	if err != nil {
		t.Fatalf("split %q: %v", line, err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
