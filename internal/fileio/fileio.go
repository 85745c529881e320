// Package fileio holds the file plumbing the format packages share: reading an exact byte
// range through an io.ReaderAt, opening a file for a parser that takes a reader and a
// size, and writing a file atomically so no reader ever sees a partial one.
package fileio

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadFullAt fills buf from r at off. io.ReaderAt may return io.EOF together with a full
// read that ends at the end of the input, which is success here; a short read is
// io.ErrUnexpectedEOF (or the reader's own error).
func ReadFullAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Open opens path and hands it with its size to parse. On success the caller owns the
// returned *os.File and closes it when done with the parsed value; on failure the file is
// already closed and a parse error is prefixed with path.
func Open[T any](path string, parse func(r io.ReaderAt, size int64) (T, error)) (T, *os.File, error) {
	var zero T
	fh, err := os.Open(path)
	if err != nil {
		return zero, nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return zero, nil, err
	}
	v, err := parse(fh, st.Size())
	if err != nil {
		fh.Close()
		return zero, nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, fh, nil
}

// WriteAtomic writes a file through write into a temporary file beside path (so the
// rename stays on one file system), syncs it and renames it over path with mode 0644.
// path is replaced only if everything succeeded; on any error the temporary file is
// removed and an existing file at path is left as it was. write's error is returned
// unchanged.
func WriteAtomic(path string, write func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; outputs are ordinary files others may read.
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WriteFile writes data to path atomically, as WriteAtomic does.
func WriteFile(path string, data []byte) error {
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
