package trace

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// Each injected fault is also a core event: kind from the rule, the call's stable address,
// the process, and it writes and reads back as JSON lines.
func TestFaultsAreCoreEvents(t *testing.T) {
	t.Parallel()
	res, _, _ := runTraced(t, Config{Args: []string{"sh", "-c", "echo a; echo b; echo c"},
		Rules: []*Rule{mustRule(t, "write:error=EIO:when=2"), mustRule(t, "write:omit:when=3")}})
	ev := res.FaultEvents
	if len(ev) != 2 || len(res.Faults) != 2 {
		t.Fatalf("fault events %v, fault lines %v: want 2 of each", ev, res.Faults)
	}
	for i, want := range []string{"error=EIO", "omit"} {
		e := ev[i]
		if e.Layer != fault.LayerTrace || e.Kind != want || e.Seq != int64(i+1) || e.Clock != fault.Wall {
			t.Errorf("event %d = %+v, want layer trace kind %s", i, e, want)
		}
		if !strings.HasPrefix(res.Faults[i], e.Where+": ") || e.Process == "" || !strings.HasPrefix(e.Detail, "write ") {
			t.Errorf("event %d %+v does not match fault line %q", i, e, res.Faults[i])
		}
	}
	var buf bytes.Buffer
	if err := fault.WriteJSONL(&buf, ev); err != nil {
		t.Fatal(err)
	}
	back, err := fault.ReadJSONL(&buf)
	if err != nil || !reflect.DeepEqual(back, ev) {
		t.Fatalf("JSON lines round trip: %v\n%v\n%v", err, back, ev)
	}
}

func TestRuleKind(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{
		"read:error=EIO": "error=EIO", "write:retval=0": "retval=0", "read:signal=SIGUSR1": "signal=SIGUSR1",
		"read:delay_enter=10ms": "delay", "connect:refuse": "refuse", "write:crash": "crash",
		"read:retval=0:signal=SIGUSR1": "retval=0+signal=SIGUSR1", "write:error=ENOSPC:delay_exit=1ms": "error=ENOSPC+delay",
	} {
		if got := ruleKind(mustRule(t, spec)); got != want {
			t.Errorf("ruleKind(%s) = %q, want %q", spec, got, want)
		}
	}
}
