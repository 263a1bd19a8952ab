//go:build linux

package trace

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnixPeerFromSockDiag(t *testing.T) {
	t.Parallel()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	es := newEndpoints()
	defer es.close()
	me := os.Getpid()
	a := es.resolve(me, me, fds[0], true)
	b := es.resolve(me, me, fds[1], true)
	if a == nil || b == nil || a.Kind != "unix" || b.Kind != "unix" {
		t.Fatalf("resolve: %+v %+v", a, b)
	}
	if a.peer != b.Inode || b.peer != a.Inode {
		t.Errorf("peers: %d→%d, %d→%d (want each other's inode)", a.Inode, a.peer, b.Inode, b.peer)
	}
}

// A listening socket is complete once named: looking it up again costs no table read, and
// TCP sockets are named from a duplicate of the fd, never from /proc/PID/net/tcp.
func TestListenerNamedOnceWithoutTables(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cf, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	es := newEndpoints()
	defer es.close()
	me := os.Getpid()
	l := es.resolve(me, me, int(lf.Fd()), true)
	if l == nil || l.Kind != "tcp" || l.Local != ln.Addr().String() || l.Remote != "" || !l.listen {
		t.Fatalf("listener: %+v, want tcp %s listening", l, ln.Addr())
	}
	for i := 0; i < 3; i++ {
		if again := es.resolveCached(me, me, int(lf.Fd())); again != l {
			t.Fatalf("listener looked up again: %+v", again)
		}
	}
	d := es.resolve(me, me, int(cf.Fd()), true)
	if d == nil || d.Kind != "tcp" || d.Remote != ln.Addr().String() || d.Local != c.LocalAddr().String() {
		t.Fatalf("dialer: %+v, want tcp %s → %s", d, c.LocalAddr(), ln.Addr())
	}
	if es.tableReads != 0 {
		t.Errorf("%d reads of /proc/PID/net tables, want 0 (sockets named through pidfd_getfd)", es.tableReads)
	}
}
