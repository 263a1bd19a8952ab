package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/fault"
)

// The lab's frozen fault workload runs through the world under every kind of fault, checks
// the frozen hash and its own determinism, and writes its fault log as JSON lines.
func TestSimRunDbctl(t *testing.T) {
	t.Parallel()
	events := filepath.Join(t.TempDir(), "events.jsonl")
	var out, errb bytes.Buffer
	code := dispatch([]string{"sim", "run", "--target", "dbctl", "--seed", "7", "--ops", "2000", "--keys", "128",
		"--scenario", "fault", "--faults", "all", "--check-determinism", "-o", events, "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	var r fault.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	checks := map[string]bool{}
	for _, c := range r.Checks {
		checks[c.Name] = c.OK
	}
	for _, name := range []string{"converged", "snapshot equals the pure model's", "frozen hash holds through the network",
		"no committed entry lost", "deterministic"} {
		if ok, found := checks[name]; !found || !ok {
			t.Errorf("check %q: found %v ok %v", name, found, ok)
		}
	}
	figure := map[string]string{}
	for _, f := range r.Figures {
		figure[f.Name] = f.Value
	}
	if figure["snapshot sha256"] != cluster.FaultHash || r.FaultTotal() == 0 || r.Verdict != fault.Pass {
		t.Errorf("report: %+v", r)
	}
	if !strings.HasPrefix(r.Replay, "faultbox sim run --target dbctl --seed 7 ") {
		t.Errorf("replay %q", r.Replay)
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev, err := fault.ReadJSONL(f)
	if err != nil || len(ev) != r.FaultTotal() {
		t.Fatalf("-o: %d events (%v), report counts %d", len(ev), err, r.FaultTotal())
	}
}

func TestSimRunUsageErrors(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{ // arguments split at spaces
		"sim run":                                  "--target is required: want dbctl or raftkv",
		"sim run --target raft":                    `--target "raft": want dbctl or raftkv`,
		"sim run --target raftkv --ops 5":          "--ops does not apply to --target raftkv",
		"sim run --target dbctl --bug skip-fsync":  `--bug "skip-fsync": want one of ack-before-sync`,
		"sim run --target raftkv --nodes 4":        "--nodes 4: want 3 or 5",
		"sim run --target raftkv --bug nope":       `--bug "nope": want none or one of`,
		"sim run --target dbctl --faults loud":     `--faults "loud": want none, net, crash, storage or all`,
		"sim run --target dbctl --keys 0":          "--keys 0: want at least 1",
		"sim run --target dbctl --scenario x":      `unknown scenario "x"`,
		"sim run --target dbctl --schedule at":     `--schedule: schedule item 1`,
		"sim run --target dbctl --seed 0x":         `seed "0x": want`,
		"sim run --target dbctl --duration -1s":    "--duration -1s: want",
		"sim run --target dbctl --ops 99999999999": "--ops 99999999999: want 0..1000000",
	} {
		var out, errb bytes.Buffer
		if code := dispatch(strings.Fields(args), &out, &errb); code != 2 || !strings.Contains(errb.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, errb.String(), want)
		}
	}
}

func TestSimRunRaftkv(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := dispatch([]string{"sim", "run", "--bug", "list"}, &out, &errb); code != 0 ||
		out.String() != "send-before-persist\nskip-fsync\napply-uncommitted\nstale-read\nno-checksum\n" {
		t.Fatalf("--bug list: exit %d, %q", code, out.String())
	}
	out.Reset()
	code := dispatch([]string{"sim", "run", "--target", "raftkv", "--seed", "3", "--faults", "all", "--duration", "3s",
		"--check-determinism", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("correct run: exit %d, %s\n%s", code, errb.String(), out.String())
	}
	var r fault.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Verdict != fault.Pass ||
		!strings.HasPrefix(r.Replay, "faultbox sim run --target raftkv --seed 3 ") {
		t.Fatalf("report %+v (%v)", r, err)
	}
	out.Reset()
	code = dispatch([]string{"sim", "run", "--target", "raftkv", "--seed", "1", "--faults", "all", "--duration", "3s",
		"--bug", "apply-uncommitted"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "--bug apply-uncommitted") {
		t.Fatalf("planted bug: exit %d\n%s", code, out.String())
	}
	// A linearizability violation: porcupine's visualisation lands beside -o's file, and the
	// report names it.
	out.Reset()
	dir := t.TempDir()
	events, page := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "events.porcupine.html")
	code = dispatch([]string{"sim", "run", "--target", "raftkv", "--seed", "1", "--duration", "2s",
		"--bug", "stale-read", "-o", events}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "porcupine's visualisation: "+page) {
		t.Fatalf("stale read: exit %d\n%s", code, out.String())
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("visualisation: %d bytes, %v", len(b), err)
	}
}
