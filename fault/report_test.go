package fault

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestReportTextAndJSON(t *testing.T) {
	t.Parallel()
	r := NewReport("faultbox disk torture", 7)
	r.Add("ops", 3000)
	r.Add("acknowledged", 2488)
	r.SetFaults([]Count{{LayerDisk, "torn-write", 2}, {LayerDisk, "sync-failure", 3}})
	r.Check("acknowledged records recovered", true, "%d of %d", 2488, 2488)
	r.Check("no corrupt record returned", false, "record %d", 17)
	r.Replay = "faultbox disk torture --seed 7 --ops 3000"
	if v := r.Judge(); v != Fail || v.ExitCode() != ExitFail {
		t.Fatalf("verdict %s (exit %d), want fail (exit 1)", v, v.ExitCode())
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `faultbox disk torture  seed 7
  ops           3000
  acknowledged  2488
faults: disk/sync-failure=3 disk/torn-write=2 (5 in all)
checks:
  ok    acknowledged records recovered  2488 of 2488
  FAIL  no corrupt record returned      record 17
verdict: fail
replay: faultbox disk torture --seed 7 --ops 3000
`
	if text.String() != want {
		t.Fatalf("text report:\n%s\nwant:\n%s", text.String(), want)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != Fail || *back.Seed != 7 || back.FaultTotal() != 5 || len(back.Checks) != 2 || back.Figures[1].Value != "2488" {
		t.Fatalf("JSON round trip: %+v", back)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	r := NewReport("x", 0)
	if r.Judge() != Empty || Empty.ExitCode() != ExitEmpty {
		t.Fatal("a report with no checks must be empty, exit 3")
	}
	r.Check("a", true, "")
	if r.Judge() != Pass || Pass.ExitCode() != 0 {
		t.Fatal("all checks held: want pass, exit 0")
	}
	var js bytes.Buffer
	r.WriteJSON(&js)
	if !bytes.Contains(js.Bytes(), []byte(`"faults": []`)) {
		t.Fatalf("no faults must print as an empty list, not null:\n%s", js.String())
	}
}
