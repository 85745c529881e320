package hdf5

import (
	"bytes"
	"fmt"
	"math/bits"
)

// fheap is an opened fractal heap header (FRHP); only managed objects are read.
type fheap struct {
	f          *File
	addr       uint64
	idLen      int
	filtered   bool
	checksumDB bool
	width      int
	startSize  uint64
	maxDirect  uint64
	offSize    int // bytes of a heap offset (from the maximum heap size)
	lenSize    int // bytes of an object length in a heap ID
	root       uint64
	rootRows   int
}

func (f *File) openFHeap(addr uint64) (*fheap, error) {
	n := int64(4 + 1 + 2 + 2 + 1 + 4 + f.sl + f.so + f.sl + f.so + 8*f.sl + 2 + 2*f.sl + 2 + 2 + f.so + 2 + 4)
	b, err := f.readAt(addr, n)
	if err != nil {
		return nil, fmt.Errorf("fractal heap header: %w", err)
	}
	if !bytes.Equal(b[:4], []byte("FRHP")) {
		return nil, fmt.Errorf("%w: fractal heap at %d lacks the FRHP signature", ErrFormat, addr)
	}
	c := f.cursor(b, "fractal heap header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		return nil, fmt.Errorf("%w: fractal heap version %d", ErrUnsupported, v)
	}
	h := &fheap{f: f, addr: addr}
	h.idLen = int(c.u16())
	filterLen := int(c.u16())
	flags := c.u8()
	h.checksumDB = flags&0x02 != 0
	maxMan := c.u32()
	c.length()       // next huge object ID
	c.addr()         // huge object B-tree
	c.length()       // free space
	c.addr()         // free space manager
	c.skip(6 * f.sl) // managed space, allocated, iterator, #managed, huge size, #huge
	c.skip(2 * f.sl) // tiny size, #tiny
	h.width = int(c.u16())
	h.startSize = c.length()
	h.maxDirect = c.length()
	maxHeapBits := int(c.u16())
	c.u16() // starting rows
	h.root = c.addr()
	h.rootRows = int(c.u16())
	if c.err != nil {
		return nil, c.err
	}
	if filterLen > 0 {
		h.filtered = true
		return nil, fmt.Errorf("%w: filtered fractal heap", ErrUnsupported)
	}
	// The checksum follows the fields read so far.
	end := c.off
	c.skip(4)
	if c.err != nil {
		return nil, c.err
	}
	if err := checkSum(b[:end+4], "FRHP"); err != nil {
		return nil, err
	}
	if h.width < 1 || h.width > 1<<16 || h.startSize < 1 || h.maxDirect < h.startSize ||
		h.startSize&(h.startSize-1) != 0 || h.maxDirect&(h.maxDirect-1) != 0 ||
		maxHeapBits < 1 || maxHeapBits > 64 || h.maxDirect > uint64(f.size)*2+1<<20 {
		return nil, fmt.Errorf("%w: fractal heap geometry (width %d, blocks %d..%d, %d bits)", ErrFormat, h.width, h.startSize, h.maxDirect, maxHeapBits)
	}
	h.offSize = (maxHeapBits + 7) / 8
	h.lenSize = min((bits.Len64(h.maxDirect)-1+7)/8, encSize(uint64(maxMan)))
	return h, nil
}

// object returns the bytes of the object a heap ID refers to.
func (h *fheap) object(id []byte) ([]byte, error) {
	if len(id) < 1 {
		return nil, fmt.Errorf("%w: empty heap ID", ErrFormat)
	}
	switch typ := (id[0] >> 4) & 3; typ {
	case 0:
	case 1:
		return nil, fmt.Errorf("%w: huge fractal heap object", ErrUnsupported)
	case 2:
		n := int(id[0]&0x0f) + 1
		if n > len(id)-1 {
			return nil, fmt.Errorf("%w: tiny heap object of %d bytes in a %d-byte ID", ErrFormat, n, len(id))
		}
		return id[1 : 1+n], nil
	default:
		return nil, fmt.Errorf("%w: heap ID type %d", ErrFormat, typ)
	}
	c := h.f.cursor(id, "heap ID")
	c.skip(1)
	off := c.uvar(h.offSize)
	n := c.uvar(h.lenSize)
	if c.err != nil {
		return nil, c.err
	}
	if n > h.maxDirect {
		return nil, fmt.Errorf("%w: heap object of %d bytes exceeds the direct block size", ErrFormat, n)
	}
	if h.rootRows == 0 {
		return h.fromDirect(h.root, 0, h.startSize, off, n)
	}
	return h.fromIndirect(h.root, 0, h.rootRows, off, n, 0)
}

// blockSize is the size of the blocks in row r of the doubling table.
func (h *fheap) blockSize(r int) uint64 {
	if r <= 1 {
		return h.startSize
	}
	if r-1 >= 63 {
		return 0
	}
	s := h.startSize << uint(r-1)
	if s>>uint(r-1) != h.startSize {
		return 0 // overflow
	}
	return s
}

func (h *fheap) fromDirect(addr, blockOff, size, off, n uint64) ([]byte, error) {
	if off < blockOff || off-blockOff+n > size {
		return nil, fmt.Errorf("%w: heap object outside its direct block", ErrFormat)
	}
	hdr := uint64(5 + h.f.so + h.offSize)
	if h.checksumDB {
		hdr += 4
	}
	if off-blockOff < hdr {
		return nil, fmt.Errorf("%w: heap object overlaps the direct block header", ErrFormat)
	}
	pre, err := h.f.readAt(addr, int64(5+h.f.so))
	if err != nil {
		return nil, fmt.Errorf("fractal heap direct block: %w", err)
	}
	if !bytes.Equal(pre[:4], []byte("FHDB")) {
		return nil, fmt.Errorf("%w: direct block at %d lacks the FHDB signature", ErrFormat, addr)
	}
	return h.f.readAt(addr+(off-blockOff), int64(n))
}

func (h *fheap) fromIndirect(addr, blockOff uint64, rows int, off, n uint64, depth int) ([]byte, error) {
	if depth > 16 || rows < 1 || rows > 64 {
		return nil, fmt.Errorf("%w: fractal heap indirect block with %d rows at depth %d", ErrFormat, rows, depth)
	}
	pre, err := h.f.readAt(addr, int64(5+h.f.so+h.offSize))
	if err != nil {
		return nil, fmt.Errorf("fractal heap indirect block: %w", err)
	}
	if !bytes.Equal(pre[:4], []byte("FHIB")) {
		return nil, fmt.Errorf("%w: indirect block at %d lacks the FHIB signature", ErrFormat, addr)
	}
	// Find the row and column whose block holds off.
	pos := blockOff
	for r := 0; r < rows; r++ {
		size := h.blockSize(r)
		if size == 0 {
			break
		}
		for col := 0; col < h.width; col++ {
			if off >= pos && off < pos+size {
				entry := r*h.width + col
				a, err := h.f.readAt(addr+uint64(5+h.f.so+h.offSize+entry*h.f.so), int64(h.f.so))
				if err != nil {
					return nil, err
				}
				child := h.f.cursor(a, "indirect block entry").addr()
				if h.f.undef(child) {
					return nil, fmt.Errorf("%w: heap object in an unallocated block", ErrFormat)
				}
				if size <= h.maxDirect {
					return h.fromDirect(child, pos, size, off, n)
				}
				// A child indirect block of this size has enough rows to span it.
				childRows := bits.Len64(size) - bits.Len64(h.startSize*uint64(h.width)) + 1
				return h.fromIndirect(child, pos, childRows, off, n, depth+1)
			}
			pos += size
		}
	}
	return nil, fmt.Errorf("%w: heap offset %d outside the heap", ErrFormat, off)
}
