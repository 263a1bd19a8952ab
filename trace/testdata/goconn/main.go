// Command goconn makes N rounds of connect, accept, write and read on loopback TCP (N is its
// argument) and prints the bytes moved; the trace package's tests run it under faultbox to
// check that naming sockets does not grow with the sockets left in TIME_WAIT.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "goconn: N:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "goconn:", err)
		os.Exit(1)
	}
	total := 0
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fmt.Fprintln(os.Stderr, "goconn: dial:", err)
			os.Exit(1)
		}
		s, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "goconn: accept:", err)
			os.Exit(1)
		}
		if _, err := c.Write([]byte("ping")); err != nil {
			fmt.Fprintln(os.Stderr, "goconn: write:", err)
			os.Exit(1)
		}
		c.Close() // the dialer closes first: its side goes to TIME_WAIT
		b, _ := io.ReadAll(s)
		total += len(b)
		s.Close()
	}
	fmt.Println(total)
}
