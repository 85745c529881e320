// Package fileiotest holds io.ReaderAt variants for testing parsers against readers that
// use every freedom the interface allows.
package fileiotest

import (
	"bytes"
	"io"
)

// EOFAtEnd is an io.ReaderAt that, as the interface allows, reports io.EOF along with a
// full read that reaches the end of its data (bytes.Reader and os.File do not).
type EOFAtEnd struct{ *bytes.Reader }

// NewEOFAtEnd returns an EOFAtEnd reading b.
func NewEOFAtEnd(b []byte) EOFAtEnd { return EOFAtEnd{bytes.NewReader(b)} }

// ReadAt reads as bytes.Reader does, but returns io.EOF with a full read ending at the end.
func (r EOFAtEnd) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	if err == nil && off+int64(n) == r.Size() {
		err = io.EOF
	}
	return n, err
}
