//go:build !linux

package main

import (
	"flag"
	"fmt"

	"github.com/faultbox/faultbox/explore"
)

// programArgs are empty: no program flags off Linux.
type programArgs struct{}

// programFlags registers nothing: real programs are traced on Linux only.
func programFlags(*flag.FlagSet, *exploreArgs) {}

// programTarget refuses: the tracer runs on Linux only.
func programTarget(_ *exploreArgs, argv []string) (explore.Target, error) {
	return nil, fmt.Errorf("-- %s: exploring a real program needs Linux (the tracer is Linux-only)", argv[0])
}
