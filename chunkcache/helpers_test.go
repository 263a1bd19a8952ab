package chunkcache

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbox/faultbox/internal/testutil"
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

// syncBuffer is the shared test buffer; notifyOn waits for output without polling.
type syncBuffer = testutil.Buffer

// startRedis starts a private redis-server on a free loopback port and returns its URL.
// A missing redis-server fails the test: `make test` installs it (scripts/deps.sh).
func startRedis(t testing.TB) string {
	t.Helper()
	url, _ := startRedisStoppable(t)
	return url
}

// redisAttempts is how many free ports startRedisStoppable tries. The port is picked by
// listening on :0 and closing, so another process (a parallel test) may take it before
// redis-server binds it; redis then exits early and a fresh port is tried.
const redisAttempts = 4

// startRedisStoppable is startRedis that also returns a function that kills the server.
func startRedisStoppable(t testing.TB) (string, func()) {
	t.Helper()
	return startRedisOnPorts(t, freePort)
}

// freePort returns a loopback TCP port that was free when it returned.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

// startRedisOnPorts is startRedisStoppable with the port picker as a parameter.
func startRedisOnPorts(t testing.TB, pick func() (int, error)) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH; the resp adapter's contract tests need a real server. " +
			"Install it with scripts/deps.sh (run by `make test`) or `apt-get install redis-server`")
	}
	var failures []string
	for attempt := 1; attempt <= redisAttempts; attempt++ {
		port, err := pick()
		if err != nil {
			t.Fatalf("pick a port for redis-server: %v", err)
		}
		url, stop, err := tryStartRedis(bin, t.TempDir(), port)
		if err == nil {
			t.Cleanup(stop)
			return url, stop
		}
		failures = append(failures, fmt.Sprintf("attempt %d: %v", attempt, err))
	}
	t.Fatalf("redis-server did not start in %d attempts, each on a fresh loopback port:\n%s",
		redisAttempts, strings.Join(failures, "\n"))
	return "", nil
}

// tryStartRedis starts redis-server on port (free a moment ago, perhaps) and waits up to
// 10s for it to answer PING. On failure the server is killed and the error carries its
// output.
func tryStartRedis(bin, dir string, port int) (string, func(), error) {
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() { _ = cmd.Process.Kill() })
		<-done
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Short timeouts, honoured through the context too: a PING to a port held by someone
	// else's silent listener must not wait for go-redis's default 3s read timeout.
	const pingTimeout = 200 * time.Millisecond
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: pingTimeout, ReadTimeout: pingTimeout,
		WriteTimeout: pingTimeout, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer client.Close()
	const timeout = 10 * time.Second
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return "", nil, fmt.Errorf("redis-server on port %d exited early (port taken?): %s", port, strings.TrimSpace(out.String()))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return "redis://" + addr + "/0", stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on port %d did not answer PING within %v: %v\n%s", port, timeout, err, out.String())
		}
		select {
		case <-done:
			return "", nil, fmt.Errorf("redis-server on port %d exited early (port taken?): %s", port, strings.TrimSpace(out.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}
