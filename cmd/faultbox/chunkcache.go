package main

import "github.com/faultbox/faultbox/cmd/internal/chunkcachecli"

// 'faultbox chunkcache' is the command tree of the chunkcache binary, named as typed here.
func init() {
	register(chunkcachecli.Command(nil))
}
