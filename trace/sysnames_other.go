//go:build linux && !amd64 && !arm64

package trace

// sysNames is empty where faultbox has no system call table yet: every name is unknown.
var sysNames = map[int]string{}
