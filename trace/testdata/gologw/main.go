// Command gologw writes 300 log lines to stdout, one write each, from a goroutine that is not
// locked to its thread while others keep the CPUs busy, so the writes move between OS
// threads. It reports the first failed write on stderr ("gologw: line N: ERR") and exits 3;
// otherwise it says on stderr how many threads made the writes. The trace package's tests
// count its writes per process (count=process) and per thread.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
)

func main() {
	runtime.GOMAXPROCS(4)
	var stop atomic.Bool
	for g := 0; g < 3; g++ {
		go func() {
			x := uint64(g)
			for !stop.Load() {
				for j := 0; j < 100_000; j++ {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
		}()
	}
	tids := map[int]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ping := make(chan int)
		go func() {
			for i := range ping {
				_ = i
			}
		}()
		for i := 1; i <= 300; i++ {
			tids[syscall.Gettid()] = true
			if _, err := fmt.Fprintf(os.Stdout, "line %d\n", i); err != nil {
				fmt.Fprintf(os.Stderr, "gologw: line %d: %v\n", i, err)
				os.Exit(3)
			}
			ping <- i
			runtime.Gosched()
		}
		close(ping)
	}()
	<-done
	stop.Store(true)
	fmt.Fprintf(os.Stderr, "gologw: threads %d\n", len(tids))
}
