package mount

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/faultbox/faultbox/disk"
)

// The control protocol, on a Unix socket (ServeControl, Send): one command a line, one answer
// line each, "ok ..." or "error ...":
//
//	crash          power loss for the mount's disk (Mount.Crash)
//	wipe           empty the disk (Mount.Wipe)
//	rules [SPEC]   install targeting rules in the one-line form (disk.ParseRules); none: clear
//	status         operations served, crashes, events in the disk's log
//	unmount        ask the server to unmount and stop (the answer comes before it does)
//
// It is what LazyFS's command FIFO is for the same job, with an answer, so that a script
// knows the crash happened before it goes on.

// Command is one parsed control line.
type Command struct {
	Verb  string      // crash, wipe, rules, status, unmount
	Rules []disk.Rule // rules: the parsed SPEC (empty clears)
	Spec  string      // rules: the SPEC as given
}

// ParseCommand reads one control line. Errors name the field, the value and what was wanted.
func ParseCommand(line string) (Command, error) {
	line = strings.TrimSpace(line)
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "crash", "wipe", "status", "unmount":
		if rest != "" {
			return Command{}, fmt.Errorf("control: command %q takes no argument, got %q", verb, rest)
		}
		return Command{Verb: verb}, nil
	case "rules":
		c := Command{Verb: verb, Spec: rest}
		if rest == "" {
			return c, nil
		}
		rs, err := disk.ParseRules(rest)
		if err != nil {
			return Command{}, fmt.Errorf("control: rules: %w", err)
		}
		c.Rules = rs
		return c, nil
	case "":
		return Command{}, errors.New("control: empty line: want one of crash, wipe, rules [SPEC], status, unmount")
	}
	return Command{}, fmt.Errorf("control: command %q: want one of crash, wipe, rules [SPEC], status, unmount", verb)
}

// command carries out a command; unmount only answers (the caller stops the mount).
func (m *Mount) command(c Command) string {
	switch c.Verb {
	case "crash":
		torn := m.Crash()
		return fmt.Sprintf("ok crash %d: %d torn writes", m.Crashes(), len(torn))
	case "wipe":
		m.Wipe()
		return "ok wipe"
	case "rules":
		if err := m.st.SetRules(c.Rules); err != nil {
			return "error " + err.Error()
		}
		if len(c.Rules) == 0 {
			return "ok rules cleared"
		}
		return fmt.Sprintf("ok rules %d installed", len(c.Rules))
	case "status":
		return fmt.Sprintf("ok ops %d crashes %d events %d", m.Ops(), m.Crashes(), m.st.Log().Len()+m.st.Log().Dropped())
	case "unmount":
		return "ok unmount"
	}
	return "error unknown command " + c.Verb
}

// Control is a running control socket.
type Control struct {
	ln      net.Listener
	unmount chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
	closed  bool
}

// ServeControl listens on a Unix socket at path (replacing a stale socket there) and serves
// the control protocol until Close.
func (m *Mount) ServeControl(path string) (*Control, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path) // a socket left by a server that died
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	c := &Control{ln: ln, unmount: make(chan struct{}), conns: map[net.Conn]bool{}}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				conn.Close()
				return
			}
			c.conns[conn] = true
			c.mu.Unlock()
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer func() {
					c.mu.Lock()
					delete(c.conns, conn)
					c.mu.Unlock()
					conn.Close()
				}()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					cmd, err := ParseCommand(sc.Text())
					answer := ""
					if err != nil {
						answer = "error " + err.Error()
					} else {
						answer = m.command(cmd)
					}
					if _, err := fmt.Fprintln(conn, answer); err != nil {
						return
					}
					if err == nil && cmd.Verb == "unmount" {
						c.once.Do(func() { close(c.unmount) })
					}
				}
			}()
		}
	}()
	return c, nil
}

// Unmount is closed when a client asked to unmount.
func (c *Control) Unmount() <-chan struct{} { return c.unmount }

// Close stops serving, hangs up on every client and removes the socket.
func (c *Control) Close() error {
	err := c.ln.Close()
	c.mu.Lock()
	c.closed = true
	for conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
	return err
}

// Send sends one control line to the socket at path and returns the answer; an answer that
// starts with "error" comes back as an error too.
func Send(path, line string) (string, error) {
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("control socket %s: %w (is 'faultbox disk mount --control %s' running?)", path, err, path)
	}
	defer conn.Close()
	if _, err := fmt.Fprintln(conn, strings.TrimSpace(line)); err != nil {
		return "", err
	}
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("control socket %s: no answer: %w", path, err)
	}
	answer = strings.TrimSpace(answer)
	if strings.HasPrefix(answer, "error") {
		return answer, errors.New(strings.TrimSpace(strings.TrimPrefix(answer, "error")))
	}
	return answer, nil
}
