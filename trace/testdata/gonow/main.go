// Command gonow prints the wall clock in seconds (time.Now, which Go's runtime reads through
// the vDSO when the process has one); the trace package's tests run it under --clock-skew
// with and without the vDSO hidden.
package main

import (
	"fmt"
	"time"
)

func main() {
	fmt.Println(time.Now().Unix())
}
