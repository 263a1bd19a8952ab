package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultbox/faultbox/chunkcache"
)

func init() {
	register(command{
		name:    "chunkcache",
		summary: "tiered chunk cache server and bench, with the fault_inject L2 adapter",
		run: func(args []string, stdout, stderr io.Writer) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return chunkcache.Main(ctx, args, stdout, stderr)
		},
	})
}
