package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Schedule is a scripted list of faults, for tests and replays:
//
//	at 2s crash 10.0.0.2 for 500ms; at 3s partition 10.0.0.1 10.0.0.3; at 4s heal
//
// Items are separated by ';' or new lines; each is "at TIME ACTION". Actions:
//
//	crash ADDR [for D]      power loss, then restart after D (default: stay down)
//	tear ADDR [for D]       power loss that tears every file with unsynced data
//	garble ADDR [for D]     a tear at its worst: every unsynced sector becomes garbage
//	wipe ADDR [for D]       crash and wipe the storage, then restart after D
//	reboot ADDR [for D]     graceful stop, then restart after D
//	stop ADDR               graceful stop, no restart
//	start ADDR              start a stopped process
//	partition ADDR ADDR [for D]  cut the link both ways (and heal it after D)
//	oneway ADDR ADDR [for D]     cut the link from the first to the second only
//	isolate ADDR [for D]         cut every link of ADDR
//	heal                    restore every link
//	clog ADDR ADDR D        hold messages from the first to the second for D
//
// TIME and D are Go durations (1.5s, 300ms). Times are absolute virtual times.
type Schedule []Action

// Action is one scripted fault.
type Action struct {
	At   time.Duration
	Verb string
	A, B netip.Addr // the addresses the verb takes
	For  time.Duration
}

var verbArgs = map[string]struct {
	addrs  int
	forOK  bool
	dur    bool // takes a positional duration after the addresses
	reboot RebootKind
}{
	"crash": {addrs: 1, forOK: true, reboot: Crash}, "wipe": {addrs: 1, forOK: true, reboot: CrashAndWipe},
	"tear": {addrs: 1, forOK: true, reboot: CrashTorn}, "garble": {addrs: 1, forOK: true, reboot: CrashGarbage},
	"reboot": {addrs: 1, forOK: true, reboot: Graceful}, "stop": {addrs: 1}, "start": {addrs: 1},
	"partition": {addrs: 2, forOK: true}, "oneway": {addrs: 2, forOK: true}, "isolate": {addrs: 1, forOK: true}, "heal": {},
	"clog": {addrs: 2, dur: true},
}

const verbList = "crash, tear, garble, wipe, reboot, stop, start, partition, oneway, isolate, heal or clog"

// maxScheduleItems bounds a schedule, so a hostile input cannot exhaust memory.
const maxScheduleItems = 10000

// ParseSchedule reads a schedule. An error names the item (from 1), the field, the value and
// what was expected.
func ParseSchedule(text string) (Schedule, error) {
	var out Schedule
	items := strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == '\n' })
	n := 0
	for _, item := range items {
		f := strings.Fields(item)
		if len(f) == 0 {
			continue
		}
		n++
		if n > maxScheduleItems {
			return nil, fmt.Errorf("schedule: more than %d items", maxScheduleItems)
		}
		bad := func(field, value, want string) error {
			return fmt.Errorf("schedule item %d (%q): %s %q: want %s", n, strings.TrimSpace(item), field, value, want)
		}
		if f[0] != "at" {
			return nil, bad("word", f[0], `"at TIME ACTION"`)
		}
		if len(f) < 3 {
			return nil, bad("item", strings.TrimSpace(item), `"at TIME ACTION"`)
		}
		at, err := time.ParseDuration(f[1])
		if err != nil || at < 0 {
			return nil, bad("time", f[1], "a duration >= 0 such as 1.5s")
		}
		a := Action{At: at, Verb: f[2]}
		spec, ok := verbArgs[a.Verb]
		if !ok {
			return nil, bad("action", a.Verb, verbList)
		}
		rest := f[3:]
		for i := range spec.addrs {
			if len(rest) == 0 {
				return nil, bad("action", a.Verb, fmt.Sprintf("%d address(es) after %s", spec.addrs, a.Verb))
			}
			addr, err := netip.ParseAddr(rest[0])
			if err != nil {
				return nil, bad("address", rest[0], "an IP address such as 10.0.0.2")
			}
			if i == 0 {
				a.A = addr
			} else {
				a.B = addr
			}
			rest = rest[1:]
		}
		if spec.dur {
			if len(rest) == 0 {
				return nil, bad("action", a.Verb, "a duration after the addresses")
			}
			if a.For, err = time.ParseDuration(rest[0]); err != nil || a.For <= 0 {
				return nil, bad("duration", rest[0], "a duration > 0")
			}
			rest = rest[1:]
		}
		if spec.forOK && len(rest) >= 1 && rest[0] == "for" {
			if len(rest) < 2 {
				return nil, bad("for", "", "a duration after for")
			}
			if a.For, err = time.ParseDuration(rest[1]); err != nil || a.For < 0 {
				return nil, bad("for", rest[1], "a duration >= 0")
			}
			rest = rest[2:]
		}
		if len(rest) > 0 {
			return nil, bad("trailing text", strings.Join(rest, " "), "nothing more")
		}
		out = append(out, a)
	}
	return out, nil
}

// String writes the schedule back in the form ParseSchedule reads.
func (s Schedule) String() string {
	var b strings.Builder
	for i, a := range s {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "at %s %s", a.At, a.Verb)
		spec := verbArgs[a.Verb]
		if spec.addrs >= 1 {
			b.WriteString(" " + a.A.String())
		}
		if spec.addrs >= 2 {
			b.WriteString(" " + a.B.String())
		}
		if spec.dur {
			b.WriteString(" " + a.For.String())
		}
		if spec.forOK && a.For > 0 {
			b.WriteString(" for " + a.For.String())
		}
	}
	return b.String()
}

// Apply queues every action of the schedule in the world. An action on an address with no
// process is an error, found before anything is queued.
func (w *World) Apply(s Schedule) error {
	for i, a := range s {
		for _, addr := range []netip.Addr{a.A, a.B} {
			if addr.IsValid() && w.procs[addr] == nil {
				return fmt.Errorf("schedule item %d (%s %s): no process at %s", i+1, a.Verb, a.A, addr)
			}
		}
	}
	for _, a := range s {
		w.schedule(&event{at: a.At, kind: kindNemesis, a: uint64(a.At), fn: func() { w.do(a) }})
	}
	return nil
}

// do performs one action now.
func (w *World) do(a Action) {
	switch a.Verb {
	case "crash", "tear", "garble", "wipe", "reboot":
		kind := verbArgs[a.Verb].reboot
		if a.For > 0 {
			w.Reboot(a.A, kind, a.For)
		} else {
			w.Stop(a.A, kind)
		}
	case "stop":
		w.Stop(a.A, Graceful)
	case "start":
		w.Start(a.A)
	case "partition":
		w.Partition(a.A, a.B)
		w.healAfter(a.For, a.A, a.B)
	case "oneway":
		w.PartitionOneWay(a.A, a.B)
		if a.For > 0 {
			w.After(a.For, func() {
				delete(w.net.blocked, link{a.A, a.B})
				w.record(fault.Event{Layer: fault.LayerNet, Kind: "heal", Where: a.A.String() + "->" + a.B.String()})
			})
		}
	case "isolate":
		w.Isolate(a.A)
		for _, p := range w.order {
			if p.addr != a.A {
				w.healAfter(a.For, a.A, p.addr)
			}
		}
	case "heal":
		w.Heal()
	case "clog":
		w.Clog(a.A, a.B, a.For)
	}
}

// healAfter heals the link between a and b after d (0: never).
func (w *World) healAfter(d time.Duration, a, b netip.Addr) {
	if d > 0 {
		w.After(d, func() { w.HealLink(a, b) })
	}
}
