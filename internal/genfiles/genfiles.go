// Package genfiles collects the files a test-incident generator writes:
// each file by its slash-separated name, its records appended in the
// order the scenario makes them, all written at the end.
package genfiles

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// Files is a generator's files. The zero value is ready.
type Files struct {
	files map[string][]byte
	order []string
}

// Out is a writer appending to the file rel.
func (f *Files) Out(rel string) io.Writer { return &file{f, path.Clean(rel)} }

type file struct {
	f   *Files
	rel string
}

func (w *file) Write(p []byte) (int, error) {
	if w.f.files == nil {
		w.f.files = map[string][]byte{}
	}
	if _, ok := w.f.files[w.rel]; !ok {
		w.f.order = append(w.f.order, w.rel)
	}
	w.f.files[w.rel] = append(w.f.files[w.rel], p...)
	return len(p), nil
}

// Content is what file rel holds so far; Replace sets it.
func (f *Files) Content(rel string) []byte { return f.files[path.Clean(rel)] }

// Replace sets the content of the file rel, which must exist.
func (f *Files) Replace(rel string, b []byte) { f.files[path.Clean(rel)] = b }

// Write writes every file under dir and returns their names, sorted.
func (f *Files) Write(dir string) ([]string, error) {
	for _, rel := range f.order {
		name := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(name, f.files[rel], 0o644); err != nil {
			return nil, err
		}
	}
	return slices.Sorted(slices.Values(f.order)), nil
}
