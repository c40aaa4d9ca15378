package sqlstore

import (
	"fmt"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/store"
)

// readyRoom is the free space a disk found full must have again before the
// node says it is ready: what the WAL grows to under load (~40 MB), with a
// margin. Less, and writes of every size would not all fit.
const readyRoom = 64 << 20

// freeBytes returns the space free to this process on the file system
// holding dir (statfs; ok false where it cannot tell). Tests replace it.
var freeBytes = statfsFree

// room reports, as store.ErrUnavailable, a disk holding the database with
// less than readyRoom free; nil when it has room or the system cannot say.
func (g *fileGuard) room() error {
	if g == nil {
		return nil
	}
	free, ok := freeBytes(filepath.Dir(g.path))
	if !ok || free >= readyRoom {
		return nil
	}
	return fmt.Errorf("%w: the disk holding %s was full and has %d MiB free; the node needs %d MiB to be ready again", store.ErrUnavailable, g.path, free>>20, readyRoom>>20)
}
