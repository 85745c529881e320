// Package hdf5 reads numeric datasets from HDF5 files in pure Go: the subset that h5py
// writes. Superblock versions 0-3; object headers v1 and v2; old-style (symbol table),
// compact and dense (fractal heap + v2 B-tree) groups and soft links; contiguous, compact
// and chunked layouts with every chunk index libhdf5 1.10 writes (v1 B-tree, single chunk,
// implicit, fixed array, extensible array, v2 B-tree); deflate, shuffle and Fletcher-32
// filters; integer, IEEE float (16/32/64-bit) and integer-enum types of either byte order.
// Anything else is an error wrapping ErrUnsupported that names the feature.
//
// Files are untrusted: every address and size is checked against the file before it is
// used or allocated, structures are walked with depth and work limits, and corrupt input
// returns an error, never a panic.
package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/aisam/aisam/internal/fileio"
)

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("hdf5")

// ErrUnsupported is wrapped by errors about valid HDF5 features this reader does not handle.
var ErrUnsupported = errors.New("hdf5: unsupported")

// MaxBytes bounds the decoded size of one dataset.
var MaxBytes int64 = 8 << 30

// maxExpansion bounds how many decoded bytes a chunked or unallocated dataset may have per
// byte of file: deflate cannot compress better than about 1032:1, so a larger claim is a lie.
const maxExpansion = 1100

var signature = []byte("\x89HDF\r\n\x1a\n")

// File is an open HDF5 file. Its methods may be called from several goroutines at once
// when the underlying io.ReaderAt allows it (os.File and bytes.Reader do).
type File struct {
	r         io.ReaderAt
	size      int64 // bytes readable through r
	base      uint64
	so, sl    int // size of offsets and of lengths, in bytes
	sbVersion int
	root      uint64 // root group object header address
	budget    int64  // metadata bytes left to read, against loops and blow-ups
	closer    io.Closer
}

// Open reads the superblock of an HDF5 file of the given size.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < int64(len(signature)) {
		return nil, fmt.Errorf("%w: file of %d bytes is too short", ErrFormat, size)
	}
	f := &File{r: r, size: size}
	f.budget = f.fullBudget()
	// The superblock is at 0 or at a power of two from 512 on (after a user block).
	var sbAt int64 = -1
	for at := int64(0); at+int64(len(signature)) <= size; {
		b := make([]byte, len(signature))
		if err := fileio.ReadFullAt(r, b, at); err != nil {
			return nil, fmt.Errorf("%w: reading signature at %d: %v", ErrFormat, at, err)
		}
		if bytes.Equal(b, signature) {
			sbAt = at
			break
		}
		if at == 0 {
			at = 512
		} else {
			at *= 2
		}
	}
	if sbAt < 0 {
		return nil, fmt.Errorf("%w: no HDF5 signature found (not an HDF5 file)", ErrFormat)
	}
	if err := f.readSuperblock(uint64(sbAt)); err != nil {
		return nil, err
	}
	return f, nil
}

// OpenFile opens the HDF5 file at path; Close releases it.
func OpenFile(path string) (*File, error) {
	f, fh, err := fileio.Open(path, Open)
	if err != nil {
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// Close closes the underlying file if the File was made by OpenFile.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// fullBudget is the metadata allowance of one operation: honest metadata is read about
// once, 64 passes over the whole file is far beyond that.
func (f *File) fullBudget() int64 { return 1<<20 + 64*min(f.size, 1<<40) }

// op returns a copy of f with a fresh metadata budget for one public operation, so that a
// File serves any number of operations, also concurrently (the copy is not shared).
func (f *File) op() *File {
	g := *f
	g.budget = f.fullBudget()
	return &g
}

// rawAt reads n bytes of metadata at absolute file position pos, checking bounds before
// allocating and charging the read to the metadata budget.
func (f *File) rawAt(pos uint64, n int64) ([]byte, error) {
	if n < 0 || pos > uint64(f.size) || n > f.size-int64(pos) {
		return nil, fmt.Errorf("%w: %d bytes at %d run past the end of the %d-byte file", ErrFormat, n, pos, f.size)
	}
	f.budget -= n + 64
	if f.budget < 0 {
		return nil, fmt.Errorf("%w: metadata read budget exhausted (corrupt or cyclic structure)", ErrFormat)
	}
	return f.rawData(pos, n)
}

// rawData reads n bytes of dataset storage at absolute position pos, after a bounds check.
func (f *File) rawData(pos uint64, n int64) ([]byte, error) {
	if n < 0 || pos > uint64(f.size) || n > f.size-int64(pos) {
		return nil, fmt.Errorf("%w: %d bytes at %d run past the end of the %d-byte file", ErrFormat, n, pos, f.size)
	}
	b := make([]byte, n)
	if err := fileio.ReadFullAt(f.r, b, int64(pos)); err != nil {
		return nil, fmt.Errorf("%w: reading %d bytes at %d: %v", ErrFormat, n, pos, err)
	}
	return b, nil
}

// readAt reads n bytes at a file address (relative to the base address).
func (f *File) readAt(addr uint64, n int64) ([]byte, error) {
	if f.undef(addr) {
		return nil, fmt.Errorf("%w: read at the undefined address", ErrFormat)
	}
	pos := f.base + addr
	if pos < addr {
		return nil, fmt.Errorf("%w: address %d overflows", ErrFormat, addr)
	}
	return f.rawAt(pos, n)
}

// undef reports whether addr is the undefined address (all bits set).
func (f *File) undef(addr uint64) bool {
	if f.so == 8 {
		return addr == ^uint64(0)
	}
	return addr == (uint64(1)<<(8*uint(f.so)))-1
}

// fits reports whether n bytes at address addr lie inside the file.
func (f *File) fits(addr, n uint64) bool {
	pos := f.base + addr
	return pos >= addr && pos <= uint64(f.size) && n <= uint64(f.size)-pos
}

func (f *File) readSuperblock(at uint64) error {
	hdr, err := f.rawAt(at, min(f.size-int64(at), 256))
	if err != nil {
		return err
	}
	c := &cursor{b: hdr, off: 8, what: "superblock"}
	f.sbVersion = int(c.u8())
	switch f.sbVersion {
	case 0, 1:
		c.skip(4) // free-space, root symbol table, reserved, shared header versions
		f.so = int(c.u8())
		f.sl = int(c.u8())
		if err := f.checkSizes(); err != nil {
			return err
		}
		c.skip(1)
		c.skip(4) // group leaf and internal node K
		c.skip(4) // consistency flags
		if f.sbVersion == 1 {
			c.skip(4) // indexed storage K, reserved
		}
		c.so = f.so
		f.base = c.addr()
		c.addr() // free-space info
		eof := c.addr()
		c.addr() // driver info
		// Root group symbol table entry: link name offset, object header address, ...
		c.addr()
		f.root = c.addr()
		if c.err != nil {
			return c.err
		}
		return f.checkEOF(eof)
	case 2, 3:
		f.so = int(c.u8())
		f.sl = int(c.u8())
		if err := f.checkSizes(); err != nil {
			return err
		}
		c.skip(1) // consistency flags
		c.so = f.so
		f.base = c.addr()
		c.addr() // superblock extension
		eof := c.addr()
		f.root = c.addr()
		end := c.off
		sum := c.u32()
		if c.err != nil {
			return c.err
		}
		if got := lookup3(hdr[:end]); got != sum && !ignoreChecksums {
			return fmt.Errorf("%w: superblock checksum mismatch (stored %#x, computed %#x)", ErrFormat, sum, got)
		}
		return f.checkEOF(eof)
	}
	return fmt.Errorf("%w: superblock version %d", ErrUnsupported, f.sbVersion)
}

func (f *File) checkSizes() error {
	for _, s := range []int{f.so, f.sl} {
		if s != 2 && s != 4 && s != 8 {
			return fmt.Errorf("%w: size of offsets/lengths %d/%d (want 2, 4 or 8)", ErrFormat, f.so, f.sl)
		}
	}
	return nil
}

func (f *File) checkEOF(eof uint64) error {
	if f.undef(f.root) {
		return fmt.Errorf("%w: undefined root group address", ErrFormat)
	}
	// libhdf5 stores the end-of-file address counting the user block, i.e. as a file
	// position, although other addresses are relative to the base address.
	if !f.undef(eof) && eof > uint64(f.size) {
		return fmt.Errorf("%w: file truncated: superblock says it ends at %d, it has %d bytes", ErrFormat, eof, f.size)
	}
	return nil
}

// cursor decodes little-endian fields from a byte slice; the first overrun sets err and
// every later read returns zero, so callers check err once.
type cursor struct {
	b    []byte
	off  int
	so   int
	sl   int
	err  error
	what string
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || n > len(c.b)-c.off {
		c.err = fmt.Errorf("%w: %s truncated (need %d bytes at %d of %d)", ErrFormat, c.what, n, c.off, len(c.b))
		return false
	}
	return true
}

func (c *cursor) skip(n int) {
	if c.need(n) {
		c.off += n
	}
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	b := c.b[c.off : c.off+n]
	c.off += n
	return b
}

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	c.off++
	return c.b[c.off-1]
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	c.off += 2
	return binary.LittleEndian.Uint16(c.b[c.off-2:])
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	c.off += 4
	return binary.LittleEndian.Uint32(c.b[c.off-4:])
}

// uvar reads an n-byte little-endian unsigned integer (n <= 8).
func (c *cursor) uvar(n int) uint64 {
	if n > 8 {
		if c.err == nil {
			c.err = fmt.Errorf("%w: %s: %d-byte integer field", ErrFormat, c.what, n)
		}
		return 0
	}
	if !c.need(n) {
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(c.b[c.off+i])
	}
	c.off += n
	return v
}

func (c *cursor) addr() uint64   { return c.uvar(c.so) }
func (c *cursor) length() uint64 { return c.uvar(c.sl) }

func (f *File) cursor(b []byte, what string) *cursor {
	return &cursor{b: b, so: f.so, sl: f.sl, what: what}
}
