package disk

import (
	"io/fs"
	"os"
	"path/filepath"
)

// OS returns the operating system's file system under root: the pass-through for
// production use and for comparisons. Names are relative to root.
func OS(root string) FS { return osFS{root: root} }

type osFS struct{ root string }

func (o osFS) path(name string) string { return filepath.Join(o.root, filepath.FromSlash(clean(name))) }

func (o osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(o.path(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{File: f, name: clean(name)}, nil
}

func (o osFS) Open(name string) (File, error) {
	f, err := os.OpenFile(o.path(name), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return osFile{File: f, name: clean(name)}, nil
}

func (o osFS) Remove(name string) error { return os.Remove(o.path(name)) }
func (o osFS) Rename(oldname, newname string) error {
	return os.Rename(o.path(oldname), o.path(newname))
}
func (o osFS) Mkdir(name string) error               { return os.Mkdir(o.path(name), 0o755) }
func (o osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(o.path(name)) }

func (o osFS) List(dir string) ([]string, error) {
	entries, err := os.ReadDir(o.path(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil // os.ReadDir returns them sorted by name
}

func (o osFS) SyncDir(dir string) error {
	d, err := os.Open(o.path(dir))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// osFile is an *os.File whose Name is the name it was opened under, relative to the root.
type osFile struct {
	*os.File
	name string
}

func (f osFile) Name() string { return f.name }
