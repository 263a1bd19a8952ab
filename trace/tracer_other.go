//go:build linux && !amd64 && !arm64

package trace

import (
	"context"
	"errors"
	"runtime"
)

// Run is not implemented on this architecture yet: it needs a regs implementation, a seccomp
// audit architecture and a system call table.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	return nil, errors.New("trace: the tracer supports linux/amd64 and linux/arm64 only, not linux/" + runtime.GOARCH)
}
