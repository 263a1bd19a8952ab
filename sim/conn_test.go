package sim

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// A stream delivers in order even when every segment draws its own latency, and a lost
// segment arrives late, not never.
func TestStreamIsOrdered(t *testing.T) {
	t.Parallel()
	w := New(3, Options{Network: Network{LatencyMin: time.Millisecond, LatencyMax: 20 * time.Millisecond, DropProbability: 0.2}})
	var got []string
	w.SpawnTask(ip2, func(tk *Task) {
		c := tk.Accept()
		for {
			b, err := c.Recv()
			if err != nil {
				got = append(got, err.Error())
				return
			}
			got = append(got, string(b))
		}
	})
	w.SpawnTask(ip1, func(tk *Task) {
		c, err := tk.Dial(ip2)
		if err != nil {
			panic(err)
		}
		for i := range 50 {
			c.Send([]byte(fmt.Sprint(i)))
		}
		c.Close()
	})
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprint(i))
	}
	want = append(want, io.EOF.Error())
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v", got)
	}
	if w.Log().Count(fault.LayerNet, "retransmit") == 0 {
		t.Fatal("no segment was lost at 20%: the test shows nothing")
	}
}

// A crash resets the stream: the other end's Recv and Send fail with ErrReset; a dial to a
// process that is down is refused.
func TestStreamResetsOnCrash(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	var serverErr, clientErr, redial error
	w.SpawnTask(ip2, func(tk *Task) {
		c := tk.Accept()
		_, serverErr = c.Recv() // nothing comes: the client crashes
	})
	w.SpawnTask(ip1, func(tk *Task) {
		c, err := tk.Dial(ip2)
		if err != nil {
			panic(err)
		}
		tk.Sleep(time.Hour)
		clientErr = c.Send(nil)
	})
	w.At(10*time.Millisecond, func() { w.Stop(ip1, Crash) })
	w.SpawnTask(ip3, func(tk *Task) {
		tk.Sleep(20 * time.Millisecond)
		w.Stop(ip2, Graceful)
		tk.Sleep(time.Millisecond)
		_, redial = tk.Dial(ip2)
	})
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(serverErr, ErrReset) || clientErr != nil || !errors.Is(redial, ErrRefused) {
		t.Fatalf("server %v, client %v (never ran on), redial %v", serverErr, clientErr, redial)
	}
}

// A partition cuts a stream: the next segment across it resets both ends.
func TestStreamResetsOnPartition(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	var sendErr, recvErr error
	w.SpawnTask(ip2, func(tk *Task) {
		c := tk.Accept()
		for recvErr == nil {
			_, recvErr = c.Recv()
		}
	})
	w.SpawnTask(ip1, func(tk *Task) {
		c, err := tk.Dial(ip2)
		if err != nil {
			panic(err)
		}
		for sendErr == nil {
			sendErr = c.Send([]byte("x"))
			tk.Sleep(time.Millisecond)
		}
	})
	w.At(10*time.Millisecond, func() { w.Partition(ip1, ip2) })
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(sendErr, ErrReset) || !errors.Is(recvErr, ErrReset) || w.Log().Count(fault.LayerNet, "reset") != 1 {
		t.Fatalf("send %v recv %v resets %d", sendErr, recvErr, w.Log().Count(fault.LayerNet, "reset"))
	}
}
