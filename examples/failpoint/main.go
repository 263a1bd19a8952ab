package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/faultbox/faultbox/failpoint"
)

var walSync = failpoint.New("demo/wal/sync")

// syncRecord stands for an fsync that can fail.
func syncRecord() error {
	if err := walSync.Err(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

func main() {
	records := flag.Int("n", 20, "records to write")
	every := flag.Duration("every", 0, "pause between records (with -serve, to leave time to reconfigure)")
	serve := flag.Bool("serve", false, "serve the fail point HTTP control on $FAILPOINTS_HTTP")
	flag.Parse()
	if failpoint.EnvErr() != nil {
		os.Exit(2) // the package already said on stderr what is wrong with FAILPOINTS
	}
	for _, name := range failpoint.Pending() {
		fmt.Printf("warning: FAILPOINTS configures %q, but no fail point has that name\n", name)
	}
	if *serve {
		ln, err := failpoint.ServeFromEnv()
		if err != nil || ln == nil {
			fmt.Fprintln(os.Stderr, "serve:", err, "(set FAILPOINTS_HTTP=127.0.0.1:PORT)")
			os.Exit(2)
		}
		defer ln.Close()
		fmt.Println("control on", ln.Addr())
	}
	var marks strings.Builder
	failed := 0
	for range *records {
		if err := syncRecord(); err != nil {
			if !errors.Is(err, failpoint.ErrInjected) {
				panic(err)
			}
			failed++
			marks.WriteByte('X')
		} else {
			marks.WriteByte('.')
		}
		time.Sleep(*every)
	}
	fmt.Printf("%d records, %d syncs failed: %s\n", *records, failed, marks.String())
}
