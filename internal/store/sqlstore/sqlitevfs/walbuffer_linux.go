//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64)

package sqlitevfs

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Why the WAL's frames are buffered: SQLite writes each frame of a commit
// with two pwrite(2) calls (its 24-byte header, then the page), ~30 for a
// commit of the browser flow, and on this kind of VM a system call costs
// more than the copy it makes (docs/performance.md). So a WAL file keeps
// the frames appended in a row in memory and writes them with one pwrite(2).
//
// When they are written is what keeps the database whole. SQLite publishes
// frames to other connections (the WAL-index header) only after walFrames
// has written a commit frame — a frame header whose database size is not
// zero — and its page, and synced under synchronous=FULL; readers and the
// checkpointer read only published frames. The buffer is written out:
//   - when the write after a commit frame's header arrives (its page), and
//     from then on at every write until a frame header of another
//     transaction, so a commit's frames, any padding after them and any
//     header rewritten with new checksums are in the file before walFrames
//     returns (synchronous=NORMAL has no sync to wait for);
//   - before any other call on the file: xSync, xRead (a frame read back by
//     its writer), xTruncate, xFileSize, xFileControl, xClose;
//   - before a write that does not continue it (a page overwritten in the
//     same transaction), or would grow it past maxBuffered;
//   - when the connection releases the database's WAL write lock (xShmLock
//     on the database file, before the unlock goes through): what is left
//     then is a transaction's spilled frames that did not commit, which
//     SQLite itself would have written before unlocking, so they never land
//     late over frames another connection wrote after us.
// Any write error discards the buffer and fails the call, as the unix VFS's
// write would have.

// maxBuffered bounds a WAL file's buffer, which it keeps for the next
// commit: larger transactions are written in pieces of about this size. A
// browser flow's commit is ~60–140 KiB; a batch of 32 tokens a few hundred.
const maxBuffered = 256 << 10

// frameHeaderSize is a WAL frame header's size; the WAL header itself is 32
// bytes and a page at least 512, so a 24-byte write is a frame header.
const frameHeaderSize = 24

var nBufferedWrites, nFlushes atomic.Uint64

// WALWrites reports how many writes WAL files buffered and in how many
// pwrite(2) calls they reached the files.
func WALWrites() (buffered, written uint64) { return nBufferedWrites.Load(), nFlushes.Load() }

// walFrames is a WAL file's unwritten frames: buf belongs at offset start.
type walFrames struct {
	db     *file // the database file whose write lock covers these frames
	start  int64
	buf    []byte
	commit bool // the last frame header written was a commit frame's
}

// bufferWrites puts the buffered versions of a WAL file's calls into m.
func bufferWrites(m *sqlite3.Tsqlite3_io_methods) {
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = xWALWrite
	*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = xWALRead
	*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = xWALTruncate
	*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = xWALFileSize
	*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = xWALFileControl
}

// flush writes f's buffered frames, if any, in one pwrite(2).
func (f *file) flush() int32 {
	w := f.frames
	if w == nil || len(w.buf) == 0 {
		return sqlite3.SQLITE_OK
	}
	p, off := w.buf, w.start
	w.buf = w.buf[:0]
	nFlushes.Add(1)
	for len(p) > 0 {
		n, err := unix.Pwrite(int(f.fd), p, off)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ENOSPC || (err == nil && n == 0):
			return sqlite3.SQLITE_FULL
		case err != nil:
			return sqlite3.SQLITE_IOERR_WRITE
		}
		p, off = p[n:], off+int64(n)
	}
	return sqlite3.SQLITE_OK
}

func xWALWrite(tls *libc.TLS, pFile, pBuf uintptr, iAmt int32, iOfst int64) int32 {
	f := lookup(pFile)
	w := f.frames
	data := unsafe.Slice((*byte)(ptr(pBuf)), iAmt)
	if len(w.buf) > 0 && (iOfst != w.start+int64(len(w.buf)) || len(w.buf)+len(data) > maxBuffered) {
		if rc := f.flush(); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	header := len(data) == frameHeaderSize
	if header {
		w.commit = binary.BigEndian.Uint32(data[4:8]) != 0
	}
	if len(w.buf) == 0 {
		w.start = iOfst
	}
	w.buf = append(w.buf, data...)
	nBufferedWrites.Add(1)
	// A commit frame's header waits for its page only when it continues the
	// buffer (walFrames writes the two in a row); anything else after it is
	// written now.
	if w.commit && !(header && len(w.buf) > frameHeaderSize) {
		return f.flush()
	}
	return sqlite3.SQLITE_OK
}

func xWALRead(tls *libc.TLS, pFile, pBuf uintptr, iAmt int32, iOfst int64) int32 {
	f := lookup(pFile)
	if rc := f.flush(); rc != sqlite3.SQLITE_OK {
		return sqlite3.SQLITE_IOERR_READ
	}
	fp := f.methods.FxRead
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp)))(tls, pFile, pBuf, iAmt, iOfst)
}

func xWALTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	f := lookup(pFile)
	if rc := f.flush(); rc != sqlite3.SQLITE_OK {
		return sqlite3.SQLITE_IOERR_TRUNCATE
	}
	fp := f.methods.FxTruncate
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&fp)))(tls, pFile, size)
}

func xWALFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	f := lookup(pFile)
	if rc := f.flush(); rc != sqlite3.SQLITE_OK {
		return sqlite3.SQLITE_IOERR_FSTAT
	}
	fp := f.methods.FxFileSize
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile, pSize)
}

func xWALFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	f := lookup(pFile)
	if rc := f.flush(); rc != sqlite3.SQLITE_OK {
		return rc
	}
	fp := f.methods.FxFileControl
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile, op, pArg)
}

// walWriteLock is the WAL-index lock a writer holds (SQLite's WAL_WRITE_LOCK).
const walWriteLock = 0

// xShmLock passes a database file's WAL-index lock change on, first writing
// its WAL file's buffered frames when the write lock is being released.
func xShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	f := lookup(pFile)
	if flags&sqlite3.SQLITE_SHM_UNLOCK != 0 && ofst <= walWriteLock && walWriteLock < ofst+n && f.wal != nil {
		// Only frames that did not commit can be left here (SQLite's own
		// rollback reads its pages back, which writes them first): written
		// before the unlock, as SQLite would have written them, never late
		// over another connection's. No reader looks at them, so an error
		// here changes nothing for the database.
		f.wal.flush()
	}
	fp := f.methods.FxShmLock
	return (*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, ofst, n, flags)
}
