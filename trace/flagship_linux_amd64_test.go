//go:build linux && amd64

package trace

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// flagshipSpec is the README's first example, aimed at file: cat reads a file with read when
// its stdout is a terminal or a pipe, and copies it with copy_file_range (coreutils 9) when
// its stdout is a regular file.
func flagshipSpec(file string) string { return "read,copy_file_range:error=EIO:path=" + file }

// The README's first example must fail visibly whatever cat's stdout is: cat reports the
// error on the file and exits 1, and the fault is on the call that read the file.
func TestFlagshipExampleFailsWhateverStdout(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hostname")
	if err := os.WriteFile(file, []byte("box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"file", "pipe", "terminal"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			stdout, read := stdoutOfKind(t, kind)
			errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer errFile.Close()
			res, err := Run(t.Context(), Config{Args: []string{"cat", file}, Stdout: stdout, Stderr: errFile,
				Rules: []*Rule{mustRule(t, flagshipSpec(file))}, MaxEvents: -1})
			if err != nil {
				t.Fatal(err)
			}
			out := read()
			msg, _ := os.ReadFile(errFile.Name())
			if res.ExitCode != 1 || strings.Contains(out, "box") || !strings.Contains(string(msg), file+": Input/output error") {
				t.Fatalf("exit %d, stdout %q, stderr %q: want cat to fail on %s with EIO", res.ExitCode, out, msg, file)
			}
			if len(res.Faults) != 1 || len(res.Unfired) != 0 {
				t.Errorf("faults %q, unfired %q: want one fault", res.Faults, res.Unfired)
			}
		})
	}
}

// stdoutOfKind opens a stdout for a traced command: a regular file, a pipe or a terminal (a
// pseudo-terminal's slave end). read returns what the command wrote once it has exited.
func stdoutOfKind(t *testing.T, kind string) (stdout *os.File, read func() string) {
	t.Helper()
	switch kind {
	case "file":
		f, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f, func() string {
			b, _ := os.ReadFile(f.Name())
			return string(b)
		}
	case "pipe":
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r)
			r.Close()
			got <- string(b)
		}()
		t.Cleanup(func() { w.Close() })
		return w, func() string {
			w.Close() // the command has exited: this was the last write end
			return <-got
		}
	case "terminal":
		master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		t.Cleanup(func() { master.Close() })
		fd := int(master.Fd())
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			t.Fatal(err)
		}
		n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
		if err != nil {
			t.Fatal(err)
		}
		slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { slave.Close() })
		got := make(chan string, 1)
		go func() {
			// Reading the master fails (EIO) once every slave end is closed and all that
			// was written has been read.
			b, _ := io.ReadAll(master)
			got <- string(b)
		}()
		return slave, func() string {
			slave.Close() // the command has exited: this was the last slave end
			return <-got
		}
	}
	t.Fatalf("no stdout of kind %q", kind)
	return nil, nil
}
