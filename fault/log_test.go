package fault

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two layers report into one log: the order is the order of Record, the counts cover both,
// and the JSON-lines form reads back to the same events.
func TestTwoLayersOneLog(t *testing.T) {
	t.Parallel()
	var now time.Duration
	log := NewLog()
	log.SetClock(Virtual, func() time.Duration { return now })
	log.Record(Event{Layer: LayerFailpoint, Kind: "return", Where: "wal/sync", Detail: "EIO"})
	now = 3 * time.Millisecond
	log.Record(Event{Layer: LayerDisk, Kind: "sync-failure", Process: "10.0.0.2:7000", Where: "wal/log", Offset: 4096, Length: 512})
	log.Record(Event{Layer: LayerDisk, Kind: "torn-write", Where: "wal/log", Time: time.Second, Clock: Virtual})
	log.Record(Event{Layer: LayerNet, Kind: "drop", Where: "10.0.0.1->10.0.0.2", Detail: "<a & b>"})

	ev := log.Events()
	want := []string{
		"#1 t=0s failpoint return wal/sync EIO",
		"#2 t=3ms disk sync-failure proc=10.0.0.2:7000 wal/log off=4096 len=512",
		"#3 t=1s disk torn-write wal/log", // an event's own time wins over the log's clock
		"#4 t=3ms net drop 10.0.0.1->10.0.0.2 <a & b>",
	}
	for i, e := range ev {
		if e.String() != want[i] {
			t.Errorf("event %d = %q, want %q", i, e, want[i])
		}
	}
	counts := log.Counts()
	wantCounts := []Count{{LayerDisk, "sync-failure", 1}, {LayerDisk, "torn-write", 1}, {LayerFailpoint, "return", 1}, {LayerNet, "drop", 1}}
	if !reflect.DeepEqual(counts, wantCounts) {
		t.Errorf("counts = %v, want %v", counts, wantCounts)
	}
	if !reflect.DeepEqual(CountEvents(ev), wantCounts) {
		t.Errorf("CountEvents = %v, want %v", CountEvents(ev), wantCounts)
	}

	var buf bytes.Buffer
	if err := WriteJSONL(&buf, ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"where":"10.0.0.1->10.0.0.2","time_ns":3000000,"clock":"virtual","detail":"<a & b>"`) {
		t.Errorf("JSON lines escape what they need not:\n%s", buf.String())
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 4 {
		t.Fatalf("%d lines, want 4:\n%s", lines, buf.String())
	}
	wantFirst := `{"seq":1,"layer":"failpoint","kind":"return","where":"wal/sync","clock":"virtual","detail":"EIO"}`
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != wantFirst {
		t.Errorf("first line = %s\nwant         %s", first, wantFirst)
	}
	back, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ev) {
		t.Fatalf("round trip changed the events:\n%v\n%v", back, ev)
	}
}

func TestLogLimitKeepsCounting(t *testing.T) {
	t.Parallel()
	log := NewLog()
	log.SetLimit(2)
	for range 5 {
		log.Record(Event{Layer: LayerDisk, Kind: "phantom-write"})
	}
	if len(log.Events()) != 2 || log.Dropped() != 3 || log.Len() != 5 || log.Count(LayerDisk, "phantom-write") != 5 {
		t.Fatalf("kept %d dropped %d len %d count %d", len(log.Events()), log.Dropped(), log.Len(), log.Count(LayerDisk, "phantom-write"))
	}
}

func TestLogNotifyAndConcurrency(t *testing.T) {
	t.Parallel()
	log := NewLog()
	var seen []int64
	log.Notify(func(e Event) { seen = append(seen, e.Seq) })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				log.Record(Event{Layer: LayerTrace, Kind: "error=EIO"})
			}
		})
	}
	wg.Wait()
	if len(seen) != 800 {
		t.Fatalf("notified %d times, want 800", len(seen))
	}
	for i, s := range seen {
		if s != int64(i+1) {
			t.Fatalf("notification %d has seq %d: sinks must see events in order", i, s)
		}
	}
}

func TestReadJSONLErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`{"seq":1,"layer":"disk"}`, "line 1: fault event: kind is empty"},
		{"\n{\"layer\":\"disk\",\"kind\":\"x\",\"colour\":1}", "line 2: json: unknown field \"colour\""},
		{`{"layer":"disk","kind":"x","clock":"sundial"}`, `clock = "sundial": want "virtual", "wall" or none`},
		{`{"layer":"disk","kind":"x","length":-1}`, "length = -1: want 0 or more"},
		{`{"layer":"disk","kind":"x"} {}`, "more than one JSON value"},
		{`[1]`, "line 1: json: cannot unmarshal array"},
	} {
		_, err := ReadJSONL(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadJSONL(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add(`{"seq":1,"layer":"disk","kind":"torn-write","offset":4,"length":2,"time_ns":5,"clock":"virtual"}`)
	f.Add("{}\n\n{\"layer\":1}")
	f.Fuzz(func(t *testing.T, in string) {
		ev, err := ReadJSONL(strings.NewReader(in))
		if err != nil {
			return
		}
		// What reads writes back and reads again to the same events.
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, ev); err != nil {
			t.Fatal(err)
		}
		again, err := ReadJSONL(&buf)
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("round trip: %v\n%v\n%v", err, ev, again)
		}
	})
}
