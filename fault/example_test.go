package fault_test

import (
	"fmt"
	"os"

	"github.com/faultbox/faultbox/fault"
)

// A seed parses from decimal or hex; streams derived by name repeat and are independent.
func ExampleSeed_Stream() {
	seed, err := fault.ParseSeed("0x2a")
	if err != nil {
		panic(err)
	}
	a := seed.Stream("disk", "10.0.0.2:7000", "sync")
	again := seed.Stream("disk", "10.0.0.2:7000", "sync")
	fmt.Println(seed, a.IntN(1000) == again.IntN(1000))
	// Output: 42 true
}

// Two layers report into one log; the text and JSON-lines forms are stable.
func ExampleLog() {
	log := fault.NewLog()
	log.Record(fault.Event{Layer: fault.LayerFailpoint, Kind: "return", Where: "wal/sync", Detail: "EIO"})
	log.Record(fault.Event{Layer: fault.LayerDisk, Kind: "torn-write", Process: "10.0.0.2:7000",
		Where: "wal/log", Offset: 4096, Length: 512, Clock: fault.Virtual, Time: 1500000})
	for _, e := range log.Events() {
		fmt.Println(e)
	}
	fault.WriteJSONL(os.Stdout, log.Events())
	// Output:
	// #1 failpoint return wal/sync EIO
	// #2 t=1.5ms disk torn-write proc=10.0.0.2:7000 wal/log off=4096 len=512
	// {"seq":1,"layer":"failpoint","kind":"return","where":"wal/sync","detail":"EIO"}
	// {"seq":2,"layer":"disk","kind":"torn-write","process":"10.0.0.2:7000","where":"wal/log","offset":4096,"length":512,"time_ns":1500000,"clock":"virtual"}
}

// Every command ends with the same report shape, as text or JSON.
func ExampleReport() {
	r := fault.NewReport("faultbox disk torture", 7)
	r.Add("acknowledged", 12)
	r.SetFaults([]fault.Count{{Layer: fault.LayerDisk, Kind: "sync-failure", N: 2}})
	r.Check("acknowledged records recovered", true, "12 of 12")
	r.Judge()
	r.WriteText(os.Stdout)
	// Output:
	// faultbox disk torture  seed 7
	//   acknowledged  12
	// faults: disk/sync-failure=2 (2 in all)
	// checks:
	//   ok    acknowledged records recovered  12 of 12
	// verdict: pass
}
