//go:build !unix

package sqlstore

func statfsFree(string) (uint64, bool) { return 0, false }
