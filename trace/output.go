//go:build linux

package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// WriteJSONL writes one JSON object per event, in the order the tracer saw them.
func WriteJSONL(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range r.Events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteOutputs writes the files asked for on the command line; empty paths are skipped.
func WriteOutputs(r *Result, events, html, chrome string) error {
	for _, o := range []struct {
		path string
		fn   func(io.Writer, *Result) error
	}{{events, WriteJSONL}, {html, WriteHTML}, {chrome, WriteChrome}} {
		if o.path == "" {
			continue
		}
		f, err := os.Create(o.path)
		if err != nil {
			return fmt.Errorf("faultbox run: %w", err)
		}
		err = o.fn(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("faultbox run: write %s: %w", o.path, err)
		}
	}
	return nil
}

func WriteHTML(w io.Writer, r *Result) error   { return nil }
func WriteChrome(w io.Writer, r *Result) error { return nil }
