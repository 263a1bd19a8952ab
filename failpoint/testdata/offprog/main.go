// Command offprog is built by TestBuildTagOff with -tags failpoint_off: its guarded function
// must compile to a plain return, with no trace of the fail point.
package main

import (
	"errors"
	"os"

	"github.com/faultbox/faultbox/failpoint"
)

var site = failpoint.New("offprog/site")

//go:noinline
func guarded() error {
	if v, ok := site.Eval(); ok {
		return errors.New("injected " + v)
	}
	if err := site.Err(); err != nil {
		return err
	}
	return nil
}

func main() {
	if guarded() != nil {
		os.Exit(1)
	}
}
