package fileio

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/fileio/fileiotest"
)

// failingReader returns a fixed error with no bytes.
type failingReader struct{ err error }

func (r failingReader) ReadAt(p []byte, off int64) (int, error) { return 0, r.err }

// shortNilReader breaks the io.ReaderAt contract: a short read with a nil error.
type shortNilReader struct{}

func (shortNilReader) ReadAt(p []byte, off int64) (int, error) { return len(p) / 2, nil }

func TestReadFullAt(t *testing.T) {
	data := []byte("0123456789")
	boom := errors.New("boom")
	cases := []struct {
		name    string
		r       io.ReaderAt
		n       int
		off     int64
		want    string // bytes expected on success
		wantErr error
	}{
		{"middle", bytes.NewReader(data), 3, 2, "234", nil},
		{"to the end", bytes.NewReader(data), 4, 6, "6789", nil},
		{"to the end with EOF", fileiotest.NewEOFAtEnd(data), 4, 6, "6789", nil},
		{"whole with EOF", fileiotest.NewEOFAtEnd(data), 10, 0, "0123456789", nil},
		{"empty at the end", fileiotest.NewEOFAtEnd(data), 0, 10, "", nil},
		{"short at the end", bytes.NewReader(data), 4, 8, "", io.ErrUnexpectedEOF},
		{"short at the end with EOF", fileiotest.NewEOFAtEnd(data), 4, 8, "", io.ErrUnexpectedEOF},
		{"past the end", bytes.NewReader(data), 1, 11, "", io.ErrUnexpectedEOF},
		{"short with nil error", shortNilReader{}, 4, 0, "", io.ErrUnexpectedEOF},
		{"reader error", failingReader{boom}, 4, 0, "", boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			buf := make([]byte, c.n)
			err := ReadFullAt(c.r, buf, c.off)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(buf) != c.want {
				t.Errorf("read %q, want %q", buf, c.want)
			}
		})
	}
}

// dirNames lists the names in dir, to catch leftover temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteAtomic(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		old     string // existing content at path; "" for none
		write   func(io.Writer) error
		exists  bool   // a file is at path afterwards
		want    string // its content
		wantErr error
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }, true, "hello", nil},
		{"replaces", "old", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, true, "new", nil},
		{"empty", "old", func(w io.Writer) error { return nil }, true, "", nil},
		{"large", "", func(w io.Writer) error {
			_, err := w.Write(bytes.Repeat([]byte("ab"), 3<<20/2+7))
			return err
		}, true, strings.Repeat("ab", 3<<20/2+7), nil},
		{"fails at once", "", func(w io.Writer) error { return boom }, false, "", boom},
		{"fails after writing", "", func(w io.Writer) error {
			w.Write(bytes.Repeat([]byte{1}, 2<<20)) // past the buffer: bytes reach the temp file
			return boom
		}, false, "", boom},
		{"fails, old file kept", "old", func(w io.Writer) error { io.WriteString(w, "partial"); return boom }, true, "old", boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.bin")
			if c.old != "" {
				if err := os.WriteFile(path, []byte(c.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteAtomic(path, c.write)
			if err != c.wantErr {
				t.Fatalf("error %v, want %v (unchanged)", err, c.wantErr)
			}
			if names := dirNames(t, dir); !c.exists && len(names) != 0 || c.exists && (len(names) != 1 || names[0] != "out.bin") {
				t.Fatalf("directory holds %q", names)
			}
			if !c.exists {
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("file holds %d bytes, want %d", len(got), len(c.want))
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantErr == nil && st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
		})
	}
}

// TestWriteAtomicFailures: failures outside the writer (no directory, a rename that cannot
// replace the target) also leave no temporary file.
func TestWriteAtomicFailures(t *testing.T) {
	write := func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }
	t.Run("missing directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteAtomic(filepath.Join(dir, "no", "out"), write); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v, want not exist", err)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Fatalf("directory holds %q", names)
		}
	})
	t.Run("target is a non-empty directory", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "out")
		if err := os.MkdirAll(filepath.Join(target, "inner"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteAtomic(target, write); err == nil {
			t.Fatal("renamed a file over a non-empty directory")
		}
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "out" {
			t.Fatalf("directory holds %q", names)
		}
	})
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	if err := WriteFile(path, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "{}\n" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(path, []byte("abcdef"), 0o644); err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("bad format")
	var seen io.ReaderAt
	parse := func(r io.ReaderAt, size int64) (string, error) {
		seen = r
		b := make([]byte, size)
		if err := ReadFullAt(r, b, 0); err != nil {
			return "", err
		}
		if b[0] != 'a' {
			return "", errBad
		}
		return string(b), nil
	}

	t.Run("ok", func(t *testing.T) {
		v, fh, err := Open(path, parse)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if v != "abcdef" {
			t.Errorf("parsed %q", v)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.bin")
		if err := os.WriteFile(bad, []byte("xyz"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, fh, err := Open(bad, parse)
		if !errors.Is(err, errBad) || !strings.HasPrefix(err.Error(), bad+": ") || fh != nil {
			t.Fatalf("error %v, file %v; want %q prefixed by the path and no file", err, fh, errBad)
		}
		// The file handed to parse must be closed.
		if _, err := seen.ReadAt(make([]byte, 1), 0); !errors.Is(err, os.ErrClosed) {
			t.Errorf("file still open after a parse error (ReadAt: %v)", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, _, err := Open(filepath.Join(dir, "none"), parse); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v, want not exist", err)
		}
	})
}
