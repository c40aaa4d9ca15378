package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// restrictSQLiteFiles keeps the database file and the -wal and -shm files
// beside it readable and writable by their owner only, whatever the umask or
// the data directory's mode: they hold password hashes, emails and the audit
// log. SQLite gives a new -wal or -shm file the main file's mode, so creating
// the main file 0600 covers them; files left otherwise (more open by an older
// version or by hand, or without the owner's write bit, which SQLite would
// answer by serving the file read-only) are set to 0600.
func restrictSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlstore: create sqlite file: %w", err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlstore: sqlite file mode: %w", err)
		}
		if info.Mode().Perm() != 0o600 {
			if err := os.Chmod(name, 0o600); err != nil {
				return fmt.Errorf("sqlstore: set sqlite file mode: %w", err)
			}
		}
	}
	return nil
}
