//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64)

package sqlitevfs

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// name is the VFS's name in SQLite's registry (the vfs= DSN parameter).
const name = "gatehouse-aio"

var (
	once     sync.Once
	vfsName  string // "" until registered, or when unavailable
	unixVFS  uintptr
	unixOpen uintptr // the unix VFS's xOpen
	ring     *aioRing

	mu     sync.RWMutex
	tables = map[tableKey]uintptr{} // a unix io_methods table → our copy of it, per kind of file
	files  = map[uintptr]*file{}    // an open sqlite3_file we wrapped → its state
	// writers is each open main database file named by WriterParam.
	writers = map[string]*file{}
	// watches is every database file's WAL-index watch, kept for the life
	// of the process (one small struct per database file ever opened).
	watches = map[fileID]*Watch{}

	nAsync, nBlocking atomic.Uint64
)

// file is a wrapped file's state. It is used by one connection at a time:
// SQLite serialises the calls on a connection's files.
type file struct {
	p       uintptr // the sqlite3_file
	fd      int32
	methods *sqlite3.Tsqlite3_io_methods // the unix VFS's table, for the calls we pass on
	synced  bool                         // the first sync (the unix VFS's own) is done
	watch   *Watch                       // a main database file's WAL-index watch
	wal     *file                        // a main database file's WAL file, while it buffers (walbuffer_linux.go)
	frames  *walFrames                   // a WAL file's buffered frames
	writer  string                       // a main database file's WriterParam
}

// tableKey names one of our method tables: WAL files get their own, with
// the buffered writes.
type tableKey struct {
	unix uintptr // the unix VFS's table
	wal  bool
}

// fileID names a file by device and inode, as the unix VFS does.
type fileID struct{ dev, ino uint64 }

// unixFileHead mirrors the start of SQLite's unixFile (os_unix.c), which
// has been pMethod, pVfs, pInode, h since SQLite 3.7; the descriptor read
// from it is checked against the file before it is used.
type unixFileHead struct {
	pMethod, pVfs, pInode uintptr
	h                     int32
}

// VFS registers the VFS once and returns its name, or "" when it is not
// available here (the caller then opens with SQLite's default VFS).
func VFS() string {
	once.Do(func() {
		r, err := newRing()
		if err != nil {
			return
		}
		tls := libc.NewTLS() // kept: registration is for the life of the process
		unixVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
		if unixVFS == 0 {
			return
		}
		base := (*sqlite3.Tsqlite3_vfs)(ptr(unixVFS))
		zName, err := libc.CString(name)
		if err != nil {
			return
		}
		p := libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
		if p == 0 {
			return
		}
		v := (*sqlite3.Tsqlite3_vfs)(ptr(p))
		*v = *base
		v.FpNext = 0
		v.FzName = zName
		unixOpen = base.FxOpen
		*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&v.FxOpen)) = xOpen
		if rc := sqlite3.Xsqlite3_vfs_register(tls, p, 0); rc != sqlite3.SQLITE_OK {
			return
		}
		ring = r
		go r.reap()
		vfsName = name
	})
	return vfsName
}

// Stats reports how many syncs went through AIO and how many through the
// unix VFS's blocking fsync (first syncs, and fallbacks).
func Stats() (async, blocking uint64) { return nAsync.Load(), nBlocking.Load() }

// xOpen opens the file with the unix VFS, then swaps in our method table.
func xOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&unixOpen)))(tls, unixVFS, zName, pFile, flags, pOutFlags)
	if rc != sqlite3.SQLITE_OK || zName == 0 {
		return rc
	}
	f := (*sqlite3.Tsqlite3_file)(ptr(pFile))
	if f.FpMethods == 0 {
		return rc
	}
	fd := (*unixFileHead)(ptr(pFile)).h
	id, ok := sameFile(fd, libc.GoString(zName))
	if !ok {
		return rc // not the layout we know: leave the file to the unix VFS
	}
	mu.Lock()
	defer mu.Unlock()
	st := &file{p: pFile, fd: fd, methods: (*sqlite3.Tsqlite3_io_methods)(ptr(f.FpMethods))}
	key := tableKey{unix: f.FpMethods}
	// A WAL file buffers its frames only when its database file is ours, so
	// that the database's write lock is seen being released (xShmLock).
	var db *file
	if flags&sqlite3.SQLITE_OPEN_WAL != 0 {
		if db = files[sqlite3.Xsqlite3_database_file_object(tls, zName)]; db != nil && db.wal == nil && db.watch != nil {
			key.wal = true
			st.frames = &walFrames{db: db}
		}
	}
	ours, ok := tables[key]
	if !ok {
		ours = libc.Xmalloc(tls, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
		if ours == 0 {
			return rc
		}
		m := (*sqlite3.Tsqlite3_io_methods)(ptr(ours))
		*m = *(*sqlite3.Tsqlite3_io_methods)(ptr(f.FpMethods))
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = xSync
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = xClose
		if m.FiVersion >= 2 && m.FxShmMap != 0 && m.FxShmUnmap != 0 && m.FxShmLock != 0 {
			*(*func(*libc.TLS, uintptr, int32, int32, int32, uintptr) int32)(unsafe.Pointer(&m.FxShmMap)) = xShmMap
			*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxShmUnmap)) = xShmUnmap
			*(*func(*libc.TLS, uintptr, int32, int32, int32) int32)(unsafe.Pointer(&m.FxShmLock)) = xShmLock
		}
		if key.wal {
			bufferWrites(m)
		}
		tables[key] = ours
	}
	if flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0 {
		st.watch = watchLocked(id)
		if p := sqlite3.Xsqlite3_uri_parameter(tls, zName, writerParam); p != 0 {
			st.writer = libc.GoString(p)
			writers[st.writer] = st
		}
	}
	if st.frames != nil {
		db.wal = st
	}
	files[pFile] = st
	f.FpMethods = ours
	return rc
}

// ptr turns an address in SQLite's memory (allocated by modernc.org/libc, not
// by Go) into a pointer; the garbage collector neither moves nor frees it.
func ptr(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }

// sameFile reports whether fd is open on the file at path, and which file.
func sameFile(fd int32, path string) (fileID, bool) {
	if fd < 0 || path == "" {
		return fileID{}, false
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(fd), &a) != nil || unix.Stat(path, &b) != nil {
		return fileID{}, false
	}
	return fileID{uint64(a.Dev), uint64(a.Ino)}, a.Dev == b.Dev && a.Ino == b.Ino
}

func lookup(pFile uintptr) *file {
	mu.RLock()
	f := files[pFile]
	mu.RUnlock()
	return f
}

// xSync is the unix VFS's sync with the fsync itself made through AIO.
func xSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	return lookup(pFile).sync(tls, flags)
}

// sync is xSync on f; tls is needed only for a sync the unix VFS makes
// (nil: one is made for it).
func (f *file) sync(tls *libc.TLS, flags int32) int32 {
	if rc := f.flush(); rc != sqlite3.SQLITE_OK {
		return rc
	}
	unixSync := func() int32 {
		if tls == nil {
			tls = libc.NewTLS()
			defer tls.Close()
		}
		nBlocking.Add(1)
		return callSync(f.methods.FxSync, tls, f.p, flags)
	}
	if !f.synced || ring.disabled.Load() {
		// The first sync of a file also syncs its directory when the file is
		// new (a WAL or journal): the unix VFS's own code does that.
		rc := unixSync()
		if rc == sqlite3.SQLITE_OK {
			f.synced = true
		}
		return rc
	}
	switch err := ring.fsync(f.fd); {
	case err == nil:
		nAsync.Add(1)
		return sqlite3.SQLITE_OK
	case errors.Is(err, errUnsupported):
		return unixSync()
	default:
		return sqlite3.SQLITE_IOERR_FSYNC
	}
}

// writerParam is WriterParam for SQLite's C strings.
var writerParam = func() uintptr {
	p, err := libc.CString(WriterParam)
	if err != nil {
		panic(err)
	}
	return p
}()

// WriterParam is the URI parameter that names a connection for SyncWAL:
// open it as file:…?gatehouse_writer=<name>, a name no other open
// connection has.
const WriterParam = "gatehouse_writer"

// SyncWAL flushes to disk the WAL file of the open connection named name
// (WriterParam), as SQLite's commit does under synchronous=FULL: what the
// connection's commits under synchronous=NORMAL wrote is durable once it
// returns nil. The caller must be the connection's only user meanwhile
// (the calls on a connection's files are serialised).
func SyncWAL(name string) error {
	mu.RLock()
	var wal *file
	if db := writers[name]; db != nil {
		wal = db.wal
	}
	mu.RUnlock()
	if wal == nil {
		return fmt.Errorf("sqlitevfs: no open WAL for the connection %q", name)
	}
	if rc := wal.sync(nil, sqlite3.SQLITE_SYNC_NORMAL); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlitevfs: syncing the WAL: SQLite error %d", rc)
	}
	return nil
}

func callSync(fp uintptr, tls *libc.TLS, pFile uintptr, flags int32) int32 {
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, flags)
}

// xClose forgets the file and closes it with the unix VFS. A WAL file's
// frames are written first: nothing of a file is left behind.
func xClose(tls *libc.TLS, pFile uintptr) int32 {
	f := lookup(pFile)
	f.flush()
	mu.Lock()
	delete(files, pFile)
	if f.writer != "" && writers[f.writer] == f {
		delete(writers, f.writer)
	}
	if f.frames != nil && f.frames.db != nil {
		f.frames.db.wal = nil
	}
	mu.Unlock()
	if f.watch != nil {
		f.watch.detach(pFile)
	}
	(*sqlite3.Tsqlite3_file)(ptr(pFile)).FpMethods = uintptr(unsafe.Pointer(f.methods))
	fp := f.methods.FxClose
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile)
}

// Linux native AIO (linux/aio_abi.h).
const (
	iocbCmdFsync  = 2
	iocbFlagResfd = 1
	ringSize      = 128
)

type iocb struct {
	data      uint64
	key       uint32 // aio_key and aio_rw_flags, in either byte order: both 0
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

type ioEvent struct {
	data, obj uint64
	res, res2 int64
}

var errUnsupported = errors.New("aiosync: fsync through AIO not supported here")

// aioRing submits fsyncs and hands each completion to its waiter. One
// goroutine (reap) reads the eventfd, which the netpoller watches, and
// collects the completions.
type aioRing struct {
	ctx      uintptr
	efd      *os.File    // read by reap only (never call Fd: it would make reads block)
	efdNum   uint32      // the eventfd's number, for the iocbs
	disabled atomic.Bool // the kernel refused an AIO fsync: use the blocking one

	mu      sync.Mutex
	next    uint64
	waiters map[uint64]chan int64
}

func newRing() (*aioRing, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, ringSize, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		unix.Close(efd)
		return nil, e
	}
	// A non-blocking descriptor becomes a pollable *os.File: reads park.
	return &aioRing{ctx: ctx, efd: os.NewFile(uintptr(efd), "aiosync-eventfd"), efdNum: uint32(efd), waiters: map[uint64]chan int64{}}, nil
}

var chans = sync.Pool{New: func() any { return make(chan int64, 1) }}

// fsync fsyncs fd and returns once the kernel has completed it; the calling
// goroutine is parked meanwhile, its P free for others.
func (r *aioRing) fsync(fd int32) error {
	ch := chans.Get().(chan int64)
	r.mu.Lock()
	r.next++
	id := r.next
	r.waiters[id] = ch
	r.mu.Unlock()
	cb := &iocb{data: id, opcode: iocbCmdFsync, fildes: uint32(fd), flags: iocbFlagResfd, resfd: r.efdNum}
	cbs := [1]uintptr{uintptr(unsafe.Pointer(cb))}
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, r.ctx, 1, uintptr(unsafe.Pointer(&cbs[0])))
	if e != 0 || n != 1 {
		r.mu.Lock()
		delete(r.waiters, id)
		r.mu.Unlock()
		chans.Put(ch)
		if e == unix.EINVAL || e == unix.ENOSYS || e == unix.EPERM || e == unix.EOPNOTSUPP {
			r.disabled.Store(true)
		}
		return errUnsupported // EAGAIN (ring full) and the like: this once, the blocking way
	}
	res := <-ch
	chans.Put(ch)
	switch {
	case res == 0:
		return nil
	case res == -int64(unix.EINVAL) || res == -int64(unix.EOPNOTSUPP):
		r.disabled.Store(true)
		return errUnsupported
	default:
		return unix.Errno(-res)
	}
}

// reap delivers completions for the life of the process.
func (r *aioRing) reap() {
	var buf [8]byte
	var events [32]ioEvent
	var zero unix.Timespec
	for {
		if _, err := r.efd.Read(buf[:]); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			continue
		}
		for {
			n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, r.ctx, 0, uintptr(len(events)),
				uintptr(unsafe.Pointer(&events[0])), uintptr(unsafe.Pointer(&zero)), 0)
			if e != 0 || n == 0 {
				break
			}
			r.mu.Lock()
			for _, ev := range events[:n] {
				if ch, ok := r.waiters[ev.data]; ok {
					delete(r.waiters, ev.data)
					ch <- ev.res
				}
			}
			r.mu.Unlock()
			if int(n) < len(events) {
				break
			}
		}
	}
}

// xShmMap maps a region of the WAL-index with the unix VFS; region 0 of a
// database holds the header that Watch reads.
func xShmMap(tls *libc.TLS, pFile uintptr, iPg, pgsz, bExtend int32, pp uintptr) int32 {
	f := lookup(pFile)
	fp := f.methods.FxShmMap
	rc := (*(*func(*libc.TLS, uintptr, int32, int32, int32, uintptr) int32)(unsafe.Pointer(&fp)))(tls, pFile, iPg, pgsz, bExtend, pp)
	if rc == sqlite3.SQLITE_OK && iPg == 0 && f.watch != nil {
		if region := *(*uintptr)(ptr(pp)); region != 0 {
			f.watch.attach(pFile, region)
		}
	}
	return rc
}

// xShmUnmap stops watching through the file before the unix VFS unmaps.
func xShmUnmap(tls *libc.TLS, pFile uintptr, deleteFlag int32) int32 {
	f := lookup(pFile)
	if f.watch != nil {
		f.watch.detach(pFile)
	}
	fp := f.methods.FxShmUnmap
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp)))(tls, pFile, deleteFlag)
}

// walIndexHdr is the start of the WAL-index header (SQLite's WalIndexHdr,
// documented in the file format: "The WAL-Index Format").
type walIndexHdr struct {
	version uint32 // 3007000
	_       uint32
	change  uint32 // incremented by every commit, by any connection of any process
	isInit  uint8
}

const walIndexVersion = 3007000

// Watch reads the change counter of one database's WAL-index header, which
// every commit to the database increments, whichever connection or process
// makes it, before that commit returns. It reads the header where SQLite
// itself maps it in this process, so it knows only while a connection of the
// process has the WAL-index mapped (a Store keeps its connections open).
type Watch struct {
	region atomic.Pointer[walIndexHdr] // nil: not mapped by any connection
	mu     sync.Mutex
	refs   map[uintptr]struct{} // files that have region 0 mapped
}

// WatchFile returns the watch of the database file at path, or nil where
// this VFS is not in use. Connections opened with the VFS feed it.
func WatchFile(path string) *Watch {
	if VFS() == "" {
		return nil
	}
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	return watchLocked(fileID{uint64(st.Dev), uint64(st.Ino)})
}

func watchLocked(id fileID) *Watch {
	w, ok := watches[id]
	if !ok {
		w = &Watch{refs: map[uintptr]struct{}{}}
		watches[id] = w
	}
	return w
}

func (w *Watch) attach(pFile, region uintptr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refs[pFile] = struct{}{}
	w.region.Store((*walIndexHdr)(ptr(region)))
}

func (w *Watch) detach(pFile uintptr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.refs[pFile]; !ok {
		return
	}
	delete(w.refs, pFile)
	if len(w.refs) == 0 {
		w.region.Store(nil) // before the unix VFS unmaps it
	}
}

// Change returns the header's change counter; ok is false when it cannot be
// read (nothing maps the WAL-index now, or it is not initialised).
func (w *Watch) Change() (change uint32, ok bool) {
	if w == nil {
		return 0, false
	}
	h := w.region.Load()
	if h == nil {
		return 0, false
	}
	// The mapping belongs to SQLite: should it go away under us, a fault
	// here means "unknown", never a crash.
	defer func() {
		if recover() != nil {
			change, ok = 0, false
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if atomic.LoadUint32(&h.version) != walIndexVersion {
		return 0, false
	}
	return atomic.LoadUint32(&h.change), true
}
