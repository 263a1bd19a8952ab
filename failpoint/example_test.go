package failpoint_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/faultbox/faultbox/failpoint"
)

// A site is declared once at package level and evaluated where the failure belongs.
var walSync = failpoint.New("example/wal/sync")

func syncWAL() error {
	if err := walSync.Err(); err != nil {
		return fmt.Errorf("sync wal: %w", err)
	}
	return nil // the real fsync would be here
}

func Example() {
	fmt.Println(syncWAL())

	// What FAILPOINTS="example/wal/sync=2*return(EIO)->off" would do.
	if err := failpoint.Enable("example/wal/sync", "2*return(EIO)->off"); err != nil {
		panic(err)
	}
	defer failpoint.Disable("example/wal/sync")
	for range 3 {
		err := syncWAL()
		fmt.Println(err, errors.Is(err, failpoint.ErrInjected))
	}
	st, _ := failpoint.Get("example/wal/sync")
	fmt.Printf("hits=%d fired=%d\n", st.Hits, st.Fired)
	// Output:
	// <nil>
	// sync wal: failpoint example/wal/sync: return(EIO) true
	// sync wal: failpoint example/wal/sync: return(EIO) true
	// <nil> false
	// hits=3 fired=3
}

var cacheGet = failpoint.New("example/cache/get")

// A scope carried by a context has its own terms and counters: what one test enables, a
// parallel test cannot see.
func ExampleScope() {
	sc := failpoint.NewScope()
	defer sc.Close()
	ctx := sc.Context(context.Background())
	if err := sc.Enable("example/cache/get", "return(miss)"); err != nil {
		panic(err)
	}
	fmt.Println(cacheGet.EvalContext(ctx))
	fmt.Println(cacheGet.EvalContext(context.Background()))
	// Output:
	// miss true
	//  false
}

func ExampleEnable_notRegistered() {
	err := failpoint.Enable("example/typo", "panic")
	fmt.Println(errors.Is(err, failpoint.ErrNotRegistered))
	// Output: true
}

func ExampleParse() {
	terms, err := failpoint.Parse("20%3*print(still alive!) -> sleep(1.5s) -> return('x')")
	if err != nil {
		panic(err)
	}
	for _, t := range terms {
		fmt.Printf("%-8s percent=%g count=%d arg=%q\n", t.Action, t.Percent, t.Count, t.Arg)
	}
	fmt.Println(failpoint.Format(terms))

	_, err = failpoint.Parse("50%3*retrun(EIO)")
	fmt.Println(err)
	// Output:
	// print    percent=20 count=3 arg="still alive!"
	// sleep    percent=100 count=-1 arg="1.5s"
	// return   percent=100 count=-1 arg="x"
	// 20%3*print("still alive!")->sleep(1500)->return("x")
	// failpoint: parse "50%3*retrun(EIO)": term 1 "50%3*retrun(EIO)" at offset 5: expected an action (one of off, return, sleep, panic, print, pause, yield, delay), found "retrun"
}

var raftSend = failpoint.New("example/raft/send")

// The HTTP handler mounts on any mux; Client is what `faultbox failpoints` uses.
func ExampleHandler() {
	srv := httptest.NewServer(failpoint.Handler())
	defer srv.Close()
	c := &failpoint.Client{Addr: srv.URL}
	ctx := context.Background()
	if err := c.Set(ctx, "example/raft/send", "1*return(dropped)"); err != nil {
		panic(err)
	}
	fmt.Println(raftSend.Eval())
	fmt.Println(raftSend.Eval())
	list, _ := c.List(ctx)
	for _, st := range list {
		if st.Name == "example/raft/send" {
			fmt.Printf("%s terms=%q hits=%d fired=%d\n", st.Name, st.Terms, st.Hits, st.Fired)
		}
	}
	if err := c.Clear(ctx, "example/raft/send"); err != nil {
		panic(err)
	}
	// Output:
	// dropped true
	//  false
	// example/raft/send terms="1*return(dropped)" hits=2 fired=1
}

func ExampleWriteList() {
	_ = failpoint.WriteList(os.Stdout, []failpoint.Status{
		{Name: "wal/sync", Terms: "50%return(EIO)", Registered: true, Hits: 10, Fired: 4},
		{Name: "raft/send", Registered: true},
		{Name: "typo", Terms: "panic"},
	})
	// Output:
	// NAME       STATE           HITS     FIRED  TERMS
	// wal/sync   on                10         4  50%return(EIO)
	// raft/send  off                0         0
	// typo       pending            0         0  panic
}

var walAppend = failpoint.New("example/wal/append")

// Tests sequence goroutines on hit counters instead of sleeping: park a goroutine in `pause`,
// wait until it is there, act, then release it by reconfiguring.
func ExampleScope_WaitHits() {
	sc := failpoint.NewScope()
	defer sc.Close()
	ctx := sc.Context(context.Background())
	if err := sc.Enable("example/wal/append", "pause"); err != nil {
		panic(err)
	}
	done := make(chan string)
	go func() {
		walAppend.EvalContext(ctx) // parks here
		done <- "append finished"
	}()
	if err := sc.WaitHits(ctx, "example/wal/append", 1); err != nil {
		panic(err)
	}
	fmt.Println("append is parked in the fail point")
	if err := sc.Enable("example/wal/append", "off"); err != nil { // releases it
		panic(err)
	}
	fmt.Println(<-done)
	// Output:
	// append is parked in the fail point
	// append finished
}

// Configure takes FAILPOINTS syntax; names that no site has registered wait, and are
// reported, until a site registers them.
func ExampleConfigure() {
	if err := failpoint.Configure("example/late=return(7);example/typo=panic"); err != nil {
		panic(err)
	}
	defer failpoint.Disable("example/typo")
	// Until a site named example/late registers, its terms wait; then they apply.
	late := failpoint.New("example/late")
	defer failpoint.Disable("example/late")
	fmt.Println(late.Eval())
	// What is still pending names no site: here, a typo.
	fmt.Println(failpoint.Pending())
	// Output:
	// 7 true
	// [example/typo]
}
