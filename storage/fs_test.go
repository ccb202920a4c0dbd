package storage

import (
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
)

type opKind int

const (
	opCreate opKind = iota
	opWrite
	opAllocate
	opTruncate
	opSync
	opRename
	opRemove
	opSyncDir
)

func (k opKind) String() string {
	return [...]string{"create", "write", "allocate", "truncate", "sync", "rename", "remove", "syncdir"}[k]
}

// op is one mutating file operation, as recorded by recFS.
type op struct {
	kind    opKind
	path    string
	to      string
	off     int64
	data    []byte
	durable uint64 // Log.Durable() when the op started: acknowledged before it
}

// recFS records every mutating operation (with a copy of the written bytes) and forwards
// it to the real file system. It optionally injects ENOSPC.
type recFS struct {
	mu      sync.Mutex
	ops     []op
	durable func() uint64
	// enospc, when > 0, makes that many WriteAt/Allocate calls fail with ENOSPC.
	enospc int
	files  []*recFile // open files, so a rename renames their recorded path too
	// eio makes every Datasync fail with EIO.
	eio bool
	// allocENOSPC makes every Allocate fail with ENOSPC.
	allocENOSPC bool
}

func (r *recFS) add(o op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.durable != nil {
		o.durable = r.durable()
	}
	r.ops = append(r.ops, o)
}

func (r *recFS) setDurable(f func() uint64) {
	r.mu.Lock()
	r.durable = f
	r.mu.Unlock()
}

func (r *recFS) failSpace() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enospc > 0 {
		r.enospc--
		return true
	}
	return false
}

func (r *recFS) snapshot() []op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]op(nil), r.ops...)
}

func (r *recFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := osFS{}.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		r.add(op{kind: opCreate, path: name})
	}
	rf := &recFile{file: f, fs: r, path: name}
	r.mu.Lock()
	r.files = append(r.files, rf)
	r.mu.Unlock()
	return rf, nil
}

func (r *recFS) Rename(from, to string) error {
	r.add(op{kind: opRename, path: from, to: to})
	r.mu.Lock()
	for _, f := range r.files {
		if f.path == from {
			f.path = to
		}
	}
	r.mu.Unlock()
	return os.Rename(from, to)
}

func (r *recFS) Remove(name string) error {
	r.add(op{kind: opRemove, path: name})
	return os.Remove(name)
}

func (r *recFS) SyncDir(dir string) error {
	r.add(op{kind: opSyncDir, path: dir})
	return osFS{}.SyncDir(dir)
}

type recFile struct {
	file
	fs   *recFS
	path string // guarded by fs.mu
}

func (f *recFile) name() string {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.path
}

func (f *recFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.failSpace() {
		// A real ENOSPC may land part of the write: land the first half.
		half := p[:len(p)/2]
		f.fs.add(op{kind: opWrite, path: f.name(), off: off, data: append([]byte(nil), half...)})
		f.file.WriteAt(half, off)
		return len(half), syscall.ENOSPC
	}
	f.fs.add(op{kind: opWrite, path: f.name(), off: off, data: append([]byte(nil), p...)})
	return f.file.WriteAt(p, off)
}

func (f *recFile) Allocate(size int64) error {
	f.fs.mu.Lock()
	full := f.fs.allocENOSPC
	f.fs.mu.Unlock()
	if full || f.fs.failSpace() {
		return syscall.ENOSPC
	}
	err := f.file.Allocate(size)
	if err == nil {
		f.fs.add(op{kind: opAllocate, path: f.name(), off: size})
	}
	return err
}

func (f *recFile) Truncate(size int64) error {
	f.fs.add(op{kind: opTruncate, path: f.name(), off: size})
	return f.file.Truncate(size)
}

func (f *recFile) Datasync() error {
	f.fs.mu.Lock()
	eio := f.fs.eio
	f.fs.mu.Unlock()
	if eio {
		return syscall.EIO
	}
	f.fs.add(op{kind: opSync, path: f.name()})
	return f.file.Datasync()
}

// replay applies ops, recorded under directory from, to directory to.
func replay(ops []op, from, to string) error {
	p := func(s string) string { return to + strings.TrimPrefix(s, from) }
	apply := func(o op) error {
		switch o.kind {
		case opCreate:
			return os.WriteFile(p(o.path), nil, 0o600)
		case opWrite:
			f, err := os.OpenFile(p(o.path), os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(o.data, o.off)
			return err
		case opAllocate:
			fi, err := os.Stat(p(o.path))
			if err != nil {
				return err
			}
			if fi.Size() < o.off {
				return os.Truncate(p(o.path), o.off)
			}
		case opTruncate:
			return os.Truncate(p(o.path), o.off)
		case opRename:
			return os.Rename(p(o.path), p(o.to))
		case opRemove:
			return os.Remove(p(o.path))
		}
		return nil
	}
	for _, o := range ops {
		if err := apply(o); err != nil {
			return err
		}
	}
	return nil
}

var errPowerCut = errors.New("storage test: power cut")

// powerCut stops l as a power cut would: nothing more is written (buffered records are
// lost, the current segment stays unsealed), files and the lock are released.
func (l *Log) powerCut() {
	l.mu.Lock()
	l.err, l.closing = errPowerCut, true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.closeFiles()
	l.lock.Close()
}
