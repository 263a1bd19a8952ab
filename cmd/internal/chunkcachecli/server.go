package chunkcachecli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/faultbox/faultbox/chunkcache"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
)

func serverCommand(newContext func() (context.Context, context.CancelFunc)) *cli.Command {
	return &cli.Command{
		Name:    "server",
		Summary: "Serve a chunk cache (L1 in memory, then a cascade of L2 adapters) over HTTP until interrupted.",
		Args:    "--l2-adapter JSON [--l2-adapter JSON ...] [flags]",
		Details: `Each --l2-adapter is one JSON spec, such as {"type":"memory"} or
{"type":"fault_inject","inner":{"type":"fs_native","base_path":"/tmp/cc"},"gap_tail_ratios":[0.5]};
'adapters' lists the types and their fields. The server prints "chunkcache: listening on
http://ADDR" on stdout and logs to stderr; the HTTP API is described in docs/chunkcache.md.`,
		Exits: []cli.Exit{
			{Code: fault.ExitPass, Meaning: "the server stopped on SIGINT or SIGTERM"},
			{Code: fault.ExitFail, Meaning: "the server could not start (an adapter, the address) or failed while serving"},
			cli.UsageExit,
		},
		Run: func(e *cli.Env, args []string) int {
			fs := e.FlagSet()
			var specs []string
			cfg := serverFlags(fs, &specs)
			pos, code, ok := e.Parse(fs, args)
			if !ok {
				return code
			}
			if err := checkServer(cfg, specs, pos); err != nil {
				return e.UsageError(fs, "%v", err)
			}
			ctx, stop := newContext()
			defer stop()
			if err := chunkcache.Serve(ctx, *cfg, e.Stdout, e.Stderr); err != nil {
				return e.Fail("%v", err)
			}
			return fault.ExitPass
		},
	}
}

// serverFlagOf names the flag each ServerConfig field comes from.
var serverFlagOf = map[string]string{
	"ChunkSize":       "chunk-size",
	"L1CapacityBytes": "l1-capacity-bytes",
	"MaxChunkBytes":   "max-chunk-bytes",
	"MaxRequestBytes": "max-request-bytes",
	"Listen":          "listen",
}

// serverFlags defines the flags of 'chunkcache server' on fs; the specs of --l2-adapter go
// to specs, the rest to the config it returns.
func serverFlags(fs *flag.FlagSet, specs *[]string) *chunkcache.ServerConfig {
	cfg := &chunkcache.ServerConfig{}
	fs.Func("l2-adapter", "L2 adapter spec as a `JSON` object (repeatable; cascade order)", func(s string) error {
		*specs = append(*specs, s)
		return nil
	})
	fs.BoolVar(&cfg.SegmentedPrefix, "enable-segmented-prefix", false, "keep loaded chunks after a gap (SEGMENTED_PREFIX) instead of truncating at it (PREFIX)")
	fs.IntVar(&cfg.ChunkSize, "chunk-size", chunkcache.DefaultChunkSize, "tokens per chunk `N`")
	fs.Int64Var(&cfg.L1CapacityBytes, "l1-capacity-bytes", 0, "capacity `N` of the L1 tier in process memory (0 = no L1)")
	fs.IntVar(&cfg.MaxChunkBytes, "max-chunk-bytes", chunkcache.DefaultMaxChunkBytes, "largest payload of one chunk, `N` bytes")
	fs.Int64Var(&cfg.MaxRequestBytes, "max-request-bytes", chunkcache.DefaultMaxRequestBytes, "largest HTTP request body, `N` bytes")
	fs.StringVar(&cfg.Listen, "listen", chunkcache.DefaultListen, "`host:port` to listen on")
	return cfg
}

// checkServer parses the adapter specs into cfg and validates it, without touching files or
// the network; its errors name the flag, the value and what was expected.
func checkServer(cfg *chunkcache.ServerConfig, specs, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q: expected only flags", pos[0])
	}
	if len(specs) == 0 {
		return errors.New("--l2-adapter: expected at least one adapter spec (see the adapters command)")
	}
	adapters, err := chunkcache.DefaultRegistry().ParseAll(specs)
	if err != nil {
		return fmt.Errorf("--l2-adapter: %w", err)
	}
	cfg.Adapters, cfg.AdapterSpecs = adapters, specs
	return asFlag(cfg.Validate(), serverFlagOf)
}
