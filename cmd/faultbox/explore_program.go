package main

import (
	"fmt"

	"github.com/faultbox/faultbox/explore"
)

// programTarget makes the exploration target for a real program given after --.
func programTarget(a *exploreArgs, argv []string) (explore.Target, error) {
	return nil, fmt.Errorf("unexpected argument %q: exploring a real program (-- PROG ARGS) is not built yet", argv[0])
}
