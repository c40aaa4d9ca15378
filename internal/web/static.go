package web

import (
	"io/fs"
	"net/http"
)

// staticHandler serves the embedded assets under /static/. It answers 404
// for a directory, so the file list is never shown.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	return http.StripPrefix("/static/", http.FileServerFS(filesOnly{sub}))
}

// filesOnly hides the directories of an FS: http.FileServerFS lists a
// directory it can open, and answers 404 for one that does not exist.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
