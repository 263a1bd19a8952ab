//go:build linux

package trace

import (
	"os"
	"strconv"
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
	a := es.resolve(me, fds[0], true)
	b := es.resolve(me, fds[1], true)
	if a == nil || b == nil || a.Kind != "unix" || b.Kind != "unix" {
		t.Fatalf("resolve: %+v %+v", a, b)
	}
	if a.peer != b.Inode || b.peer != a.Inode {
		t.Errorf("peers: %d→%d, %d→%d (want each other's inode)", a.Inode, a.peer, b.Inode, b.peer)
	}
	_ = strconv.Itoa
}
