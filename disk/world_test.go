package disk_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

// Under the sim world, two tasks of one process writing one disk are serialised (one task
// runs at a time, and each operation's latency is a wait in virtual time during which the
// other runs) in an order the seed decides: the same seed gives the same events, file and
// trace hash, and no operation is reported as concurrent.
func TestWorldSerialisesTwoWriters(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) string {
		cfg := disk.DefaultConfig()
		cfg.WriteFaultProbability, cfg.PhantomWriteProbability, cfg.SyncFailureProbability = 0.05, 0.05, 0.05
		w := sim.New(fault.Seed(seed), sim.Options{Storage: &cfg})
		addr := netip.MustParseAddr("10.0.0.1")
		var f disk.File
		w.SpawnTask(addr, func(tk *sim.Task) {
			var err error
			if f, err = tk.FS().Create("shared"); err != nil {
				panic(err)
			}
			for g := 0; g < 2; g++ {
				tk.Go(fmt.Sprint("writer", g), func(tk *sim.Task) {
					for i := 0; i < 50; i++ {
						_, _ = f.WriteAt([]byte(strings.Repeat(fmt.Sprint(g), 100)), int64(100*((i*7+g*3)%40)))
						if i%10 == 9 {
							_ = f.Sync()
						}
					}
				})
			}
		})
		if err := w.RunFor(time.Second); err != nil {
			t.Fatal(err)
		}
		if c := w.Storage().Counters(); c.Concurrent != 0 {
			t.Fatalf("the world reported concurrent use: %v", c)
		}
		buf := make([]byte, 4000)
		n, _ := w.Storage().Mem(addr.String()).Open("shared")
		k, _ := n.ReadAt(buf, 0)
		var b strings.Builder
		for _, e := range w.Storage().Events() {
			b.WriteString(e.String() + "\n")
		}
		return fmt.Sprintf("%s%q %s", b.String(), buf[:k], w.TraceHash())
	}
	a, b := run(7), run(7)
	if a != b {
		t.Fatalf("same seed, different runs:\n%s\n---\n%s", a, b)
	}
	if !strings.Contains(a, "disk") {
		t.Fatalf("no disk fault was injected, the test proves little:\n%s", a)
	}
}
