// Package sqlitevfs is SQLite's default unix VFS (modernc.org/sqlite) with
// three additions: an fsync that parks the calling goroutine instead of
// holding a Go P while the disk works, a view of each database's WAL-index
// header (Watch), whose change counter tells a cache whether anything was
// committed, and WAL frames written with one pwrite(2) per commit instead of
// two per frame (walbuffer_linux.go says when they are written, and why that
// keeps the database whole).
//
// Why: modernc.org/sqlite is SQLite translated to Go, and its fsync(2) is an
// ordinary blocking system call (unix.Syscall6). While a goroutine is in a
// system call its thread keeps its P, and only the runtime's monitor (sysmon)
// takes the P away, after one to two of its ticks, which stretch from 20 µs to
// 10 ms when it has found nothing to take for a while. With GOMAXPROCS=1 (a
// node pinned to one core) every commit's fsync then stopped the whole
// process: the core sat idle while the disk worked, and at 128 connections
// the group commit fell to batches of one (see docs/performance.md).
//
// What: VFS registers a SQLite VFS that is the default "unix" VFS in every
// respect but these: after a file's first sync (done by the unix VFS itself,
// which also syncs the directory of a new journal or WAL file), its xSync
// submits the fsync through Linux native AIO (io_submit with IOCB_CMD_FSYNC,
// completion signalled on an eventfd that the Go netpoller watches). The
// calling goroutine blocks on a channel, so the P runs other goroutines
// meanwhile; SQLite's own semantics are untouched: the same syncs, at the same
// points, with synchronous=FULL returning from COMMIT only once the WAL is on
// disk.
//
// Invariants:
//   - A sync reports success only after the kernel completed an fsync of the
//     file that started after the call; any error is SQLITE_IOERR_FSYNC, as
//     from the unix VFS.
//   - Where AIO is not available (another OS, a 32-bit build, io_setup refused
//     by a sandbox), or a file's descriptor cannot be verified, VFS returns ""
//     or the file keeps the unix VFS's own methods: slower, never less durable.
//   - Files are the unix VFS's own unixFile structures; only the method table
//     pointer is swapped, to a copy of the unix table with xSync, xClose and
//     the WAL-index calls replaced (and, for a WAL file whose database file
//     is wrapped too, xWrite, xRead, xTruncate, xFileSize, xFileControl). The descriptor is read from unixFile.h and checked against the
//     file's name (same device and inode) before a file is wrapped.
//   - A WAL frame is in its file before SQLite publishes it to any other
//     connection, and before its connection releases the write lock.
//   - Watch reads the header where SQLite maps it in this process, and only
//     while a connection of the process has it mapped (xShmMap/xShmUnmap are
//     followed); a read that faults reports "unknown", never crashes.
package sqlitevfs
