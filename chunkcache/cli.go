package chunkcache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

const usageText = `usage:
  chunkcache server --l2-adapter JSON [--l2-adapter JSON ...] [--enable-segmented-prefix]
                    [--chunk-size 256] [--l1-capacity-bytes N] [--max-chunk-bytes N]
                    [--max-request-bytes N] [--listen 127.0.0.1:7420]
  chunkcache bench --server URL [--chunks 8] [--payload-bytes 4096] [--requests 1]
                   [--concurrency 1] [--seed 1] [--model bench] [--json]
  chunkcache adapters        list the adapter types and their spec fields
`

// Main runs the chunkcache command line (args without the program name) and returns the
// exit code: 0 on success, 1 on a failure at run time, 2 on bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText)
		return 0
	case "server":
		cfg, err := ParseServerFlags(args[1:], DefaultRegistry())
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if err := Serve(ctx, cfg, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "chunkcache server:", err)
			return 1
		}
		return 0
	case "bench":
		cfg, err := ParseBenchFlags(args[1:])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		rep, err := RunBench(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "chunkcache bench:", err)
			return 1
		}
		if cfg.JSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.WriteText(stdout)
		}
		return 0
	case "adapters":
		for _, t := range DefaultRegistry().Types() {
			fmt.Fprintf(stdout, "%s: %s\n", t.Name, t.Doc)
			for _, f := range t.Fields {
				def := "required"
				if f.Default != "" {
					def = "default " + f.Default
				}
				fmt.Fprintf(stdout, "  %-16s %s (%s): %s\n", f.Name, f.Type, def, f.Doc)
			}
		}
		return 0
	}
	fmt.Fprintf(stderr, "chunkcache: unknown command %q\n\n%s", args[0], usageText)
	return 2
}
