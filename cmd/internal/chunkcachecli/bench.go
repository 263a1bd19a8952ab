package chunkcachecli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/faultbox/faultbox/chunkcache"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
)

func benchCommand(newContext func() (context.Context, context.CancelFunc)) *cli.Command {
	return &cli.Command{
		Name:    "bench",
		Summary: "Store then retrieve token sequences on a chunkcache server, count the tokens reused and recomputed, and verify every reused payload byte for byte.",
		Args:    "--server URL [flags]",
		Details: `Tokens and payloads derive from --seed: one seed, one workload, every run. The text
output starts with the bench's own lines (reused tokens, recomputed ranges, the chunk map
of the first request), then the fault report; --json prints only the report, as JSON.
Faults are the server's business: the client knows of none (see GET /v1/faults).`,
		Exits: []cli.Exit{
			{Code: fault.ExitPass, Meaning: "pass: every reused payload came back byte for byte"},
			{Code: fault.ExitFail, Meaning: "the server could not be reached, answered an error, or a reused payload differed"},
			cli.UsageExit,
			{Code: fault.ExitEmpty, Meaning: "empty: no chunk was reused, so no payload was checked"},
		},
		Run: func(e *cli.Env, args []string) int {
			fs := e.FlagSet()
			cfg, asJSON := benchFlags(fs)
			pos, code, ok := e.Parse(fs, args)
			if !ok {
				return code
			}
			if err := checkBench(cfg, pos); err != nil {
				return e.UsageError(fs, "%v", err)
			}
			ctx, stop := newContext()
			defer stop()
			res, err := chunkcache.RunBench(ctx, *cfg)
			if err != nil {
				return e.Fail("%v", err)
			}
			r := res.Report(e.Path, cfg.Seed)
			r.Replay = e.Path + " " + shellquote.Quote(benchReplay(cfg)...)
			if *asJSON {
				if err := r.WriteJSON(e.Stdout); err != nil {
					return e.Fail("write report: %v", err)
				}
				return r.Verdict.ExitCode()
			}
			var b strings.Builder
			res.WriteText(&b)
			b.WriteString("\n")
			if err := r.WriteText(&b); err != nil {
				return e.Fail("write report: %v", err)
			}
			if _, err := fmt.Fprint(e.Stdout, b.String()); err != nil {
				return e.Fail("write report: %v", err)
			}
			return r.Verdict.ExitCode()
		},
	}
}

// benchFlagOf names the flag each BenchConfig field comes from.
var benchFlagOf = map[string]string{
	"Server":       "server",
	"Chunks":       "chunks",
	"PayloadBytes": "payload-bytes",
	"Requests":     "requests",
	"Concurrency":  "concurrency",
}

// benchFlags defines the flags of 'chunkcache bench' on fs.
func benchFlags(fs *flag.FlagSet) (cfg *chunkcache.BenchConfig, asJSON *bool) {
	cfg = &chunkcache.BenchConfig{Seed: 1}
	fs.StringVar(&cfg.Server, "server", "", "server base `URL`, e.g. http://"+chunkcache.DefaultListen)
	fs.IntVar(&cfg.Chunks, "chunks", 8, "chunks `N` per token sequence")
	fs.IntVar(&cfg.PayloadBytes, "payload-bytes", 4096, "`N` bytes per chunk payload")
	fs.IntVar(&cfg.Requests, "requests", 1, "distinct token sequences `N` to store then retrieve")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "clients `N` in parallel")
	fs.Var(&cfg.Seed, "seed", "seed `N` of the tokens and payloads, decimal or 0x hex")
	fs.StringVar(&cfg.Model, "model", "bench", "model `name` in the keys")
	asJSON = fs.Bool("json", false, "print the fault report as JSON on stdout, and nothing else there")
	return cfg, asJSON
}

// checkBench validates cfg; its errors name the flag, the value and what was expected.
func checkBench(cfg *chunkcache.BenchConfig, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q: expected only flags", pos[0])
	}
	if err := cfg.Validate(); err != nil {
		return asFlag(err, benchFlagOf)
	}
	cfg.Server = strings.TrimSuffix(cfg.Server, "/")
	return nil
}

// benchReplay is the flags that run cfg again.
func benchReplay(cfg *chunkcache.BenchConfig) []string {
	return []string{"--server", cfg.Server, "--chunks", strconv.Itoa(cfg.Chunks), "--payload-bytes", strconv.Itoa(cfg.PayloadBytes),
		"--requests", strconv.Itoa(cfg.Requests), "--concurrency", strconv.Itoa(cfg.Concurrency),
		"--seed", cfg.Seed.String(), "--model", cfg.Model}
}
