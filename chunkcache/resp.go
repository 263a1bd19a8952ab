package chunkcache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// DefaultRESPKeyPrefix is the prefix of every Redis key the resp adapter writes.
const DefaultRESPKeyPrefix = "chunkcache:"

var respType = AdapterType{
	Name: "resp",
	Doc:  "A Redis or Valkey server spoken to over RESP (github.com/redis/go-redis/v9); one string value per key, batches pipelined. Eviction is the server's (maxmemory-policy); locks are kept by the adapter.",
	Fields: []FieldDoc{
		{Name: "url", Type: "string", Doc: `server URL, e.g. "redis://127.0.0.1:6379/0" (user, password, database and query options such as max_retries and dial_timeout as go-redis parses them; commands are retried once unless max_retries is given)`},
		{Name: "key_prefix", Type: "string", Default: `"chunkcache:"`, Doc: "prefix of the Redis keys"},
	},
	Parse: func(s *Spec) (Config, error) {
		u, err := s.String("url", "", true)
		if err != nil {
			return nil, err
		}
		if _, err := redis.ParseURL(u); err != nil {
			return nil, s.Errorf("url", "expected a redis:// or rediss:// URL, got %s: %v", render(u), err)
		}
		p, err := s.String("key_prefix", DefaultRESPKeyPrefix, false)
		if err != nil {
			return nil, err
		}
		return RESPConfig{URL: u, KeyPrefix: p}, nil
	},
}

// RESPConfig configures the resp adapter (type "resp").
type RESPConfig struct {
	URL       string
	KeyPrefix string
}

// Type implements Config.
func (RESPConfig) Type() string { return "resp" }

// Open implements Config: it connects and checks the server with PING.
func (c RESPConfig) Open(ctx context.Context, _ Env) (Adapter, error) {
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("resp: %w", err)
	}
	// A cache tier must fail fast: a dead server should cost one quick retry, not the
	// client's default of several dial retries per command retry (seconds per call).
	if !strings.Contains(c.URL, "max_retries=") {
		opts.MaxRetries = 1
	}
	opts.DialerRetries = 1
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("resp %s: ping: %w", opts.Addr, err)
	}
	return &RESP{client: client, prefix: c.KeyPrefix, addr: opts.Addr, index: newFileIndex()}, nil
}

// RESP is the Redis/Valkey adapter.
type RESP struct {
	client *redis.Client
	prefix string
	addr   string
	locks  lockTable
	index  *fileIndex // bytes stored through this adapter, for Usage

	mu        sync.Mutex
	lastError string
}

func (a *RESP) rkey(k Key) string { return a.prefix + k.ID() }

func (a *RESP) noteError(err error) {
	a.mu.Lock()
	a.lastError = err.Error()
	a.mu.Unlock()
}

// Name implements Adapter.
func (a *RESP) Name() string { return "RESPL2Adapter" }

// Store implements Adapter: one pipelined SET per key.
func (a *RESP) Store(ctx context.Context, keys []Key, objects [][]byte) error {
	if err := checkBatch("resp store", len(keys), len(objects)); err != nil {
		return err
	}
	pipe := a.client.Pipeline()
	cmds := make([]*redis.StatusCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Set(ctx, a.rkey(k), objects[i], 0)
	}
	_, _ = pipe.Exec(ctx)
	var errs []error
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			errs = append(errs, fmt.Errorf("resp store %s: %w", keys[i].ID(), err))
			continue
		}
		a.index.put(keys[i], int64(len(objects[i])))
	}
	if err := errors.Join(errs...); err != nil {
		a.noteError(err)
		return err
	}
	return nil
}

// LookupAndLock implements Adapter: one pipelined EXISTS per key.
func (a *RESP) LookupAndLock(ctx context.Context, keys []Key) (Bitmap, error) {
	pipe := a.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, a.rkey(k))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		a.noteError(err)
		return Bitmap{}, fmt.Errorf("resp lookup: %w", err)
	}
	found := NewBitmap(len(keys))
	for i, c := range cmds {
		if c.Val() == 1 {
			a.locks.lock(keys[i].ID())
			found.Set(i)
		}
	}
	return found, nil
}

// Unlock implements Adapter.
func (a *RESP) Unlock(_ context.Context, keys []Key) { a.locks.unlockKeys(keys) }

// Load implements Adapter: one pipelined GET per key.
func (a *RESP) Load(ctx context.Context, keys []Key, bufs [][]byte) (Bitmap, error) {
	if err := checkBatch("resp load", len(keys), len(bufs)); err != nil {
		return Bitmap{}, err
	}
	pipe := a.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, a.rkey(k))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		a.noteError(err)
		return NewBitmap(len(keys)), fmt.Errorf("resp load: %w", err)
	}
	got := NewBitmap(len(keys))
	for i, c := range cmds {
		if c.Err() != nil {
			continue
		}
		v := c.Val()
		if len(v) > cap(bufs[i]) {
			continue
		}
		bufs[i] = bufs[i][:len(v)]
		copy(bufs[i], v)
		got.Set(i)
	}
	return got, nil
}

// Delete implements Adapter.
func (a *RESP) Delete(ctx context.Context, keys []Key) error {
	if len(keys) == 0 {
		return nil
	}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = a.rkey(k)
		a.index.remove(k.ID())
	}
	if err := a.client.Del(ctx, names...).Err(); err != nil {
		a.noteError(err)
		return fmt.Errorf("resp delete: %w", err)
	}
	return nil
}

// Usage implements Adapter. It counts the bytes stored through this adapter instance (the
// server may hold more, from other clients, or less, after its own eviction).
func (a *RESP) Usage(context.Context) (Usage, error) { return a.index.usage(), nil }

// Status implements Adapter; healthy means the server answers PING.
func (a *RESP) Status(ctx context.Context) map[string]any {
	err := a.client.Ping(ctx).Err()
	st := map[string]any{"is_healthy": err == nil, "type": "resp", "addr": a.addr, "key_prefix": a.prefix}
	a.mu.Lock()
	if a.lastError != "" {
		st["last_error"] = a.lastError
	}
	a.mu.Unlock()
	if err != nil {
		st["ping_error"] = err.Error()
	}
	return st
}

// LockedKeys implements LockInspector.
func (a *RESP) LockedKeys() []string { return a.locks.keys() }

// Close implements Adapter.
func (a *RESP) Close() error { return a.client.Close() }
