package hdf5

import (
	"bytes"
	"fmt"
	"math/bits"
)

// extensibleArrayChunks lists the chunks of an extensible-array index (EAHD header, EAIB
// index block, EASB super blocks, EADB data blocks), used for datasets with one unlimited
// dimension. Element k of the array is chunk k in row-major grid order with the unlimited
// dimension first.
func (d *Dataset) extensibleArrayChunks(chunkBytes int64) ([]chunkRef, error) {
	for i, u := range d.unlimited {
		if u && i != 0 {
			return nil, fmt.Errorf("%w: extensible-array chunk index with unlimited dimension %d (only 0)", ErrUnsupported, i)
		}
	}
	f := d.f
	hsize := int64(12 + 6*f.sl + f.so + 4)
	hb, err := f.readBlock(d.addr, hsize, "EAHD", "extensible array header")
	if err != nil {
		return nil, err
	}
	c := f.cursor(hb, "extensible array header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		return nil, fmt.Errorf("%w: extensible array version %d", ErrUnsupported, v)
	}
	client := c.u8()
	esize := int(c.u8())
	maxBits := int(c.u8())
	idxElems := int(c.u8())
	dblkMin := int(c.u8())
	sblkMinPtrs := int(c.u8())
	pageBits := int(c.u8())
	c.skip(6 * f.sl) // secondary/data block counts and sizes, max index, realized elements
	iblk := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	pow2 := func(v int) bool { return v > 0 && v&(v-1) == 0 }
	if maxBits < 1 || maxBits > 64 || !pow2(dblkMin) || !pow2(sblkMinPtrs) || pageBits < 1 || pageBits > 31 || bits.Len(uint(dblkMin))-1 > maxBits {
		return nil, fmt.Errorf("%w: extensible array parameters (bits %d, min elements %d, min pointers %d, page bits %d)", ErrFormat, maxBits, dblkMin, sblkMinPtrs, pageBits)
	}
	filtered := client == 1
	sizeLen := 0
	switch {
	case client == 0 && esize == f.so:
	case client == 1 && esize > f.so+4 && esize <= f.so+4+8:
		sizeLen = esize - f.so - 4
	default:
		return nil, fmt.Errorf("%w: extensible array client %d with %d-byte entries", ErrFormat, client, esize)
	}
	g, grid, err := d.maxGrid()
	if err != nil {
		return nil, err
	}
	if f.undef(iblk) {
		return nil, nil
	}
	// Super block geometry (libhdf5's H5EA__hdr_init).
	nsblks := 1 + maxBits - (bits.Len(uint(dblkMin)) - 1)
	type sblkInfo struct{ ndblks, dblkElems, startIdx, startDblk uint64 }
	info := make([]sblkInfo, nsblks)
	var startIdx, startDblk uint64
	for u := range info {
		info[u] = sblkInfo{uint64(1) << uint(u/2), (uint64(1) << uint((u+1)/2)) * uint64(dblkMin), startIdx, startDblk}
		startIdx += info[u].ndblks * info[u].dblkElems
		startDblk += info[u].ndblks
		if startIdx > uint64(grid)+uint64(idxElems) {
			info = info[:u+1]
			break
		}
	}
	offSize := (maxBits + 7) / 8
	iblkSblks := 2 * (bits.Len(uint(sblkMinPtrs)) - 1)
	ndblkAddrs := 2 * (sblkMinPtrs - 1)
	nsblkAddrs := nsblks - iblkSblks
	if nsblkAddrs < 0 {
		nsblkAddrs = 0
	}
	ib, err := f.readBlock(iblk, int64(6+f.so+idxElems*esize+(ndblkAddrs+nsblkAddrs)*f.so+4), "EAIB", "extensible array index block")
	if err != nil {
		return nil, err
	}
	ic := f.cursor(ib, "extensible array index block")
	ic.skip(6 + f.so)
	idxEntries := ic.bytes(idxElems * esize)
	dblkAddrs := make([]uint64, ndblkAddrs)
	for i := range dblkAddrs {
		dblkAddrs[i] = ic.addr()
	}
	sblkAddrs := make([]uint64, nsblkAddrs)
	for i := range sblkAddrs {
		sblkAddrs[i] = ic.addr()
	}
	if ic.err != nil {
		return nil, ic.err
	}

	var chunks []chunkRef
	ents := arrayEntries{size: esize, sizeLen: sizeLen, filtered: filtered, chunkBytes: chunkBytes, g: g, grid: grid, what: "extensible array entry"}
	add := func(b []byte, k int64) (err error) {
		chunks, err = d.appendArrayEntries(chunks, b, k, ents)
		return err
	}
	if err := add(idxEntries, 0); err != nil {
		return nil, err
	}
	pageElems := uint64(1) << uint(pageBits)
	// dataBlock reads the data block at addr holding n elements that start at array index k;
	// pageInit tells which of its pages were ever written (paged blocks only).
	dataBlock := func(addr uint64, n uint64, k int64, pageInit func(p uint64) bool) error {
		if f.undef(addr) {
			return nil
		}
		prefix := int64(6 + f.so + offSize)
		if n <= pageElems {
			if n > uint64(f.size) {
				return fmt.Errorf("%w: extensible array data block of %d entries", ErrFormat, n)
			}
			b, err := f.readBlock(addr, prefix+int64(n)*int64(esize)+4, "EADB", "extensible array data block")
			if err != nil {
				return err
			}
			return add(b[prefix:len(b)-4], k)
		}
		// Paged data block: prefix + checksum, then pages each with their own checksum.
		b, err := f.readAt(addr, prefix+4)
		if err != nil {
			return fmt.Errorf("extensible array data block: %w", err)
		}
		if !bytes.Equal(b[:4], []byte("EADB")) {
			return fmt.Errorf("%w: extensible array data block lacks the EADB signature", ErrFormat)
		}
		pos := addr + uint64(prefix) + 4
		for p := uint64(0); p*pageElems < n && k+int64(p*pageElems) < grid; p++ {
			psize := int64(pageElems)*int64(esize) + 4
			if pageInit(p) {
				pb, err := f.readAt(pos, psize)
				if err != nil {
					return fmt.Errorf("extensible array page: %w", err)
				}
				if err := checkSum(pb, "extensible array page"); err != nil {
					return err
				}
				if err := add(pb[:len(pb)-4], k+int64(p*pageElems)); err != nil {
					return err
				}
			}
			pos += uint64(psize)
		}
		return nil
	}
	for u, si := range info {
		base := int64(idxElems) + int64(si.startIdx)
		if base >= grid {
			break
		}
		if u < iblkSblks {
			for j := uint64(0); j < si.ndblks; j++ {
				di := si.startDblk + j
				if di >= uint64(len(dblkAddrs)) {
					return nil, fmt.Errorf("%w: extensible array data block %d missing from the index block", ErrFormat, di)
				}
				all := func(uint64) bool { return true }
				if err := dataBlock(dblkAddrs[di], si.dblkElems, base+int64(j*si.dblkElems), all); err != nil {
					return nil, err
				}
			}
			continue
		}
		so := u - iblkSblks
		if so >= len(sblkAddrs) || f.undef(sblkAddrs[so]) {
			continue
		}
		npagesPer := uint64(0)
		if si.dblkElems > pageElems {
			npagesPer = si.dblkElems / pageElems
		}
		bitmap := int((si.ndblks*npagesPer + 7) / 8)
		sb, err := f.readBlock(sblkAddrs[so], int64(6+f.so+offSize+bitmap)+int64(si.ndblks)*int64(f.so)+4, "EASB", "extensible array super block")
		if err != nil {
			return nil, err
		}
		sc := f.cursor(sb, "extensible array super block")
		sc.skip(6 + f.so + offSize)
		bm := sc.bytes(bitmap)
		for j := uint64(0); j < si.ndblks; j++ {
			a := sc.addr()
			if sc.err != nil {
				return nil, sc.err
			}
			first := j * npagesPer
			pageInit := func(p uint64) bool {
				bit := first + p
				return bit/8 < uint64(len(bm)) && bm[bit/8]&(0x80>>(bit%8)) != 0
			}
			if err := dataBlock(a, si.dblkElems, base+int64(j*si.dblkElems), pageInit); err != nil {
				return nil, err
			}
		}
	}
	return chunks, nil
}
