package chunkcachecli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/chunkcache"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/testutil"
)

// syncBuffer is the shared test buffer; notifyOn waits for output without polling.
type syncBuffer = testutil.Buffer

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// warnRecordRE matches a whole output of one slog text record at level WARN; group 1 is
// the quoted message.
var warnRecordRE = regexp.MustCompile(`\Atime=\S+ level=WARN msg=("(?:[^"\\]|\\.)*")\n\z`)

// run runs the tree named name (as the binary or as 'faultbox chunkcache') with args; its
// server and bench run until ctx is done.
func run(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	root := Command(func() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) })
	if name == "faultbox chunkcache" {
		root = &cli.Command{Name: "faultbox", Summary: "faultbox.", Subs: []*cli.Command{root}}
		return cli.Main(root, "faultbox", append([]string{"chunkcache"}, args...), stdout, stderr)
	}
	return cli.Main(root, name, args, stdout, stderr)
}

// The acceptance check, through the real command line: 'chunkcache server' with
// fault_inject (gap_tail_ratios [0.5]) around fs_native, then 'chunkcache bench', as text
// and as a JSON fault report.
func TestServerAndBenchEndToEnd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		segmented bool
		want      string
		reused    string
	}{
		{false, "reused tokens: 1,024 of 2,048 (prefix 1,024, segmented 1,024)", "1,024"},
		{true, "reused tokens: 1,792 of 2,048 (prefix 1,024, segmented 1,792)", "1,792"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("segmented=%v", tc.segmented), func(t *testing.T) {
			t.Parallel()
			spec := fmt.Sprintf(`{"type":"fault_inject","inner":{"type":"fs_native","base_path":%q},"gap_tail_ratios":[0.5]}`, t.TempDir())
			args := []string{"server", "--l2-adapter", spec, "--listen", "127.0.0.1:0", "--chunk-size", "256"}
			if tc.segmented {
				args = append(args, "--enable-segmented-prefix")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errOut, code := &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
			listening := out.NotifyOn(listenRE)
			go func() { code <- run(ctx, "chunkcache", args, out, errOut) }()
			select {
			case <-listening:
			case c := <-code:
				t.Fatalf("server exited with %d: %s", c, errOut)
			case <-time.After(10 * time.Second):
				t.Fatalf("server did not print %q within 10s; stdout %q", listenRE, out)
			}
			url := listenRE.FindStringSubmatch(out.String())[1]
			// stderr holds one slog text record: a warning whose message is LMCache's line.
			const line = "FaultInjectL2Adapter ACTIVE (rate=0.000 seed=0 gap_indices=[] gap_tail_ratios=[0.5]) wrapping FSNativeL2Adapter -- test/diagnostic use only."
			m := warnRecordRE.FindStringSubmatch(errOut.String())
			if m == nil {
				t.Fatalf("server stderr = %q, want exactly one slog record matching %s", errOut, warnRecordRE)
			}
			if msg, err := strconv.Unquote(m[1]); err != nil || msg != line {
				t.Fatalf("logged message %s, want the start-up line %q", m[1], line)
			}

			var bout, berr bytes.Buffer
			if c := run(context.Background(), "faultbox chunkcache", []string{"bench", "--server", url}, &bout, &berr); c != 0 {
				t.Fatalf("bench exited %d: %s", c, berr.String())
			}
			// The first lines stay what README.md and docs/chunkcache.md quote; the report follows.
			lines := strings.Split(bout.String(), "\n")
			if !strings.HasPrefix(lines[0], "chunkcache bench: "+url+", policy ") || lines[1] != tc.want {
				t.Fatalf("bench output:\n%s\nwant a second line %q", bout.String(), tc.want)
			}
			for _, want := range []string{"\nfaultbox chunkcache bench  target " + url, "  seed 1\n", "faults: none\n",
				"ok    payloads verified", "verdict: pass\n", "replay: faultbox chunkcache bench --server " + url + " --chunks 8 "} {
				if !strings.Contains(bout.String(), want) {
					t.Errorf("bench output lacks %q:\n%s", want, bout.String())
				}
			}

			bout.Reset()
			if c := run(context.Background(), "chunkcache", []string{"bench", "--server", url, "--seed", "0x1", "--json"}, &bout, &berr); c != 0 {
				t.Fatalf("bench --json exited %d: %s", c, berr.String())
			}
			var r fault.Report
			dec := json.NewDecoder(strings.NewReader(bout.String()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil || dec.More() {
				t.Fatalf("bench --json: not one report: %v\n%s", err, bout.String())
			}
			figs := map[string]string{}
			for _, f := range r.Figures {
				figs[f.Name] = f.Value
			}
			if r.Command != "chunkcache bench" || r.Seed == nil || *r.Seed != 1 || r.Verdict != fault.Pass || r.FaultTotal() != 0 ||
				figs["reused tokens"] != tc.reused || figs["verified chunks"] == "" || figs["elapsed"] == "" ||
				len(r.Checks) != 1 || !r.Checks[0].OK {
				t.Errorf("bench --json: %+v", r)
			}

			cancel()
			select {
			case c := <-code:
				if c != 0 {
					t.Fatalf("server exited %d after cancel: %s", c, errOut)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("server did not stop after cancel")
			}
		})
	}
}

// Usage errors name the command as typed, go to stderr only, and exit 2; help goes to
// stdout and exits 0.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"chunkcache", nil, 2, "", "chunkcache: no command given"},
		{"faultbox chunkcache", []string{"frob"}, 2, "", `faultbox chunkcache: unknown command "frob": want one of server, bench, adapters`},
		{"chunkcache", []string{"server", "--l2-adapter", `{"type":"memory","x":1}`}, 2, "",
			"chunkcache server: --l2-adapter: l2 adapter #1 (memory): field \"x\": unknown field; expected one of capacity_bytes, type\nusage: chunkcache server --l2-adapter JSON"},
		{"faultbox chunkcache", []string{"server", "--l2-adapter", `{"type":"nope"}`}, 2, "",
			`faultbox chunkcache server: --l2-adapter: l2 adapter #1: field "type": unknown adapter type "nope"`},
		{"chunkcache", []string{"server", "-h"}, 0, "usage: chunkcache server --l2-adapter JSON", ""},
		{"faultbox chunkcache", []string{"server", "--help"}, 0, "usage: faultbox chunkcache server --l2-adapter JSON", ""},
		{"faultbox chunkcache", []string{"bench", "-help"}, 0, "usage: faultbox chunkcache bench --server URL [flags]", ""},
		{"chunkcache", []string{"bench", "--server", "http://x", "--seed", "0x1g"}, 2, "", `chunkcache bench: invalid value "0x1g" for flag -seed`},
		{"chunkcache", []string{"adapters", "extra"}, 2, "", `chunkcache adapters: unexpected argument "extra"`},
		{"chunkcache", []string{"adapters"}, 0, "gap_tail_ratios", ""},
		{"faultbox chunkcache", []string{"adapters"}, 0, "fault_inject:", ""},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.name, tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.err) ||
			(tc.out == "" && out.Len() != 0) || (tc.err == "" && errOut.Len() != 0) {
			t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want %d, stdout with %q, stderr with %q",
				tc.name, tc.args, code, out.String(), errOut.String(), tc.code, tc.out, tc.err)
		}
	}
}

// parseServer parses the server's flags as the command does, without an Env.
func parseServer(args []string) (chunkcache.ServerConfig, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var specs []string
	cfg := serverFlags(fs, &specs)
	if err := fs.Parse(args); err != nil {
		return chunkcache.ServerConfig{}, err
	}
	err := checkServer(cfg, specs, fs.Args())
	return *cfg, err
}

// parseBench parses the bench's flags as the command does, without an Env.
func parseBench(args []string) (chunkcache.BenchConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, _ := benchFlags(fs)
	if err := fs.Parse(args); err != nil {
		return chunkcache.BenchConfig{}, err
	}
	err := checkBench(cfg, fs.Args())
	return *cfg, err
}

func TestServerFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseServer([]string{"--l2-adapter", `{"type":"memory"}`, "--l2-adapter", `{"type":"fs","base_path":"/x"}`,
		"--enable-segmented-prefix", "--chunk-size", "16", "--l1-capacity-bytes", "1024", "--max-request-bytes", "4096"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Adapters) != 2 || cfg.Adapters[1].Type() != "fs" || cfg.Policy() != chunkcache.PolicySegmentedPrefix ||
		cfg.ChunkSize != 16 || cfg.L1CapacityBytes != 1024 || cfg.MaxRequestBytes != 4096 || cfg.Listen != chunkcache.DefaultListen {
		t.Fatalf("config %+v", cfg)
	}
	if cfg, err := parseServer([]string{"--l2-adapter", `{"type":"memory"}`}); err != nil || cfg.MaxRequestBytes != chunkcache.DefaultMaxRequestBytes {
		t.Fatalf("defaults: MaxRequestBytes %d, %v; want %d", cfg.MaxRequestBytes, err, chunkcache.DefaultMaxRequestBytes)
	}
	mem := []string{"--l2-adapter", `{"type":"memory"}`}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{}, "--l2-adapter: expected at least one adapter spec (see the adapters command)"},
		{[]string{"--l2-adapter", `{"type":"memory"}`, "--l2-adapter", `{"type":"fault_inject","inner":{"type":"memory"},"rate":1.5}`},
			`--l2-adapter: l2 adapter #2 (fault_inject): field "rate": rate must be a number in [0, 1], got 1.5`},
		{append(mem, "--chunk-size", "-1"), "--chunk-size -1: expected an integer in [1, 1048576] (0 for 256)"},
		{append(mem, "--l1-capacity-bytes", "-1"), "--l1-capacity-bytes -1: expected an integer ≥ 0 (0 for no L1)"},
		{append(mem, "--max-chunk-bytes", "1073741825"), "--max-chunk-bytes 1073741825: expected an integer in [1, 1073741824] (0 for 4194304)"},
		{append(mem, "--max-request-bytes", "1023"), "--max-request-bytes 1023: expected an integer in [1024, 68719476736] (0 for 268435456)"},
		{append(mem, "--listen", "localhost"), `--listen "localhost": expected host:port, such as 127.0.0.1:7420`},
		{append(mem, "extra"), `unexpected argument "extra": expected only flags`},
	}
	for _, b := range bad {
		_, err := parseServer(b.args)
		if err == nil || err.Error() != b.want {
			t.Errorf("server %q\n got: %v\nwant: %s", b.args, err, b.want)
		}
	}
}

// --seed parses through fault.Seed: decimal or 0x hex.
func TestBenchFlags(t *testing.T) {
	t.Parallel()
	for _, seed := range []string{"42", "0x2a", "0X2A"} {
		cfg, err := parseBench([]string{"--server", "http://127.0.0.1:7420/", "--seed", seed})
		if err != nil || cfg.Seed != 42 || cfg.Server != "http://127.0.0.1:7420" || cfg.Chunks != 8 {
			t.Errorf("--seed %s: %+v, %v; want seed 42, the URL without its slash", seed, cfg, err)
		}
	}
	for _, b := range []struct {
		args []string
		want string
	}{
		{nil, `--server "": expected an http:// URL such as http://127.0.0.1:7420`},
		{[]string{"--server", "127.0.0.1:7420"}, `--server "127.0.0.1:7420": expected an http:// URL such as http://127.0.0.1:7420`},
		{[]string{"--server", "http://x", "--requests", "0"}, "--requests 0: expected an integer in [1, 1048576]"},
		{[]string{"--server", "http://x", "--concurrency", "1025"}, "--concurrency 1025: expected an integer in [1, 1024]"},
		{[]string{"--server", "http://x", "--payload-bytes", "0"}, "--payload-bytes 0: expected an integer in [1, 67108864]"},
		{[]string{"--server", "http://x", "x"}, `unexpected argument "x": expected only flags`},
	} {
		_, err := parseBench(b.args)
		if err == nil || err.Error() != b.want {
			t.Errorf("bench %q\n got: %v\nwant: %s", b.args, err, b.want)
		}
	}
}

// FuzzServerFlags: the server's command line never panics, and a parsed config is valid.
func FuzzServerFlags(f *testing.F) {
	f.Add("--l2-adapter\x00{\"type\":\"memory\"}\x00--chunk-size\x00256")
	f.Add("--l2-adapter\x00{\"type\":\"fault_inject\",\"inner\":{\"type\":\"memory\"}}\x00--enable-segmented-prefix\x00--listen\x00127.0.0.1:0")
	f.Add("--chunk-size\x00-1")
	f.Add("--l1-capacity-bytes\x00x\x00--listen\x00nohost")
	f.Fuzz(func(t *testing.T, joined string) {
		cfg, err := parseServer(strings.Split(joined, "\x00"))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if cfg.Validate() != nil || len(cfg.Adapters) == 0 || len(cfg.Adapters) != len(cfg.AdapterSpecs) {
			t.Fatalf("accepted an invalid config %+v", cfg)
		}
	})
}

// FuzzBenchFlags: the bench command line never panics, and a parsed config is valid.
func FuzzBenchFlags(f *testing.F) {
	f.Add("--server\x00http://127.0.0.1:7420\x00--chunks\x008")
	f.Add("--server\x00ftp://x")
	f.Add("--requests\x000\x00--seed\x000xff")
	f.Fuzz(func(t *testing.T, joined string) {
		cfg, err := parseBench(strings.Split(joined, "\x00"))
		if err != nil {
			return
		}
		if cfg.Validate() != nil {
			t.Fatalf("accepted an invalid config %+v", cfg)
		}
	})
}
