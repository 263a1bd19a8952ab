//go:build !failpoint_off

package failpoint

// compiledOut is false in ordinary builds: fail points work. Build with -tags failpoint_off to
// compile every site down to nothing (see off.go).
const compiledOut = false
