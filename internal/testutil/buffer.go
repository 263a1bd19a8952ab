// Package testutil holds what several packages' tests share.
package testutil

import (
	"bytes"
	"regexp"
	"sync"
)

// Buffer is a bytes.Buffer safe for one writer and concurrent readers; NotifyOn's channel
// closes once the content matches re, so a test waits on output without polling.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	re      *regexp.Regexp
	matched chan struct{}
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.re != nil && s.re.Match(s.b.Bytes()) {
		close(s.matched)
		s.re = nil
	}
	return n, err
}

// NotifyOn returns a channel closed as soon as the content matches re (at once if it
// already does).
func (s *Buffer) NotifyOn(re *regexp.Regexp) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.matched = make(chan struct{})
	if re.Match(s.b.Bytes()) {
		close(s.matched)
	} else {
		s.re = re
	}
	return s.matched
}

// String returns the content so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
