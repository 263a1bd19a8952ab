// Command failpoint is the demo of package failpoint: a toy write-ahead log whose sync has a
// fail point, driven by FAILPOINTS, FAILPOINTS_SEED and, with -serve, FAILPOINTS_HTTP.
//
//	FAILPOINTS='demo/wal/sync=25%return(EIO)' FAILPOINTS_SEED=42 go run ./examples/failpoint
package main
