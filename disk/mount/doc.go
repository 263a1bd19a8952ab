// Package mount serves a process's disk of a disk.Storage as a FUSE file system, so that any
// program, not only code written against disk.FS, runs on the lying disk: a write is durable
// only once its file is fsync'd, a create, rename or unlink only once its directory is
// fsync'd, the fault families and targeting rules apply to every call, and Crash is power
// loss under the mount (what LazyFS does for Jepsen, on faultbox's model).
//
// Every request the kernel forwards is served through the process's disk.FaultFS, one at a
// time, in the order the requests arrive; reads and writes bypass the kernel's page cache
// and nothing about names or attributes is cached, so that a crash is seen at once. A file
// keeps its inode number while it exists. Handles opened before a crash fail with EIO.
//
// A control protocol on a Unix socket (Mount.ServeControl, Send, ParseCommand) crashes,
// wipes, installs rules and unmounts from a script, answering each command once it is done;
// `faultbox disk mount` and `faultbox disk ctl` are its command line.
//
// It needs Linux, /dev/fuse, and root (the mount is made with mount(2)) or the fusermount3
// helper. A run is as reproducible as the program's own order of file operations. See
// docs/disk.md, "Any program on the lying disk", for what sqlite3 does on it.
package mount
