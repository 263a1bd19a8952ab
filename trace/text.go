//go:build linux

package trace

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/sys/unix"
)

// TextOptions shape the text trace (Config.Text): strace's -s and -y.
type TextOptions struct {
	// StrSize is the most bytes of a buffer shown (strace -s); 0 means 32, as strace's.
	StrSize int
	// FdPaths shows what each descriptor is beside it, as strace -y/-yy: 3</etc/hostname>,
	// 1<pipe:[1234]>, 4<TCP:[127.0.0.1:40000->127.0.0.1:80]>.
	FdPaths bool
	// Status shows only the calls that ended so (strace -e status=); the zero value shows all.
	Status StatusSet
	// Signals shows only the deliveries of these signals (strace -e signal=), as strace's
	// --- SIGCHLD {si_signo=SIGCHLD, ...} --- lines; the zero value shows every signal.
	Signals SignalSet
}

func (o TextOptions) strSize() int {
	if o.StrSize <= 0 {
		return 32
	}
	return o.StrSize
}

// CallStat is what the run saw of one system call: strace -c's row, plus the faults injected.
type CallStat struct {
	Calls  int           `json:"calls"`
	Errors int           `json:"errors"` // calls that returned -1 (an errno), injected ones included
	Time   time.Duration `json:"time_ns"`
	Faults int           `json:"faults"`
}

// WriteStatsTable writes strace -c's table from r.CallStats: per call the share of the time,
// the seconds, the microseconds per call, the calls, the errors and (faultbox's) the faults
// injected, most time first, then a total. Time is wall time from each call's entry to its
// exit as the tracer saw them (strace -c -w), tracing overhead and injected delays included.
func WriteStatsTable(w io.Writer, r *Result) error {
	names := make([]string, 0, len(r.CallStats))
	var total CallStat
	for n, s := range r.CallStats {
		names = append(names, n)
		total.Calls += s.Calls
		total.Errors += s.Errors
		total.Time += s.Time
		total.Faults += s.Faults
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := r.CallStats[names[i]], r.CallStats[names[j]]
		if a.Time != b.Time {
			return a.Time > b.Time
		}
		if a.Calls != b.Calls {
			return a.Calls > b.Calls
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	const rule = "------ ----------- ----------- --------- --------- --------- ----------------\n"
	b.WriteString("% time     seconds  usecs/call     calls    errors    faults syscall\n")
	b.WriteString(rule)
	row := func(s CallStat, name string) {
		pct := 0.0
		if total.Time > 0 {
			pct = 100 * float64(s.Time) / float64(total.Time)
		}
		per := int64(0)
		if s.Calls > 0 {
			per = s.Time.Microseconds() / int64(s.Calls)
		}
		fmt.Fprintf(&b, "%6.2f %11.6f %11d %9d %9s %9s %s\n", pct, s.Time.Seconds(), per, s.Calls,
			blankZero(s.Errors), blankZero(s.Faults), name)
	}
	for _, n := range names {
		row(r.CallStats[n], n)
	}
	b.WriteString(rule)
	row(total, "total")
	_, err := io.WriteString(w, b.String())
	return err
}

func blankZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// quoteBuf writes b as strace quotes a buffer: printable ASCII as is, \n \t \r \v \f \" \\
// escaped, other bytes in octal; more than max bytes are cut and marked with ... after the
// closing quote. more says the call moved more bytes than b holds.
func quoteBuf(b []byte, max int, more bool) string {
	if len(b) > max {
		b, more = b[:max], true
	}
	var s strings.Builder
	s.WriteByte('"')
	for i, c := range b {
		switch c {
		case '\n':
			s.WriteString(`\n`)
		case '\t':
			s.WriteString(`\t`)
		case '\r':
			s.WriteString(`\r`)
		case '\v':
			s.WriteString(`\v`)
		case '\f':
			s.WriteString(`\f`)
		case '"':
			s.WriteString(`\"`)
		case '\\':
			s.WriteString(`\\`)
		default:
			if c >= ' ' && c < 0x7f {
				s.WriteByte(c)
				continue
			}
			// The shortest octal, unless a digit follows (then three digits), as strace.
			if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7' {
				fmt.Fprintf(&s, `\%03o`, c)
			} else {
				fmt.Fprintf(&s, `\%o`, c)
			}
		}
	}
	s.WriteByte('"')
	if more {
		s.WriteString("...")
	}
	return s.String()
}

// flagNames writes a bit set as strace does: known bits by name joined with |, the rest in hex.
func flagNames(v uint64, names []flagName, zero string) string {
	var parts []string
	for _, f := range names {
		if f.bit != 0 && v&f.bit == f.bit {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	if len(parts) == 0 {
		return zero
	}
	return strings.Join(parts, "|")
}

type flagName struct {
	bit  uint64
	name string
}

var openFlagNames = []flagName{
	{unix.O_TMPFILE, "O_TMPFILE"}, // before O_DIRECTORY, which it contains
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_SYNC &^ unix.O_DSYNC, "__O_SYNC"}, {unix.O_DIRECT, "O_DIRECT"},
	{unix.O_LARGEFILE, "O_LARGEFILE"}, {unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"}, {unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"},
	{unix.O_ASYNC, "O_ASYNC"},
}

// openFlags writes open's flags as strace does: the access mode, then the other bits.
func openFlags(v uint64) string {
	mode := [...]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "0x3"}[v&3]
	rest := flagNames(v&^3, openFlagNames, "")
	if rest == "" {
		return mode
	}
	return mode + "|" + rest
}

var sockTypeFlags = []flagName{{unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"}}

var sockTypes = map[uint64]string{
	unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM", unix.SOCK_RAW: "SOCK_RAW",
	unix.SOCK_SEQPACKET: "SOCK_SEQPACKET", unix.SOCK_RDM: "SOCK_RDM",
}

var families = map[uint64]string{
	unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6",
	unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET", unix.AF_UNSPEC: "AF_UNSPEC",
}

func sockType(v uint64) string {
	t, ok := sockTypes[v&0xf]
	if !ok {
		t = strconv.FormatUint(v&0xf, 10)
	}
	if f := flagNames(v&^0xf, sockTypeFlags, ""); f != "" {
		t += "|" + f
	}
	return t
}

func family(v uint64) string {
	if f, ok := families[v]; ok {
		return f
	}
	return strconv.FormatUint(v, 10)
}

var msgFlagNames = []flagName{
	{unix.MSG_OOB, "MSG_OOB"}, {unix.MSG_PEEK, "MSG_PEEK"}, {unix.MSG_DONTROUTE, "MSG_DONTROUTE"},
	{unix.MSG_DONTWAIT, "MSG_DONTWAIT"}, {unix.MSG_EOR, "MSG_EOR"}, {unix.MSG_WAITALL, "MSG_WAITALL"},
	{unix.MSG_NOSIGNAL, "MSG_NOSIGNAL"}, {unix.MSG_MORE, "MSG_MORE"}, {unix.MSG_TRUNC, "MSG_TRUNC"},
	{unix.MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
}

// dirfd writes an *at call's directory descriptor: AT_FDCWD or the number.
func dirfd(v uint64) string {
	if int32(v) == unix.AT_FDCWD {
		return "AT_FDCWD"
	}
	return strconv.Itoa(int(int32(v)))
}

// retText writes a call's result as strace does: the value, or -1 with the errno's name and
// its description for -4095..-1.
func retText(ret int64) string {
	if ret < 0 && ret > -4096 {
		msg := []rune(syscall.Errno(-ret).Error())
		if len(msg) > 0 {
			msg[0] = unicode.ToUpper(msg[0])
		}
		return "-1 " + errnoName(int(-ret)) + " (" + string(msg) + ")"
	}
	return strconv.FormatInt(ret, 10)
}

// endpointText is what -y shows for a descriptor: the file's path, pipe:[INODE], or the
// socket's protocol and addresses (strace -yy's form).
func endpointText(ep *Endpoint) string {
	if ep == nil {
		return ""
	}
	switch ep.Kind {
	case "file":
		return ep.Path
	case "pipe":
		return "pipe:[" + strconv.FormatUint(ep.Inode, 10) + "]"
	case "tcp", "udp":
		k := strings.ToUpper(ep.Kind)
		if strings.Contains(ep.Local, "[") {
			k += "v6"
		}
		if ep.Remote != "" {
			return k + ":[" + ep.Local + "->" + ep.Remote + "]"
		}
		return k + ":[" + ep.Local + "]"
	case "unix":
		s := "UNIX:[" + strconv.FormatUint(ep.Inode, 10)
		if ep.peer != 0 {
			s += "->" + strconv.FormatUint(ep.peer, 10)
		}
		if ep.Path != "" {
			s += "," + ep.Path
		}
		return s + "]"
	case "sock":
		return "socket:[" + strconv.FormatUint(ep.Inode, 10) + "]"
	}
	if ep.Path != "" {
		return ep.Path
	}
	return ""
}

// sockaddrText writes a struct sockaddr as strace does.
func sockaddrText(b []byte) string {
	if len(b) < 2 {
		return "{}"
	}
	fam := uint64(b[0]) | uint64(b[1])<<8
	switch fam {
	case unix.AF_INET:
		if len(b) >= 8 {
			return fmt.Sprintf("{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr(\"%d.%d.%d.%d\")}",
				int(b[2])<<8|int(b[3]), b[4], b[5], b[6], b[7])
		}
	case unix.AF_INET6:
		if len(b) >= 24 {
			host, _, _ := splitHostPort(sockaddrString(b))
			return fmt.Sprintf("{sa_family=AF_INET6, sin6_port=htons(%d), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"%s\", &sin6_addr), sin6_scope_id=0}",
				int(b[2])<<8|int(b[3]), host)
		}
	case unix.AF_UNIX:
		p := sockaddrString(b)
		return "{sa_family=AF_UNIX, sun_path=" + strconv.Quote(p) + "}"
	}
	return "{sa_family=" + family(fam) + ", ...}"
}

// statStruct writes a struct stat (the architecture's layout, statLen bytes) as strace does
// by default: {st_mode=S_IFREG|0644, st_size=35151, ...} or, for a device,
// st_rdev=makedev(0x88, 0).
func statStruct(b []byte) string {
	mode := binary.LittleEndian.Uint32(b[statModeOff:])
	le := func(off int) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(b[off+i])
		}
		return v
	}
	typ := map[uint32]string{unix.S_IFREG: "S_IFREG", unix.S_IFDIR: "S_IFDIR", unix.S_IFLNK: "S_IFLNK",
		unix.S_IFIFO: "S_IFIFO", unix.S_IFSOCK: "S_IFSOCK", unix.S_IFCHR: "S_IFCHR", unix.S_IFBLK: "S_IFBLK"}[mode&unix.S_IFMT]
	s := "{st_mode=" + typ
	for _, b := range []flagName{{unix.S_ISUID, "S_ISUID"}, {unix.S_ISGID, "S_ISGID"}, {unix.S_ISVTX, "S_ISVTX"}} {
		if uint64(mode)&b.bit != 0 {
			s += "|" + b.name
		}
	}
	s += "|0" + strconv.FormatUint(uint64(mode&0o777), 8)
	if typ == "" {
		s = "{st_mode=0" + strconv.FormatUint(uint64(mode), 8)
	}
	if mode&unix.S_IFMT == unix.S_IFCHR || mode&unix.S_IFMT == unix.S_IFBLK {
		rdev := le(statRdevOff)
		s += ", st_rdev=makedev(" + hexC(uint64(unix.Major(rdev))) + ", " + hexC(uint64(unix.Minor(rdev))) + ")"
	} else {
		s += ", st_size=" + strconv.FormatInt(int64(le(statSizeOff)), 10)
	}
	return s + ", ...}"
}

// hexC writes v as C's %#x does: 0 for zero, else 0x and hex digits.
func hexC(v uint64) string {
	if v == 0 {
		return "0"
	}
	return "0x" + strconv.FormatUint(v, 16)
}

// siginfoText is a siginfo_t (x86-64 and arm64 layout) as strace prints it:
// {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7, si_uid=0, si_status=0, si_utime=0, si_stime=0}.
func siginfoText(si []byte) string {
	if len(si) < 48 {
		return ""
	}
	i32 := func(off int) int64 { return int64(int32(binary.LittleEndian.Uint32(si[off:]))) }
	u32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(si[off:])) }
	i64 := func(off int) int64 { return int64(binary.LittleEndian.Uint64(si[off:])) }
	signo, code := int(i32(0)), i32(8)
	name := unix.SignalName(syscall.Signal(signo))
	if name == "" {
		name = strconv.Itoa(signo)
	}
	b := "{si_signo=" + name + ", si_code="
	sender := func() string {
		return ", si_pid=" + strconv.FormatInt(i32(16), 10) + ", si_uid=" + strconv.FormatUint(u32(20), 10)
	}
	addr := func() string {
		a := uint64(i64(16))
		if a == 0 {
			return ", si_addr=NULL"
		}
		return ", si_addr=0x" + strconv.FormatUint(a, 16)
	}
	switch {
	case code == 0:
		return b + "SI_USER" + sender() + "}"
	case code == -6:
		return b + "SI_TKILL" + sender() + "}"
	case code == -1:
		return b + "SI_QUEUE" + sender() + ", si_int=" + strconv.FormatInt(i32(24), 10) +
			", si_ptr=0x" + strconv.FormatUint(uint64(i64(24)), 16) + "}"
	case code == 0x80:
		return b + "SI_KERNEL}"
	case signo == int(unix.SIGCHLD) && code >= 1 && code <= 6:
		codes := []string{"", "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"}
		status := strconv.FormatInt(i32(24), 10)
		if code != 1 {
			status = unix.SignalName(syscall.Signal(i32(24)))
		}
		return b + codes[code] + sender() + ", si_status=" + status + ", si_utime=" + ticks(i64(32)) +
			", si_stime=" + ticks(i64(40)) + "}"
	case signo == int(unix.SIGSEGV) && (code == 1 || code == 2):
		return b + []string{"", "SEGV_MAPERR", "SEGV_ACCERR"}[code] + addr() + "}"
	case signo == int(unix.SIGBUS) && code >= 1 && code <= 3:
		return b + []string{"", "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR"}[code] + addr() + "}"
	}
	return b + strconv.FormatInt(code, 10) + "}"
}

// ticks is a clock_t of a siginfo as strace prints it: the count, and seconds beside it when
// not zero (USER_HZ is 100 on Linux).
func ticks(n int64) string {
	if n == 0 {
		return "0"
	}
	return strconv.FormatInt(n, 10) + " /* " + strconv.FormatFloat(float64(n)/100, 'f', 2, 64) + " s */"
}
