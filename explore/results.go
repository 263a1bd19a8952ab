package explore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The files an exploration writes to its output directory.
const (
	RunsFile   = "runs.jsonl"  // one RunResult a line, by index
	ResultFile = "result.json" // the Result without its runs: failures, curve, options
	ReportFile = "report.html" // the self-contained report
)

// FailedRuns counts the runs that failed a check.
func (r *Result) FailedRuns() int {
	n := 0
	for _, run := range r.Runs {
		if run.Failed {
			n++
		}
	}
	return n
}

// Distinct is the number of distinct signatures among the runs (the curve's last value).
func (r *Result) Distinct() int {
	if len(r.Curve) == 0 {
		return 0
	}
	return r.Curve[len(r.Curve)-1]
}

// Write writes the results to dir (created if needed): runs.jsonl, result.json and
// report.html. Two explorations with the same options write the same runs.jsonl and
// result.json byte for byte.
func (r *Result) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var runs bytes.Buffer
	enc := json.NewEncoder(&runs)
	enc.SetEscapeHTML(false)
	for _, run := range r.Runs {
		if err := enc.Encode(run); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, RunsFile), runs.Bytes(), 0o644); err != nil {
		return err
	}
	var head bytes.Buffer
	if err := r.WriteJSON(&head); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ResultFile), head.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ReportFile), []byte(r.HTML()), 0o644)
}

// WriteJSON writes the result without its runs as one indented JSON object: result.json, and
// what `faultbox explore --json` prints.
func (r *Result) WriteJSON(w io.Writer) error {
	head := *r
	head.Runs = nil
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(head)
}

// Read reads what Write wrote.
func Read(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultFile))
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ResultFile), err)
	}
	f, err := os.Open(filepath.Join(dir, RunsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if r.Runs, err = ReadRuns(f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RunsFile), err)
	}
	return &r, nil
}

// ReadRuns reads runs.jsonl: one RunResult a line, in increasing order of index (a shard's
// file holds its own share). A bad line is an error
// naming it; unknown fields are refused.
func ReadRuns(rd io.Reader) ([]RunResult, error) {
	var runs []RunResult
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var run RunResult
		if err := dec.Decode(&run); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value: want one run a line", line)
		}
		if run.Index < 0 || (len(runs) > 0 && run.Index <= runs[len(runs)-1].Index) {
			return nil, fmt.Errorf("line %d: index %d: want runs in increasing order of index from 0", line, run.Index)
		}
		runs = append(runs, run)
	}
	return runs, sc.Err()
}

// Merge combines the results of the shards of one exploration into the result a single
// machine gives for the same options: the runs by index, the curve and the distinct failures
// (each shard shrank its own first failure of each check; the merged failure of a check is
// the one with the lowest run index, which is the one a single machine finds and shrinks).
func Merge(shards []*Result) (*Result, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("explore merge: no results")
	}
	first := shards[0]
	// Every shard of a lineage exploration learns the whole model.
	out := &Result{Target: first.Target, Strategy: first.Strategy, Seed: first.Seed, Shard: 0, Shards: 1, FirstFailure: -1,
		Model: first.Model}
	have := map[int]bool{}
	var shrunk []Failure
	for _, s := range shards {
		if s.Target != first.Target || s.Strategy != first.Strategy || s.Seed != first.Seed || s.Shards != first.Shards {
			return nil, fmt.Errorf("explore merge: shard %d of %d (%s, %s, seed %d) is not of the same exploration as shard %d (%s, %s, seed %d)",
				s.Shard, s.Shards, s.Target, s.Strategy, s.Seed, first.Shard, first.Target, first.Strategy, first.Seed)
		}
		if have[s.Shard] {
			return nil, fmt.Errorf("explore merge: shard %d given twice", s.Shard)
		}
		have[s.Shard] = true
		out.Runs = append(out.Runs, s.Runs...)
		shrunk = append(shrunk, s.Failures...)
	}
	if len(have) != first.Shards {
		return nil, fmt.Errorf("explore merge: %d of %d shards given", len(have), first.Shards)
	}
	slices.SortFunc(out.Runs, func(a, b RunResult) int { return a.Index - b.Index })
	// A budget may stop shards at different points: keep the prefix every shard covered.
	k := 0
	for k < len(out.Runs) && out.Runs[k].Index == k {
		k++
	}
	out.Runs = out.Runs[:k]
	finish(out)
	for i := range out.Failures {
		for _, s := range shrunk {
			if s.Run == out.Failures[i].Run {
				out.Failures[i] = s
			}
		}
	}
	return out, nil
}
