//go:build linux

package trace

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Endpoint is what a file descriptor refers to: its kind and, for sockets, its addresses.
type Endpoint struct {
	Kind   string `json:"kind"` // tcp, udp, unix, pipe, file, sock (a socket not yet bound), other
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	Path   string `json:"path,omitempty"`
	Inode  uint64 `json:"inode,omitempty"`
	peer   uint64 // the other end of a unix socket, from sock_diag
	listen bool   // a listening socket: its addresses no longer change
}

func (e *Endpoint) isSocket() bool {
	return e.Kind == "tcp" || e.Kind == "udp" || e.Kind == "unix" || e.Kind == "sock"
}

// endpoints resolves (process, fd) to an Endpoint through /proc and caches sockets by inode.
type endpoints struct {
	byInode map[uint64]*Endpoint
	links   map[int]map[int]string // tgid → fd → /proc/PID/fd/FD link target
	files   map[string]*Endpoint
	diag    int // netlink sock_diag socket, or -1
	// tableReads counts reads of /proc/PID/net tables, the slow path (each read is linear in
	// the number of sockets on the machine); sockets are named through a duplicate of the fd.
	tableReads int
}

func newEndpoints() *endpoints {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		fd = -1
	}
	return &endpoints{byInode: map[uint64]*Endpoint{}, links: map[int]map[int]string{},
		files: map[string]*Endpoint{}, diag: fd}
}

func (es *endpoints) close() {
	if es.diag >= 0 {
		unix.Close(es.diag)
	}
}

// resolve names fd of thread tid. fresh forces a new look at the socket tables (after connect,
// bind or accept the addresses change).
func (es *endpoints) resolve(tgid, tid, fd int, fresh bool) *Endpoint {
	link, err := os.Readlink("/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return nil
	}
	return es.fromLink(tgid, tid, fd, link, fresh)
}

// resolveCached is resolve with the fd's link target remembered per process: the tracer
// forgets it when the process closes or replaces that fd, or executes a new program.
func (es *endpoints) resolveCached(tgid, tid, fd int) *Endpoint {
	fds := es.links[tgid]
	if fds == nil {
		fds = map[int]string{}
		es.links[tgid] = fds
	}
	link, ok := fds[fd]
	if !ok {
		var err error
		link, err = os.Readlink("/proc/" + strconv.Itoa(tid) + "/fd/" + strconv.Itoa(fd))
		if err != nil {
			return nil
		}
		fds[fd] = link
	}
	return es.fromLink(tgid, tid, fd, link, false)
}

func (es *endpoints) forget(tgid, fd int) {
	if fd < 0 {
		delete(es.links, tgid)
		return
	}
	delete(es.links[tgid], fd)
}

func (es *endpoints) fromLink(tgid, tid, fd int, link string, fresh bool) *Endpoint {
	inode := func(prefix string) (uint64, bool) {
		if !strings.HasPrefix(link, prefix) || !strings.HasSuffix(link, "]") {
			return 0, false
		}
		n, err := strconv.ParseUint(link[len(prefix):len(link)-1], 10, 64)
		return n, err == nil
	}
	if ino, ok := inode("pipe:["); ok {
		return &Endpoint{Kind: "pipe", Inode: ino}
	}
	ino, ok := inode("socket:[")
	if !ok {
		if f, ok := es.files[link]; ok {
			return f
		}
		e := &Endpoint{Kind: "other", Path: link}
		if strings.HasPrefix(link, "/") {
			e.Kind = "file"
		}
		if len(es.files) < 4096 {
			es.files[link] = e
		}
		return e
	}
	// Sockets are looked up again until they are complete: an unbound socket has no address
	// yet, a connected TCP socket gains its remote address, a unix socket its peer. A
	// listening socket is complete: it never gains a remote address.
	if e, ok := es.byInode[ino]; ok && !fresh && e.complete() {
		return e
	}
	e := es.sockByFd(tgid, fd, ino)
	if e == nil {
		e = es.lookupSocket(tid, ino)
	}
	if old, ok := es.byInode[ino]; ok && e.peer == 0 && old.peer != 0 {
		e.peer = old.peer
	}
	es.byInode[ino] = e
	if e.peer != 0 {
		if p, ok := es.byInode[e.peer]; ok && p.peer == 0 {
			p.peer = ino
		}
	}
	return e
}

func (e *Endpoint) complete() bool {
	switch e.Kind {
	case "sock":
		return false
	case "tcp":
		return e.Remote != "" || e.listen
	case "unix":
		return e.peer != 0 || e.listen
	}
	return true
}

// sockByFd names a socket from a duplicate of the tracee's fd (pidfd_getfd(2)): its family,
// type and addresses, at a constant cost however many sockets the machine has. It returns nil
// when the kernel cannot duplicate the fd (before Linux 5.6, or the process is gone), and the
// caller falls back to the /proc tables.
func (es *endpoints) sockByFd(tgid, fd int, ino uint64) *Endpoint {
	if tgid <= 0 || fd < 0 {
		return nil
	}
	pfd, err := unix.PidfdOpen(tgid, 0)
	if err != nil {
		return nil
	}
	dup, err := unix.PidfdGetfd(pfd, fd, 0)
	unix.Close(pfd)
	if err != nil {
		return nil
	}
	defer unix.Close(dup)
	var st unix.Stat_t
	if unix.Fstat(dup, &st) != nil || st.Ino != ino {
		return nil // the fd was replaced between the readlink and now
	}
	domain, err1 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_DOMAIN)
	typ, err2 := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_TYPE)
	if err1 != nil || err2 != nil {
		return nil
	}
	acc, _ := unix.GetsockoptInt(dup, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	e := &Endpoint{Kind: "sock", Inode: ino, listen: acc == 1}
	switch domain {
	case unix.AF_INET, unix.AF_INET6:
		switch typ {
		case unix.SOCK_STREAM:
			e.Kind = "tcp"
		case unix.SOCK_DGRAM:
			e.Kind = "udp"
		default:
			return e
		}
		sa, err := unix.Getsockname(dup)
		if err != nil {
			return nil
		}
		e.Local = inetString(sa)
		if strings.HasSuffix(e.Local, ":0") {
			// Not bound yet: as in the tables, where an unbound socket does not appear.
			return &Endpoint{Kind: "sock", Inode: ino}
		}
		if pa, err := unix.Getpeername(dup); err == nil {
			e.Remote = inetString(pa)
			if strings.HasSuffix(e.Remote, ":0") {
				e.Remote = ""
			}
		}
		return e
	case unix.AF_UNIX:
		e.Kind = "unix"
		if sa, err := unix.Getsockname(dup); err == nil {
			if u, ok := sa.(*unix.SockaddrUnix); ok {
				e.Path = u.Name
			}
		}
		e.peer = es.unixPeer(ino)
		return e
	}
	return e
}

// inetString writes an IPv4 or IPv6 socket address as the /proc tables read by procAddr do:
// an IPv4-mapped IPv6 address as plain IPv4.
func inetString(sa unix.Sockaddr) string {
	var ip net.IP
	var port int
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip, port = net.IP(a.Addr[:]), a.Port
	case *unix.SockaddrInet6:
		ip, port = net.IP(a.Addr[:]), a.Port
	default:
		return ""
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)) // String prints a v4-mapped address as IPv4
}

func (es *endpoints) lookupSocket(tid int, ino uint64) *Endpoint {
	base := "/proc/" + strconv.Itoa(tid) + "/net/"
	for _, t := range []struct{ file, kind string }{
		{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"},
	} {
		es.tableReads++
		if e := scanInet(base+t.file, t.kind, ino); e != nil {
			return e
		}
	}
	es.tableReads++
	if e := scanUnix(base+"unix", ino); e != nil {
		e.peer = es.unixPeer(ino)
		return e
	}
	return &Endpoint{Kind: "sock", Inode: ino}
}

func scanInet(file, kind string, ino uint64) *Endpoint {
	fs := scanTable(file, 9, ino)
	if fs == nil {
		return nil
	}
	e := &Endpoint{Kind: kind, Inode: ino, Local: procAddr(fs[1]), Remote: procAddr(fs[2]),
		listen: kind == "tcp" && fs[3] == "0A"} // TCP_LISTEN
	if strings.HasSuffix(e.Remote, ":0") {
		e.Remote = ""
	}
	return e
}

// scanTable returns the fields of the line of a /proc/PID/net table whose column inoCol
// holds inode ino, or nil when no line does (or the table cannot be read).
func scanTable(file string, inoCol int, ino uint64) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	want := strconv.FormatUint(ino, 10)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > inoCol && fs[inoCol] == want {
			return fs
		}
	}
	return nil
}

// procAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func procAddr(s string) string {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return ""
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return ""
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 { // each 32-bit word is in host (little-endian) order
		binary.BigEndian.PutUint32(ip[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	port, _ := strconv.ParseUint(p, 16, 16)
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}

func scanUnix(file string, ino uint64) *Endpoint {
	fs := scanTable(file, 6, ino)
	if fs == nil {
		return nil
	}
	e := &Endpoint{Kind: "unix", Inode: ino, listen: fs[3] == "00010000"} // __SO_ACCEPTCON
	if len(fs) >= 8 {
		e.Path = fs[7]
	}
	return e
}

// unixPeer asks sock_diag for the inode of the other end of a unix socket (0 if none).
func (es *endpoints) unixPeer(ino uint64) uint64 {
	if es.diag < 0 {
		return 0
	}
	const (
		sockDiagByFamily = 20
		udiagShowPeer    = 4
		unixDiagPeer     = 2
	)
	req := make([]byte, 16+24)
	binary.LittleEndian.PutUint32(req[0:], uint32(len(req)))
	binary.LittleEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.LittleEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	req[16] = unix.AF_UNIX
	binary.LittleEndian.PutUint32(req[20:], 0xffffffff) // all states
	binary.LittleEndian.PutUint32(req[24:], uint32(ino))
	binary.LittleEndian.PutUint32(req[28:], udiagShowPeer)
	binary.LittleEndian.PutUint32(req[32:], 0xffffffff)
	binary.LittleEndian.PutUint32(req[36:], 0xffffffff)
	if err := unix.Sendto(es.diag, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(es.diag, buf, 0)
	if err != nil || n < 16+16 {
		return 0
	}
	if binary.LittleEndian.Uint16(buf[4:]) != sockDiagByFamily {
		return 0
	}
	msgLen := int(binary.LittleEndian.Uint32(buf[0:]))
	if msgLen > n {
		msgLen = n
	}
	for off := 32; off+4 <= msgLen; {
		alen := int(binary.LittleEndian.Uint16(buf[off:]))
		atype := binary.LittleEndian.Uint16(buf[off+2:])
		if alen < 4 || off+alen > msgLen {
			break
		}
		if atype == unixDiagPeer && alen >= 8 {
			return uint64(binary.LittleEndian.Uint32(buf[off+4:]))
		}
		off += (alen + 3) &^ 3
	}
	return 0
}

// sockaddrString decodes a struct sockaddr read from a tracee.
func sockaddrString(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	switch binary.LittleEndian.Uint16(b) {
	case unix.AF_INET:
		if len(b) < 8 {
			return ""
		}
		return net.JoinHostPort(net.IP(b[4:8]).String(), strconv.Itoa(int(binary.BigEndian.Uint16(b[2:]))))
	case unix.AF_INET6:
		if len(b) < 24 {
			return ""
		}
		return net.JoinHostPort(net.IP(b[8:24]).String(), strconv.Itoa(int(binary.BigEndian.Uint16(b[2:]))))
	case unix.AF_UNIX:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			return "@" + strings.TrimRight(string(p[1:]), "\x00")
		}
		return unix.ByteSliceToString(p)
	}
	return fmt.Sprintf("family %d", binary.LittleEndian.Uint16(b))
}
