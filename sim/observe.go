package sim

import "github.com/faultbox/faultbox/disk"

// observedFS tells the world's observer of the writes and syncs a process makes, after each
// completes (successfully or not): the storage events an explorer aims crashes at.
type observedFS struct {
	disk.FS
	p *Process
}

func (o observedFS) wrap(name string, f disk.File, err error) (disk.File, error) {
	if err != nil {
		return f, err
	}
	return observedFile{File: f, p: o.p, name: name}, nil
}

func (o observedFS) Create(name string) (disk.File, error) {
	f, err := o.FS.Create(name)
	return o.wrap(name, f, err)
}

func (o observedFS) Open(name string) (disk.File, error) {
	f, err := o.FS.Open(name)
	return o.wrap(name, f, err)
}

func (o observedFS) SyncDir(dir string) error {
	err := o.FS.SyncDir(dir)
	o.p.w.observe(Happening{Kind: "syncdir", To: o.p.addr})
	return err
}

type observedFile struct {
	disk.File
	p    *Process
	name string
}

func (f observedFile) WriteAt(b []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(b, off)
	f.p.w.observe(Happening{Kind: "write", To: f.p.addr, File: f.name, Offset: off, Length: len(b)})
	return n, err
}

func (f observedFile) Sync() error {
	err := f.File.Sync()
	f.p.w.observe(Happening{Kind: "sync", To: f.p.addr, File: f.name})
	return err
}
