//go:build linux && amd64

package trace

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var netappLabels = []Label{{Name: "server", Match: "netapp server"}, {Name: "client", Match: "netapp client"}}

func runNetapp(t *testing.T, rules []*Rule, parts []*Partition) (*Result, string) {
	t.Helper()
	prog := buildC(t, "netapp")
	res, stdout, _ := runTraced(t, Config{Args: []string{prog, "all", t.TempDir()}, Labels: netappLabels,
		Rules: rules, Partitions: parts})
	return res, stdout
}

func eventsOf(res *Result, label string) []*Event {
	var out []*Event
	for _, e := range res.Events {
		if e.Label == label {
			out = append(out, e)
		}
	}
	return out
}

func TestMultiProcessPairing(t *testing.T) {
	t.Parallel()
	res, stdout := runNetapp(t, nil, nil)
	if want := "tcp1 80\ntcp2 16\nudp 3\nunix 20\nfsync ok\nsize 30\n"; res.ExitCode != 0 || stdout != want {
		t.Fatalf("exit %d stdout %q, want %q", res.ExitCode, stdout, want)
	}
	byAddr := map[string]*Event{}
	for _, e := range res.Events {
		byAddr[e.Addr] = e
	}
	sent, recvd := map[string]int64{}, map[string]int64{}
	for i, e := range res.Events {
		if e.Endpoint == nil || e.Bytes <= 0 || e.Endpoint.Kind == "file" || (e.Label != "server" && e.Label != "client") {
			continue
		}
		kind := e.Endpoint.Kind
		if e.Dir == "send" {
			sent[kind] += e.Bytes
			continue
		}
		recvd[kind] += e.Bytes
		// Every byte received is accounted for by the sends it was paired with.
		var covered int64
		for _, s := range e.msgFrom {
			se := res.Events[s]
			if se.Endpoint.Kind != kind || se.Label == e.Label {
				t.Errorf("%s paired with %s", e.Addr, se.Addr)
			}
			if kind == "udp" {
				covered += se.Bytes
				continue
			}
			lo, hi := max(e.Offset, se.Offset), min(e.Offset+e.Bytes, se.Offset+se.Bytes)
			covered += hi - lo
		}
		if covered != e.Bytes {
			t.Errorf("%s %s received %d bytes, paired sends cover %d", e.Addr, kind, e.Bytes, covered)
		}
		// Program order and the message: both are happens-before predecessors.
		if len(e.hb) == 0 || e.hb[0] != previousInThread(res.Events, i) {
			t.Errorf("%s: first predecessor is not its thread's previous event", e.Addr)
		}
		if !slices.Contains(e.HB, res.Events[e.msgFrom[0]].Addr) {
			t.Errorf("%s: HB %v lacks its send", e.Addr, e.HB)
		}
	}
	for _, k := range []string{"tcp", "udp", "unix", "pipe"} {
		if sent[k] == 0 || sent[k] != recvd[k] {
			t.Errorf("%s: %d bytes sent, %d received", k, sent[k], recvd[k])
		}
	}
	accepts := 0
	for _, e := range eventsOf(res, "server") {
		if e.Call == "accept" {
			accepts++
			c := byAddr[e.Peer]
			if c == nil || c.Call != "connect" || c.Label != "client" || !slices.Contains(e.HB, c.Addr) {
				t.Errorf("accept %s paired with %v", e.Addr, e.Peer)
			}
		}
	}
	if accepts != 3 {
		t.Errorf("%d accepts, want 3", accepts)
	}
	// The client read the ports from the pipe the server wrote them to.
	for _, e := range eventsOf(res, "client") {
		if e.Call == "read" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" {
			if w := byAddr[e.Peer]; w == nil || w.Label != "server" || w.Call != "write" {
				t.Errorf("pipe read %s paired with %v", e.Addr, e.Peer)
			}
		}
	}
}

func previousInThread(events []*Event, i int) int {
	for j := i - 1; j >= 0; j-- {
		if events[j].Tid == events[i].Tid && events[j].Pid == events[i].Pid {
			return j
		}
	}
	return -1
}

func TestEventAddressesStableAcrossRuns(t *testing.T) {
	t.Parallel()
	sig := func() string {
		res, _ := runNetapp(t, nil, nil)
		var lines []string
		for _, e := range res.Events {
			ret := e.Ret
			if e.Call == "fork" || e.Call == "clone" {
				ret = 0 // a pid, which the kernel chooses
			}
			lines = append(lines, fmt.Sprintf("%s %s ret=%d bytes=%d peer=%s hb=%v", e.Addr, e.Call, ret, e.Bytes, e.Peer, e.HB))
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	a, b := sig(), sig()
	if a != b {
		t.Errorf("two runs differ:\n%s\n----\n%s", a, b)
	}
	if !strings.Contains(a, "server/t0/") || !strings.Contains(a, "client/t0/") {
		t.Errorf("labels missing from addresses:\n%s", a)
	}

	// Two processes with the same label are numbered by their place in the process tree, not
	// by the order their execs arrive in: the shell's first child execs last (it sleeps
	// first), and still keeps the bare name.
	dup := func() string {
		res, _, _ := runTraced(t, Config{Args: []string{"sh", "-c",
			"(sleep 0.3; exec sleep 0.01) & sleep 0.02 & wait"}, Labels: []Label{{Name: "s", Match: "sleep 0.0*"}}})
		var lines []string
		for _, e := range res.Events {
			if e.Call == "exec" && strings.Contains(e.Dest, "sleep 0.0") {
				lines = append(lines, e.Dest+" "+e.Addr)
			}
		}
		for _, p := range res.Procs {
			lines = append(lines, "proc "+p.Label)
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	d1, d2 := dup(), dup()
	if d1 != d2 {
		t.Errorf("duplicate labels differ between runs:\n%s\n----\n%s", d1, d2)
	}
	for _, want := range []string{"sleep 0.01 s/t0/", "sleep 0.02 s#2/t0/", "proc p1.1.1\n"} {
		if !strings.Contains(d1+"\n", want) {
			t.Errorf("labels for the two sleeps lack %q:\n%s", want, d1)
		}
	}
}

func TestMultiProcessFaults(t *testing.T) {
	t.Parallel()
	crash, err := ParseCrash("server@accept#2")
	if err != nil {
		t.Fatal(err)
	}
	part, err := ParsePartition("client/server@2..3")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		rules  []*Rule
		parts  []*Partition
		stdout string
		check  func(t *testing.T, res *Result)
	}{
		{"omit-3rd-send", []*Rule{mustRule(t, "sendto:omit:when=3:fd=tcp:proc=client")}, nil,
			"tcp1 64\ntcp2 16\nudp 3\nunix 20\nfsync ok\nsize 30\n", func(t *testing.T, res *Result) {
				var omitted *Event
				for _, e := range eventsOf(res, "client") {
					if e.Fault != "" {
						omitted = e
					}
				}
				if omitted == nil || omitted.Call != "sendto" || omitted.Ret != 16 || omitted.Addr != "client/t0/10" {
					t.Fatalf("omitted send: %+v", omitted)
				}
				for _, e := range eventsOf(res, "server") {
					if slices.Contains(e.HB, omitted.Addr) {
						t.Errorf("%s received from the omitted send", e.Addr)
					}
				}
			}},
		{"crash-server-2nd-accept", []*Rule{crash}, nil, "tcp1 80\nserver killed by signal 9\n", func(t *testing.T, res *Result) {
			ev := eventsOf(res, "server")
			last := ev[len(ev)-2]
			if last.Call != "accept" || last.Fault == "" || ev[len(ev)-1].Call != "exit" {
				t.Errorf("server's last events: %s %s (%q), %s", last.Addr, last.Call, last.Fault, ev[len(ev)-1].Call)
			}
			for _, p := range res.Procs {
				if p.Label == "server" && p.Status != "killed by SIGKILL" {
					t.Errorf("server status %q", p.Status)
				}
			}
		}},
		{"partition-then-heal", nil, []*Partition{part}, "tcp1 48\ntcp2 16\nudp 3\nunix 20\nfsync ok\nsize 30\n", func(t *testing.T, res *Result) {
			var faulted []string
			for _, e := range res.Events {
				if e.Fault != "" {
					faulted = append(faulted, e.Addr+" "+e.Call)
				}
			}
			if want := []string{"client/t0/8 sendto", "client/t0/9 sendto"}; fmt.Sprint(faulted) != fmt.Sprint(want) {
				t.Errorf("cut calls %v, want %v", faulted, want)
			}
		}},
		{"mute-client-from-3rd-send", []*Rule{mustRule(t, "sendto:mute:when=3:fd=tcp:proc=client")}, nil,
			"tcp1 32\ntcp2 0\nudp 0\nunix 0\nfsync ok\nsize 30\n", func(t *testing.T, res *Result) {
				for _, e := range eventsOf(res, "client") {
					if e.Dir == "send" && e.Endpoint != nil && e.Endpoint.isSocket() && e.N >= 10 && e.Fault == "" {
						t.Errorf("%s %s after the crash-stop was not omitted", e.Addr, e.Call)
					}
				}
			}},
		{"fsync-EIO", []*Rule{mustRule(t, "fsync:error=EIO:proc=server")}, nil,
			"tcp1 80\ntcp2 16\nudp 3\nunix 20\nfsync Input/output error\nsize 30\n", nil},
		{"phantom-write", []*Rule{mustRule(t, "write:phantom:path=*/data")}, nil,
			"tcp1 80\ntcp2 16\nudp 3\nunix 20\nfsync ok\nsize 0\n", func(t *testing.T, res *Result) {
				n := 0
				for _, e := range eventsOf(res, "server") {
					if e.Fault != "" && e.Call == "write" && e.Ret == 10 {
						n++
					}
				}
				if n != 3 {
					t.Errorf("%d phantom writes reported written, want 3", n)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, stdout := runNetapp(t, tc.rules, tc.parts)
			if stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// A partition by time cuts only inside its window, measured from the start of the command. The
// tracer's clock is set 5 s after it, so the windows are far from any scheduling noise.
func TestPartitionByTimeWindow(t *testing.T) {
	t.Parallel()
	connect, _ := sysNumber("connect")
	sendto, _ := sysNumber("sendto")
	for _, c := range []struct {
		window string
		cut    bool
	}{{"1s..10m", true}, {"100ms..", true}, {"10m..20m", false}, {"0ms..1s", false}} {
		p, err := ParsePartition("client/server@" + c.window)
		if err != nil {
			t.Fatal(err)
		}
		if !p.ByTime {
			t.Fatalf("%s parsed as a message window", c.window)
		}
		client, server, other := &process{label: "client"}, &process{label: "server"}, &process{label: "other"}
		tr := &tracer{cfg: Config{Partitions: []*Partition{p}}, owner: map[string]*process{
			"tcp|127.0.0.1:80": server, "udp|127.0.0.1:53": other}, crossN: map[int]uint64{},
			epoch: time.Now().Add(-5 * time.Second)}
		tk := &task{proc: client}
		if got := tr.partitioned(tk, connect, &Event{Call: "connect", Dest: "127.0.0.1:80"}); (got == 0) != c.cut {
			t.Errorf("window %s, 5 s into the run: connect to server cut=%v, want %v", c.window, got == 0, c.cut)
		}
		if got := tr.partitioned(tk, sendto, &Event{Call: "sendto", Dir: "send", Dest: "127.0.0.1:53"}); got != -1 {
			t.Errorf("window %s: a send to a process outside the partition was cut", c.window)
		}
	}
}
