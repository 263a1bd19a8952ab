package chunkcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testKey returns a key whose chunk hash is i as 4 big-endian bytes.
func testKey(i int, salt string) Key {
	h := make([]byte, 4)
	binary.BigEndian.PutUint32(h, uint32(i))
	return Key{ChunkHash: h, Model: "m", KVRank: 1, ObjectGroup: 2, CacheSalt: salt}
}

func testKeys(n int, salt string) []Key {
	ks := make([]Key, n)
	for i := range ks {
		ks[i] = testKey(i, salt)
	}
	return ks
}

func testPayload(i, size int) []byte {
	p := make([]byte, size)
	for j := range p {
		p[j] = byte(i*31 + j*7)
	}
	return p
}

func testPayloads(n, size int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = testPayload(i, size)
	}
	return ps
}

func buffers(n, size int) [][]byte {
	b := make([][]byte, n)
	for i := range b {
		b[i] = make([]byte, 0, size)
	}
	return b
}

// requireNoLocks fails the test if a holds any lock.
func requireNoLocks(t testing.TB, a Adapter) {
	t.Helper()
	li, ok := a.(LockInspector)
	if !ok {
		t.Fatalf("%s does not implement LockInspector", a.Name())
	}
	if ks := li.LockedKeys(); len(ks) != 0 {
		t.Fatalf("%s: %d key(s) left locked: %v", a.Name(), len(ks), ks)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startRedis starts a private redis-server on a free loopback port and returns its URL.
// A missing redis-server fails the test: `make test` installs it (scripts/deps.sh).
func startRedis(t testing.TB) string {
	t.Helper()
	url, _ := startRedisStoppable(t)
	return url
}

// startRedisStoppable is startRedis that also returns a function that kills the server.
func startRedisStoppable(t testing.TB) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH; the resp adapter's contract tests need a real server. " +
			"Install it with scripts/deps.sh (run by `make test`) or `apt-get install redis-server`")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--protected-mode", "yes")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	client := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return url, stop
		}
		select {
		case <-done:
			t.Fatalf("redis-server exited early: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer PING within 10s: %v\n%s", port, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
