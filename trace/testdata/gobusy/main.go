// Command gobusy keeps several goroutines busy (so the Go runtime preempts them with signals)
// while they write to a pipe, then prints how many bytes went through: a Go target for the
// trace package's tests.
package main

import (
	"fmt"
	"io"
	"os"
	"sync"
)

func main() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	total := make(chan int)
	go func() {
		n, _ := io.Copy(io.Discard, r)
		total <- int(n)
	}()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			x := uint64(g)
			for i := 0; i < 20; i++ {
				for j := 0; j < 2_000_000; j++ { // long enough to be preempted asynchronously
					x = x*6364136223846793005 + 1442695040888963407
				}
				if _, err := w.Write([]byte{byte(x)}); err != nil {
					panic(err)
				}
			}
		}(g)
	}
	wg.Wait()
	w.Close()
	fmt.Println("bytes", <-total)
}
