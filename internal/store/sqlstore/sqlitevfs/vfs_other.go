//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || s390x || loong64))

package sqlitevfs

// VFS returns "": the default unix VFS is used as is.
func VFS() string { return "" }

// Stats reports nothing: every sync is the unix VFS's own.
func Stats() (async, blocking uint64) { return 0, 0 }
