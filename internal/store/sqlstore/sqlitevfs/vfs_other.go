//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64))

package sqlitevfs

import "errors"

// VFS returns "": the default unix VFS is used as is.
func VFS() string { return "" }

// Stats reports nothing: every sync is the unix VFS's own.
func Stats() (async, blocking uint64) { return 0, 0 }

// Watch is not available here.
type Watch struct{}

// WatchFile returns nil: no watch without the VFS.
func WatchFile(path string) *Watch { return nil }

// Change reports that the counter is unknown.
func (w *Watch) Change() (uint32, bool) { return 0, false }

// WriterParam names a connection for SyncWAL where the VFS is available.
const WriterParam = "gatehouse_writer"

// SyncWAL fails: without the VFS, SQLite's own commits flush the WAL.
func SyncWAL(name string) error { return errors.New("sqlitevfs: not available here") }
