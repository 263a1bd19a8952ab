//go:build linux && (amd64 || arm64)

package trace

// misses gathers, while the run goes on, what a rule that never fired will need to say why.
type misses struct {
	rules []ruleMiss // one per rule, in the rules' order
	// watched are the calls the tracer stops at for the rules with an fd=, path= or addr=
	// filter: the calls that open, use or close a descriptor or name a path. They make no
	// events, so they change no event address and no count.
	watched map[int]bool
}

// armed notes that a send armed after=send rule i.
func (m *misses) armed(i int) {
	if i < len(m.rules) {
		m.rules[i].armed = true
	}
}

// count notes that a thread (or process) made its n-th invocation of nr that passed rule i's
// filters.
func (m *misses) count(i, nr int, n uint64) {
	if i < len(m.rules) {
		m.rules[i].count(nr, n)
	}
}

// watchFdArgs lists the calls that act on a descriptor, with the argument positions that hold
// one: the calls a warning names when it lists what a process did on a file.
var watchFdArgs = map[string][]int{
	"read": {0}, "write": {0}, "readv": {0}, "writev": {0}, "pread64": {0}, "pwrite64": {0},
	"preadv": {0}, "pwritev": {0}, "preadv2": {0}, "pwritev2": {0},
	"sendto": {0}, "recvfrom": {0}, "sendmsg": {0}, "recvmsg": {0}, "sendmmsg": {0}, "recvmmsg": {0},
	"connect": {0}, "accept": {0}, "accept4": {0}, "bind": {0}, "listen": {0}, "shutdown": {0},
	"close": {0}, "dup": {0}, "dup2": {0}, "dup3": {0},
	"fsync": {0}, "fdatasync": {0}, "sync_file_range": {0}, "ftruncate": {0}, "fallocate": {0},
	"fadvise64": {0}, "lseek": {0}, "fstat": {0}, "getdents64": {0}, "flock": {0},
	"copy_file_range": {0, 2}, "sendfile": {1, 0}, "splice": {0, 2}, "tee": {0, 1},
	"mmap": {4},
}

// watchSet makes the per-rule records and returns the calls to stop at, besides those traced,
// so that an unfired rule with a filter can list the calls made on what it filters for.
func (t *tracer) watchSet() []int {
	t.miss.rules = make([]ruleMiss, len(t.rules))
	t.miss.watched = map[int]bool{}
	var object, path bool
	for _, r := range t.rules {
		object = object || r.hasObjectFilter()
		path = path || r.Path != ""
	}
	if object {
		for n := range watchFdArgs {
			if nr, ok := sysNumber(n); ok {
				t.miss.watched[nr] = true
			}
		}
	}
	if path {
		for _, set := range []map[int]bool{callPath0, callPath1} {
			for nr := range set {
				// execve stays out: the helper's own execve of the command would stop too.
				if n := sysName(nr); n != "execve" && n != "execveat" {
					t.miss.watched[nr] = true
				}
			}
		}
	}
	out := make([]int, 0, len(t.miss.watched))
	for nr := range t.miss.watched {
		out = append(out, nr)
	}
	return out
}

// watch notes, for each filtered rule that has not fired yet, whether the call now entered
// acts on what the rule filters for. It runs before the call's fd is forgotten (close).
func (t *tracer) watch(tk *task, nr int, r regs) {
	if !tk.proc.started {
		return
	}
	var pending []int
	wantPath, wantDest := false, false
	for i, rule := range t.rules {
		if t.fired[i] == 0 && rule.hasObjectFilter() && (rule.Proc == "" || globMatch(rule.Proc, tk.proc.label)) {
			pending = append(pending, i)
			wantPath = wantPath || rule.Path != ""
			wantDest = wantDest || rule.Path != "" || rule.Addr != ""
		}
	}
	if len(pending) == 0 {
		return
	}
	name := sysName(nr)
	// What the call acts on, each as the event a rule would see: the path it names, and each
	// of its descriptors (an *at call with an empty path acts on its dirfd).
	var objs []*Event
	fds := watchFdArgs[name]
	if wantPath && (callPath0[nr] || callPath1[nr]) {
		arg := 0
		if callPath1[nr] {
			arg = 1
		}
		if p := t.readString(tk.tid, r.Arg(arg)); p != "" {
			objs = append(objs, &Event{Path: p, Fd: -1})
		} else if callPath1[nr] {
			fds = []int{0}
		}
	}
	for _, pos := range fds {
		fd := int(int32(r.Arg(pos)))
		if fd < 0 {
			continue
		}
		if ep := t.eps.resolveCached(tk.proc.pid, tk.tid, fd); ep != nil {
			objs = append(objs, &Event{Fd: fd, Endpoint: ep})
		}
	}
	if wantDest && len(objs) > 0 && (callSockaddr[nr] || name == "sendto") {
		// The address of connect, bind and sendto (a unix socket's is its path), as entry
		// reads it for the call's event.
		o := objs[0]
		if name == "sendto" {
			o.Dest = t.sockaddr(tk.tid, r.Arg(4), int(r.Arg(5)))
		} else {
			o.Dest = t.sockaddr(tk.tid, r.Arg(1), int(r.Arg(2)))
		}
		if p := destPath(o.Dest); p != "" {
			o.Path = p
		}
	}
	for _, i := range pending {
		for _, o := range objs {
			if t.rules[i].passes(tk.proc.label, o) {
				t.miss.rules[i].on.add(name)
				break
			}
		}
	}
}

// passes reports whether a call of a process labelled label, seen as event e, passes the
// rule's filters on process, descriptor kind, path and address.
func (r *Rule) passes(label string, e *Event) bool {
	if r.Proc != "" && !globMatch(r.Proc, label) {
		return false
	}
	ep := e.Endpoint
	if r.FdKind != "" && (ep == nil || !(ep.Kind == r.FdKind || r.FdKind == "sock" && ep.isSocket())) {
		return false
	}
	if r.Path != "" && !(e.Path != "" && globMatch(r.Path, e.Path) || ep != nil && ep.Path != "" && globMatch(r.Path, ep.Path)) {
		return false
	}
	if r.Addr != "" && !addrMatches(r.Addr, e) {
		return false
	}
	return true
}

// whyUnfired says, for rule i that never fired, what the run did instead.
func (t *tracer) whyUnfired(i int) string {
	var labels []string
	for _, p := range t.order {
		labels = append(labels, p.names...)
	}
	return t.miss.rules[i].explain(t.rules[i], t.ruleSets[i], labels)
}
