package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// gridChunks is the number of chunks covering the dataset's current extent.
func (d *Dataset) gridChunks() (int64, error) {
	n := int64(1)
	for i, s := range d.Shape {
		g := int64((s + d.chunk[i] - 1) / d.chunk[i])
		if g != 0 && n > math.MaxInt64/g {
			return 0, fmt.Errorf("%w: chunk grid overflows", ErrFormat)
		}
		n *= g
	}
	return n, nil
}

// maxGrid returns the chunk grid that array indexes (fixed and extensible arrays, implicit
// storage) are laid out on: libhdf5 numbers chunks over the maximum dimensions, so a
// dataset smaller than its fixed maximum has gaps. An unlimited dimension counts with its
// current size: it can only be the first, slowest one, which never affects numbering.
func (d *Dataset) maxGrid() ([]int64, int64, error) {
	g := make([]int64, len(d.Shape))
	n := int64(1)
	for i, s := range d.Shape {
		ext := uint64(s)
		if d.maxShape != nil && !d.unlimited[i] {
			ext = d.maxShape[i]
		}
		if ext > math.MaxInt32*4 {
			return nil, 0, fmt.Errorf("%w: maximum dimension %d", ErrFormat, ext)
		}
		g[i] = (int64(ext) + int64(d.chunk[i]) - 1) / int64(d.chunk[i])
		if g[i] != 0 && n > math.MaxInt64/g[i] {
			return nil, 0, fmt.Errorf("%w: chunk grid overflows", ErrFormat)
		}
		n *= g[i]
	}
	return g, n, nil
}

// gridOffset returns the element offset of chunk number k in row-major order on grid g,
// or nil when that chunk lies outside the current extent.
func (d *Dataset) gridOffset(g []int64, k int64) []uint64 {
	rank := len(d.Shape)
	off := make([]uint64, rank)
	for i := rank - 1; i >= 0; i-- {
		off[i] = uint64(k%g[i]) * uint64(d.chunk[i])
		k /= g[i]
		if off[i] >= uint64(d.Shape[i]) {
			return nil
		}
	}
	return off
}

// btreeChunks lists the chunks of a version-1 B-tree (node type 1) index.
func (d *Dataset) btreeChunks() ([]chunkRef, error) {
	rank := len(d.Shape)
	grid, err := d.gridChunks()
	if err != nil {
		return nil, err
	}
	keySize := 8 + 8*(rank+1)
	var chunks []chunkRef
	err = d.f.walkBTree1(d.addr, 1, keySize, map[uint64]bool{}, 0, func(child uint64, key []byte) error {
		if int64(len(chunks)) >= grid {
			return fmt.Errorf("%w: chunk B-tree lists more chunks than the %d the dataset has", ErrFormat, grid)
		}
		ch := chunkRef{addr: child, size: uint64(binary.LittleEndian.Uint32(key)), mask: binary.LittleEndian.Uint32(key[4:])}
		ch.offset = make([]uint64, rank)
		for i := range ch.offset {
			ch.offset[i] = binary.LittleEndian.Uint64(key[8+8*i:])
		}
		chunks = append(chunks, ch)
		return nil
	})
	return chunks, err
}

// implicitChunks lists the chunks of an implicit index: all chunks stored back to back in
// grid order, unfiltered.
func (d *Dataset) implicitChunks(chunkBytes int64) ([]chunkRef, error) {
	g, grid, err := d.maxGrid()
	if err != nil {
		return nil, err
	}
	if grid > math.MaxInt64/chunkBytes || !d.f.fits(d.addr, uint64(grid*chunkBytes)) {
		return nil, fmt.Errorf("%w: implicit chunk storage (%d chunks of %d bytes) runs past the end of the file", ErrFormat, grid, chunkBytes)
	}
	var chunks []chunkRef
	for k := int64(0); k < grid; k++ {
		if off := d.gridOffset(g, k); off != nil {
			chunks = append(chunks, chunkRef{offset: off, addr: d.addr + uint64(k*chunkBytes), size: uint64(chunkBytes)})
		}
	}
	return chunks, nil
}

// fixedArrayChunks lists the chunks of a fixed-array index (FAHD header, FADB data block,
// optionally split into pages).
// arrayEntries describes the entries of the fixed and extensible array chunk indexes: an
// address, then for filtered datasets the stored size (sizeLen bytes) and filter mask.
type arrayEntries struct {
	size, sizeLen int
	filtered      bool
	chunkBytes    int64
	g             []int64 // chunk grid (maxGrid)
	grid          int64   // number of chunks in the grid
	what          string  // for error messages
}

// appendArrayEntries decodes the entries in b, the first of which is chunk number k, and
// appends the written chunks that lie in the grid.
func (d *Dataset) appendArrayEntries(chunks []chunkRef, b []byte, k int64, e arrayEntries) ([]chunkRef, error) {
	for i := 0; i+e.size <= len(b) && k < e.grid; i, k = i+e.size, k+1 {
		ec := d.f.cursor(b[i:i+e.size], e.what)
		ch := chunkRef{addr: ec.addr(), size: uint64(e.chunkBytes)}
		if e.filtered {
			ch.size = ec.uvar(e.sizeLen)
			ch.mask = ec.u32()
		}
		if ec.err != nil {
			return chunks, ec.err
		}
		if d.f.undef(ch.addr) {
			continue
		}
		if ch.offset = d.gridOffset(e.g, k); ch.offset != nil {
			chunks = append(chunks, ch)
		}
	}
	return chunks, nil
}

func (d *Dataset) fixedArrayChunks(chunkBytes int64) ([]chunkRef, error) {
	f := d.f
	hsize := 12 + f.sl + f.so
	hb, err := f.readBlock(d.addr, int64(hsize), "FAHD", "fixed array header")
	if err != nil {
		return nil, err
	}
	c := f.cursor(hb, "fixed array header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		return nil, fmt.Errorf("%w: fixed array version %d", ErrUnsupported, v)
	}
	client := c.u8()
	esize := int(c.u8())
	pageBits := int(c.u8())
	nelem := c.length()
	dblk := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	g, grid, err := d.maxGrid()
	if err != nil {
		return nil, err
	}
	if nelem != uint64(grid) {
		return nil, fmt.Errorf("%w: fixed array has %d entries for %d chunks", ErrFormat, nelem, grid)
	}
	filtered := client == 1
	sizeLen := 0
	switch {
	case client == 0 && esize == f.so:
	case client == 1 && esize > f.so+4 && esize <= f.so+4+8:
		sizeLen = esize - f.so - 4
	default:
		return nil, fmt.Errorf("%w: fixed array client %d with %d-byte entries", ErrFormat, client, esize)
	}
	if pageBits < 1 || pageBits > 31 {
		return nil, fmt.Errorf("%w: fixed array page bits %d", ErrFormat, pageBits)
	}
	if f.undef(dblk) {
		return nil, nil // no chunk written yet
	}
	pageElems := int64(1) << uint(pageBits)
	npages := int64(0)
	if int64(nelem) > pageElems {
		npages = (int64(nelem) + pageElems - 1) / pageElems
	}
	bitmap := int((npages + 7) / 8)
	prefix := int64(6 + f.so + bitmap)
	var chunks []chunkRef
	ents := arrayEntries{size: esize, sizeLen: sizeLen, filtered: filtered, chunkBytes: chunkBytes, g: g, grid: grid, what: "fixed array entry"}
	// addEntries decodes the entries of b, the first of which is chunk number k.
	addEntries := func(b []byte, k int64) (err error) {
		chunks, err = d.appendArrayEntries(chunks, b, k, ents)
		return err
	}
	if int64(nelem) > f.size/int64(esize)+1 && npages == 0 {
		return nil, fmt.Errorf("%w: fixed array of %d entries cannot fit the file", ErrFormat, nelem)
	}
	if npages == 0 {
		b, err := f.readAt(dblk, prefix+int64(nelem)*int64(esize)+4)
		if err != nil {
			return nil, fmt.Errorf("fixed array data block: %w", err)
		}
		if err := d.checkFADB(b, client); err != nil {
			return nil, err
		}
		if err := addEntries(b[prefix:len(b)-4], 0); err != nil {
			return nil, err
		}
		return chunks, nil
	}
	b, err := f.readAt(dblk, prefix+4)
	if err != nil {
		return nil, fmt.Errorf("fixed array data block: %w", err)
	}
	if err := d.checkFADB(b, client); err != nil {
		return nil, err
	}
	bm := b[6+f.so : prefix]
	pos := dblk + uint64(prefix) + 4
	for p := int64(0); p < npages; p++ {
		n := min(pageElems, int64(nelem)-p*pageElems)
		psize := n*int64(esize) + 4
		// Pages never written are not stored: their chunks are fill values.
		if bm[p/8]&(0x80>>uint(p%8)) != 0 {
			pb, err := f.readAt(pos, psize)
			if err != nil {
				return nil, fmt.Errorf("fixed array page %d: %w", p, err)
			}
			if err := checkSum(pb, "fixed array page"); err != nil {
				return nil, err
			}
			if err := addEntries(pb[:len(pb)-4], p*pageElems); err != nil {
				return nil, err
			}
		}
		pos += uint64(psize)
	}
	return chunks, nil
}

// checkFADB verifies the signature, client and checksum of a fixed array data block prefix.
func (d *Dataset) checkFADB(b []byte, client uint8) error {
	if !bytes.Equal(b[:4], []byte("FADB")) {
		return fmt.Errorf("%w: fixed array data block lacks the FADB signature", ErrFormat)
	}
	if b[4] != 0 || b[5] != client {
		return fmt.Errorf("%w: fixed array data block version %d client %d", ErrFormat, b[4], b[5])
	}
	return checkSum(b, "FADB")
}

// btree2Chunks lists the chunks of a version-2 B-tree index: records of type 10 (address,
// scaled offsets) or 11 (address, stored size, filter mask, scaled offsets).
func (d *Dataset) btree2Chunks(chunkBytes int64) ([]chunkRef, error) {
	filtered := len(d.filters) > 0
	typ := 10
	if filtered {
		typ = 11
	}
	t, err := d.f.openBTree2(d.addr, typ)
	if err != nil {
		return nil, fmt.Errorf("chunk index: %w", err)
	}
	rank := len(d.Shape)
	sizeLen := t.recSize - d.f.so - 8*rank
	if filtered {
		sizeLen -= 4
		if sizeLen < 1 || sizeLen > 8 {
			return nil, fmt.Errorf("%w: chunk records of %d bytes for rank %d", ErrFormat, t.recSize, rank)
		}
	} else if sizeLen != 0 {
		return nil, fmt.Errorf("%w: chunk records of %d bytes for rank %d", ErrFormat, t.recSize, rank)
	}
	grid, err := d.gridChunks()
	if err != nil {
		return nil, err
	}
	var chunks []chunkRef
	err = t.each(func(rec []byte) error {
		if int64(len(chunks)) >= grid {
			return fmt.Errorf("%w: chunk B-tree lists more chunks than the %d the dataset has", ErrFormat, grid)
		}
		c := d.f.cursor(rec, "chunk record")
		ch := chunkRef{addr: c.addr(), size: uint64(chunkBytes)}
		if filtered {
			ch.size = c.uvar(sizeLen)
			ch.mask = c.u32()
		}
		ch.offset = make([]uint64, rank)
		for i := range ch.offset {
			s := c.uvar(8)
			if s > uint64(d.Shape[i]) {
				return fmt.Errorf("%w: chunk record offset %d beyond dimension %d", ErrFormat, s, d.Shape[i])
			}
			ch.offset[i] = s * uint64(d.chunk[i])
		}
		if c.err != nil {
			return c.err
		}
		chunks = append(chunks, ch)
		return nil
	})
	return chunks, err
}
