package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultbox/faultbox/chunkcache"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := chunkcache.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
