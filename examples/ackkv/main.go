// Command ackkv is a tiny key-value store with a time-of-fault bug, for 'faultbox explore'
// on a real program: its server acknowledges a put before it writes the put to its log, so a
// crash (or a failed write) between the reply and the log write loses a write the client was
// told is safe. Nothing else loses one, and a run without faults never does.
//
//	ackkv demo [-n N] [-fixed] [-timeout D] DIR   the client: starts the server, puts N keys, records each acknowledged put in DIR/acked
//	ackkv serve [-fixed] DIR                      the server (started by demo): appends each put to DIR/log
//	ackkv check DIR                               every acknowledged put is in DIR/log (exit 0), else exit 1
//
// -fixed writes and syncs the log before replying: the correct order.
//
// Each process does all its I/O on its main goroutine, locked to the main thread, so that
// per-thread call counts (what a fault rule's when= counts) are the same from run to run.
//
// Explore it (see docs/explore.md):
//
//	go build -o ackkv ./examples/ackkv
//	faultbox explore --strategy aimed --runs 100 --label server=serve --label client=demo \
//	    --check './ackkv check /tmp/ackkv' -- ./ackkv demo /tmp/ackkv
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ackkv demo|serve|check [flags] DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "demo":
		err = demo(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "check":
		err = check(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q: want demo, serve or check", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ackkv "+os.Args[1]+":", err)
		os.Exit(1)
	}
}

func dirArg(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", fmt.Errorf("want one directory argument, got %q", fs.Args())
	}
	return fs.Arg(0), nil
}

// demo is the client: it owns the listening socket (handed to the server, so that there is
// no race to connect), puts n keys one at a time and appends each acknowledged one to acked.
func demo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("n", 3, "puts to make")
	fixed := fs.Bool("fixed", false, "start the server with the correct order (log, sync, then reply)")
	timeout := fs.Duration("timeout", 250*time.Millisecond, "how long to wait for a reply")
	dir, err := dirArg(fs, args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"log", "acked", "sock"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "sock"), Net: "unix"})
	if err != nil {
		return err
	}
	ln.SetUnlinkOnClose(false) // the server listens on it from here on
	lf, err := ln.File()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sargs := []string{"serve"}
	if *fixed {
		sargs = append(sargs, "-fixed")
	}
	srv := exec.Command(self, append(sargs, dir)...)
	srv.Stdout, srv.Stderr, srv.ExtraFiles = os.Stdout, os.Stderr, []*os.File{lf}
	if err := srv.Start(); err != nil {
		return err
	}
	lf.Close()
	ln.Close()
	err = puts(dir, *n, *timeout)
	if werr := srv.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("server: %w", werr)
	}
	return err
}

func puts(dir string, n int, timeout time.Duration) error {
	conn, err := net.Dial("unix", filepath.Join(dir, "sock"))
	if err != nil {
		return err
	}
	defer conn.Close()
	acked, err := os.OpenFile(filepath.Join(dir, "acked"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer acked.Close()
	r := bufio.NewReader(conn)
	for i := 1; i <= n; i++ {
		kv := fmt.Sprintf("k%d=v%d", i, i)
		if _, err := conn.Write([]byte("put " + kv + "\n")); err != nil {
			return fmt.Errorf("put %s: %w", kv, err)
		}
		conn.SetReadDeadline(time.Now().Add(timeout))
		reply, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("put %s: no reply: %w", kv, err)
		}
		if reply != "ok\n" {
			return fmt.Errorf("put %s: server says %q", kv, strings.TrimSpace(reply))
		}
		if _, err := acked.Write([]byte(kv + "\n")); err != nil {
			return fmt.Errorf("record ack of %s: %w", kv, err)
		}
	}
	return nil
}

// serve answers one client. The bug: it replies before the put is in the log.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fixed := fs.Bool("fixed", false, "write and sync the log before replying")
	dir, err := dirArg(fs, args)
	if err != nil {
		return err
	}
	fl, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		return err
	}
	ln := fl.(*net.UnixListener)
	ln.SetDeadline(time.Now().Add(500 * time.Millisecond)) // a client that died before it connected
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	appendLog := func(kv string) error {
		if _, err := log.Write([]byte(kv + "\n")); err != nil {
			return fmt.Errorf("log %s: %w", kv, err)
		}
		return log.Sync()
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if errors.Is(err, net.ErrClosed) || line == "" {
			return nil // the client is done (or gone)
		}
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "put ")
		if !ok {
			conn.Write([]byte("error: want put K=V\n"))
			continue
		}
		if *fixed {
			if err := appendLog(kv); err != nil {
				conn.Write([]byte("error: " + err.Error() + "\n"))
				return err
			}
			if _, err := conn.Write([]byte("ok\n")); err != nil {
				return err
			}
			continue
		}
		if _, err := conn.Write([]byte("ok\n")); err != nil { // the bug: acknowledged...
			return err
		}
		if err := appendLog(kv); err != nil { // ...before it is durable
			return err
		}
	}
}

// check is what a restarted server would recover (the log) against what the client was told
// (acked): every acknowledged put must be in the log.
func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	dir, err := dirArg(fs, args)
	if err != nil {
		return err
	}
	log, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	acked, err := os.ReadFile(filepath.Join(dir, "acked"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(log), "\n") {
		have[l] = true
	}
	var lost []string
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(string(acked)), "\n") {
		if l == "" {
			continue
		}
		n++
		if !have[l] {
			lost = append(lost, l)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%d of %d acknowledged puts lost: %s", len(lost), n, strings.Join(lost, " "))
	}
	fmt.Printf("ok: all %d acknowledged puts are in the log\n", n)
	return nil
}
