//go:build failpoint_off

package failpoint

// compiledOut is true under the failpoint_off build tag: every evaluation is the constant
// "off", the compiler drops the code a site guards, and Enable, Configure and WaitHits return
// ErrCompiledOut.
const compiledOut = true
