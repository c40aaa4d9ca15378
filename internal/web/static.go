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

// serveFavicon answers /favicon.ico, where browsers look for an icon of a
// page that names none (a JSON answer, an image), with the PNG icon that the
// pages link to.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	data, err := staticFiles.ReadFile("static/favicon.png")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(data)
}
