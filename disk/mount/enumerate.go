package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// Program is an unmodified program to crash at each of its persistence points, and the
// check that judges each crash state it leaves. Both run with the mount as their working
// directory.
type Program struct {
	// Workload is the program and its arguments. It must succeed on a healthy disk, and do
	// the same file-system operations each time it runs (its fsyncs are counted in a first,
	// crash-free run, and each later run is crashed at one of them).
	Workload []string
	// Check is run on each distinct post-crash disk and must exit 0 when the state is
	// acceptable. It finds the workload's standard output (what it acknowledged before the
	// crash) in the file named by $FAULTBOX_WORKLOAD_STDOUT, and the state's name in
	// $FAULTBOX_STATE.
	Check []string
	// Env is added to both programs' environment.
	Env []string
	// Timeout bounds each run of either program; 0 means a minute. Each run is its own
	// process group, killed when the run ends: whatever a program leaves running in the
	// background does not outlive it (it would hold the mount busy).
	Timeout time.Duration
}

// EnumerateOptions shape EnumerateProgram.
type EnumerateOptions struct {
	// Dir is an existing, empty directory to mount on, each run in turn; with Workers > 1,
	// each worker mounts on its own subdirectory, Dir/w0, Dir/w1, ...
	Dir string
	// Workers is how many crash states are run and checked at once (0 or 1: one at a
	// time). The result is the same for any number: states are decided, folded and
	// reported in the order of their points and shapes.
	Workers int
	// TornSeeds, Seed, PowersafeOverwrite and SectorSize are disk.EnumerateOptions's.
	TornSeeds          int
	Seed               fault.Seed
	PowersafeOverwrite bool
	SectorSize         int
	// Point and Shape, when set, restrict the enumeration to that point (1 is the first
	// fsync; the end is the fsync count plus one) and that shape ("drop", "keep-all" or
	// "torn/N"): the replay of one state.
	Point int
	Shape string
	// Save, when set, is a directory where the files of each failing state are copied, in
	// a subdirectory named after it ("point-5-drop"), for a look with ordinary tools.
	Save string
	// Progress, if set, is called after each crash state is decided.
	Progress func(state string, checked bool, err error)
}

// EnumerateProgram is disk.Enumerate for a program nobody here wrote, through the mount, as
// ALICE did for real applications. A first run on a healthy disk counts the program's
// persistence points (each fsync of a file or directory). Then, for each point, the
// program runs again on a fresh lying disk with a rule that crashes it just before that
// fsync, once per crash shape: unsynced data dropped, all kept, and TornSeeds torn shapes;
// after the crash every operation of the workload fails with EIO, as if the power had gone.
// The end of the workload is the last point. Each post-crash disk that differs from the
// others of its point is mounted again and judged by Check.
//
// It costs two mounts and a run of each program per crash shape, so keep the workload
// small: a few transactions give tens of points.
func EnumerateProgram(ctx context.Context, p Program, opts EnumerateOptions) (disk.EnumerateResult, error) {
	var res disk.EnumerateResult
	if len(p.Workload) == 0 || len(p.Check) == 0 {
		return res, errors.New("mount: EnumerateProgram needs a workload and a check command")
	}
	if p.Timeout <= 0 {
		p.Timeout = time.Minute
	}
	if opts.TornSeeds == 0 {
		opts.TornSeeds = 8
	}
	// The workload's standard output of each run, kept for its check: one file per shape,
	// reused point after point.
	scratch, err := os.MkdirTemp("", "faultbox-enumerate-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(scratch)

	// The workers' mount points: Dir itself for one worker, else Dir/w0, Dir/w1, ...
	dirs := []string{opts.Dir}
	if opts.Workers > 1 {
		dirs = dirs[:0]
		for w := 0; w < opts.Workers; w++ {
			d := filepath.Join(opts.Dir, "w"+strconv.Itoa(w))
			if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return res, err
			}
			defer os.Remove(d)
			dirs = append(dirs, d)
		}
	}

	// The crash-free run: how many persistence points.
	st, err := disk.NewStorage(opts.Seed, disk.Config{SectorSize: opts.SectorSize}, nil)
	if err != nil {
		return res, err
	}
	var points int
	if err := withMount(dirs[0], st, false, func(m *Mount) error {
		if err := p.run(ctx, p.Workload, dirs[0], filepath.Join(scratch, "crash-free"), "", "crash-free run"); err != nil {
			return fmt.Errorf("the workload fails on a healthy disk: %w", err)
		}
		points = int(m.Syncs())
		return nil
	}); err != nil {
		return res, err
	}

	type shape struct {
		name string
		cfg  disk.Config
	}
	shapes := []shape{
		{"drop", disk.Config{}},
		{"keep-all", disk.Config{CrashKeepAllProbability: 1}},
	}
	for i := 1; i <= opts.TornSeeds; i++ {
		shapes = append(shapes, shape{"torn/" + strconv.Itoa(i), disk.Config{CrashFaultProbability: 1, CrashPowersafeOverwrite: opts.PowersafeOverwrite}})
	}
	if opts.Point < 0 || opts.Point > points+1 {
		return res, fmt.Errorf("point %d: the workload has %d (its %d fsyncs and its end)", opts.Point, points+1, points)
	}
	if opts.Shape != "" && !slices.ContainsFunc(shapes, func(sh shape) bool { return sh.name == opts.Shape }) {
		if opts.TornSeeds < 1 {
			return res, fmt.Errorf("shape %q: want drop or keep-all (no torn shapes were asked for)", opts.Shape)
		}
		return res, fmt.Errorf("shape %q: want drop, keep-all or torn/1..torn/%d", opts.Shape, opts.TornSeeds)
	}
	type run struct {
		shape    shape
		state    string
		st       *disk.Storage
		stdout   string // the file of the workload's standard output, for the check
		runErr   error
		checked  bool
		checkErr error
		saved    *disk.MemFS // with Save: the state as the crash left it
	}
	for k := 1; k <= points+1; k++ {
		if opts.Point != 0 && k != opts.Point {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		res.Points++
		at := "end"
		if k <= points {
			at = "fsync " + strconv.Itoa(k)
		}
		var runs []*run
		for _, sh := range shapes {
			if opts.Shape == "" || sh.name == opts.Shape {
				runs = append(runs, &run{shape: sh, state: fmt.Sprintf("point %d (before %s), %s", k, at, sh.name),
					stdout: filepath.Join(scratch, "stdout-"+strconv.Itoa(len(runs)))})
			}
		}

		// The workload, crashed at this point in each shape, on the workers' mounts.
		if err := parallel(len(dirs), len(runs), func(w, i int) error {
			r := runs[i]
			cfg := r.shape.cfg
			cfg.SectorSize = opts.SectorSize
			st, err := disk.NewStorage(opts.Seed.Derive("enumerate", strconv.Itoa(k), r.shape.name), cfg, nil)
			if err != nil {
				return err
			}
			r.st = st
			if k <= points {
				// Parsed for each run: a rule's nth= keeps its count, so runs cannot share one.
				rules, err := disk.ParseRules("sync,syncdir:nth=" + strconv.Itoa(k) + ":crash")
				if err != nil {
					return err
				}
				if err := st.SetRules(rules); err != nil {
					return err
				}
			}
			return withMount(dirs[w], st, true, func(m *Mount) error {
				r.runErr = p.run(ctx, p.Workload, dirs[w], r.stdout, r.state, "workload") // it fails at the crash
				if k > points {
					m.Crash()
				}
				return nil
			})
		}); err != nil {
			return res, err
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// In the shapes' order: did each run reach its point, and which states are new.
		seen := map[uint64]bool{}
		var checks []*run
		for _, r := range runs {
			_ = r.st.SetRules(nil)
			res.Tried++
			if r.st.Crashes(DefaultProcess) != 1 {
				return res, fmt.Errorf("%s: the workload did not reach its fsync %d this time (%d in the crash-free run): it must do the same operations each run (this run: %v)", r.state, k, points, r.runErr)
			}
			post := r.st.Mem(DefaultProcess)
			d := post.Digest()
			if seen[d] {
				continue
			}
			seen[d] = true
			res.Distinct++
			r.checked = true
			if opts.Save != "" {
				r.saved, _ = post.Crash(disk.CrashOptions{KeepAllProbability: 1})
			}
			checks = append(checks, r)
		}
		// The check on each new state, on the workers' mounts.
		if err := parallel(len(dirs), len(checks), func(w, i int) error {
			r := checks[i]
			return withMount(dirs[w], r.st, false, func(*Mount) error {
				r.checkErr = p.run(ctx, p.Check, dirs[w], r.stdout, r.state, "check")
				return nil
			})
		}); err != nil {
			return res, err
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		for _, r := range runs {
			if r.checkErr != nil {
				res.Failures = append(res.Failures, disk.CrashFailure{State: r.state, Point: k, Variant: r.shape.name, Err: r.checkErr})
				if opts.Save != "" {
					to := filepath.Join(opts.Save, fmt.Sprintf("point-%d-%s", k, strings.ReplaceAll(r.shape.name, "/", "-")))
					if err := saveTree(r.saved, "", to); err != nil {
						return res, fmt.Errorf("save %s: %w", r.state, err)
					}
				}
			}
			if opts.Progress != nil {
				opts.Progress(r.state, r.checked, r.checkErr)
			}
		}
	}
	return res, nil
}

// parallel runs f(w, i) for i in [0, n) on up to workers goroutines, w being the worker's
// number, and returns the error of the lowest i that failed.
func parallel(workers, n int, f func(w, i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = f(w, i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// withMount mounts st's disk on dir, runs f and unmounts, retrying the unmount while the
// kernel still holds the mount busy.
func withMount(dir string, st *disk.Storage, stopAtCrash bool, f func(*Mount) error) error {
	m, err := New(dir, st, Options{StopAtCrash: stopAtCrash})
	if err != nil {
		return err
	}
	ferr := f(m)
	var uerr error
	for i := 0; i < 100; i++ {
		if uerr = m.Unmount(); uerr == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if uerr != nil {
		return fmt.Errorf("unmount %s: %w", dir, uerr)
	}
	return ferr
}

// run runs argv in dir and returns an error carrying its output when it does not exit 0.
// The workload's standard output goes to the file stdout; the check gets its name.
func (p Program) run(ctx context.Context, argv []string, dir, stdout, state, what string) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	// Not cmd.Dir: the child would chdir into the mount between fork and exec, while it
	// still shares this process's memory and the thread that forked it is stopped; a FUSE
	// request then waits for a server that a stop-the-world of this runtime cannot reach.
	// A shell changes directory after the exec instead.
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `cd "$0" && exec "$@"`, dir}, argv...)...)
	// A timeout or a cancel ends the whole process group; so does the program's exit, for
	// anything it left running in the background (which would hold the mount busy). The
	// output goes to files, not pipes, so Wait returns when the program exits.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(append(os.Environ(), p.Env...), "FAULTBOX_WORKLOAD_STDOUT="+stdout, "FAULTBOX_STATE="+state)
	msgs, err := os.CreateTemp("", "faultbox-output-")
	if err != nil {
		return err
	}
	defer os.Remove(msgs.Name())
	defer msgs.Close()
	cmd.Stdout, cmd.Stderr = msgs, msgs // the check: all it says
	if what != "check" {
		f, err := os.Create(stdout)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stdout = f // the workload's acknowledgments, for the check
	}
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err == nil {
		return nil
	}
	out, _ := os.ReadFile(msgs.Name())
	msg := strings.TrimSpace(string(out))
	if len(msg) > 400 {
		msg = msg[:400] + "..."
	}
	if msg != "" {
		msg = ": " + msg
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s timed out after %v%s", what, p.Timeout, msg)
	}
	return fmt.Errorf("%s: %v%s", what, err, msg)
}

// saveTree copies the files and directories under dir of fsys into the directory to.
func saveTree(fsys disk.FS, dir, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	names, err := fsys.List(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		p := path.Join(dir, name)
		fi, err := fsys.Stat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := saveTree(fsys, p, filepath.Join(to, name)); err != nil {
				return err
			}
			continue
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		buf := make([]byte, fi.Size())
		n, err := f.ReadAt(buf, 0)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, name), buf[:n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
