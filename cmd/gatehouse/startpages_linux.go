package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// startPagesDelay is how long after it starts serving the node gives back
// the executable's pages that the start touched.
const startPagesDelay = 500 * time.Millisecond

// dropExecutablePages tells the kernel that this process no longer needs the
// pages of its executable's read-only mappings (code, tables) that it has
// now: at start every package's code and tables are touched once, ~20 MiB
// of them, and they would otherwise count in the process's RSS for as long
// as it runs; a node does it again whenever its hash worker starts, so that
// what it holds beside the worker is the code it runs then, not all the code
// it ran before (the token API's, the console's). They are clean file pages
// that were never written (the mappings are read-only), so MADV_DONTNEED
// only unmaps them from this process: the kernel keeps them in its page
// cache, and those the node uses come back at their next use (a minor
// fault), so what stays resident is the working set. Unlike MADV_PAGEOUT,
// which evicts pages from the page cache and leaves alone any page another
// process maps too, it also works while other processes run the same
// executable (the hash worker, the other nodes of a cluster on one machine,
// a gatehouse command). Errors are ignored: it is an optimisation only.
func dropExecutablePages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	type span struct{ start, end uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// address perms offset dev inode path: the executable's mappings
		// that cannot be written (code, read-only data).
		if len(fs) < 6 || fs[5] != exe || strings.ContainsRune(fs[1], 'w') {
			continue
		}
		from, to, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(from, 16, 64)
		b, err2 := strconv.ParseUint(to, 16, 64)
		if err1 == nil && err2 == nil && b > a {
			spans = append(spans, span{uintptr(a), uintptr(b)})
		}
	}
	for _, s := range spans {
		unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_DONTNEED)
	}
}
