//go:build !unix

package disk

func cpuTime() (int64, bool) { return 0, false }
