package hdf5

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/aisam/aisam/internal/par"
)

// Len is the number of elements of the dataset.
func (d *Dataset) Len() int64 { return d.nelem }

// ReadRaw returns the dataset's elements as stored: C order, the file's byte order.
// A Dataset may be read any number of times, also concurrently.
func (d *Dataset) ReadRaw() ([]byte, error) {
	dd := *d
	dd.f = d.f.op()
	return dd.readRaw()
}

func (d *Dataset) readRaw() ([]byte, error) {
	total, err := d.checkedBytes()
	if err != nil {
		return nil, err
	}
	switch d.layout {
	case layoutCompact:
		if int64(len(d.compact)) != total {
			return nil, fmt.Errorf("%w: compact data of %d bytes for %d expected", ErrFormat, len(d.compact), total)
		}
		return append([]byte(nil), d.compact...), nil
	case layoutContiguous:
		if d.f.undef(d.addr) {
			return d.filled(total), nil
		}
		if d.size < uint64(total) {
			return nil, fmt.Errorf("%w: contiguous storage of %d bytes for %d expected", ErrFormat, d.size, total)
		}
		if !d.f.fits(d.addr, uint64(total)) {
			return nil, fmt.Errorf("%w: contiguous data (%d bytes at %d) runs past the end of the file", ErrFormat, total, d.addr)
		}
		return d.f.rawData(d.f.base+d.addr, total)
	case layoutChunked:
		return d.readChunked(total)
	}
	return nil, fmt.Errorf("%w: layout class %d", ErrFormat, d.layout)
}

// checkedBytes returns the decoded size, refusing sizes the file cannot back.
func (d *Dataset) checkedBytes() (int64, error) {
	es := int64(d.Type.Size)
	if d.nelem > math.MaxInt64/es {
		return 0, fmt.Errorf("%w: %d elements overflow", ErrFormat, d.nelem)
	}
	total := d.nelem * es
	if total > MaxBytes {
		return 0, fmt.Errorf("%w: dataset of %d bytes exceeds the limit of %d", ErrFormat, total, MaxBytes)
	}
	// Only stored (contiguous, compact) data is exactly bounded by the file; chunked or
	// unallocated data may be fill values or compressed, but not beyond what deflate allows.
	if limit := d.f.size * maxExpansion; total > limit {
		return 0, fmt.Errorf("%w: dataset of %d bytes cannot come from a %d-byte file", ErrFormat, total, d.f.size)
	}
	return total, nil
}

// filled returns total bytes of the fill value (zeros by default).
func (d *Dataset) filled(total int64) []byte {
	out := make([]byte, total)
	if d.fill != nil && !allZero(d.fill) {
		for i := 0; i+len(d.fill) <= len(out); i += len(d.fill) {
			copy(out[i:], d.fill)
		}
	}
	return out
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}

// ReadFloat64 returns the elements in C order as float64 (exact for all but 64-bit integers
// beyond 2^53).
func (d *Dataset) ReadFloat64() ([]float64, error) {
	raw, err := d.ReadRaw()
	if err != nil {
		return nil, err
	}
	out := make([]float64, d.nelem)
	conv := d.Type.converter()
	par.For(len(out), 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = conv(raw[i*d.Type.Size:])
		}
	})
	return out, nil
}

// ReadFloat32 returns the elements in C order as float32.
func (d *Dataset) ReadFloat32() ([]float32, error) {
	raw, err := d.ReadRaw()
	if err != nil {
		return nil, err
	}
	out := make([]float32, d.nelem)
	t := d.Type
	if t.Class == Float && t.Size == 4 {
		le := !t.BigEndian
		par.For(len(out), 1<<16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if le {
					out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				} else {
					out[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
				}
			}
		})
		return out, nil
	}
	conv := t.converter()
	par.For(len(out), 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = float32(conv(raw[i*t.Size:]))
		}
	})
	return out, nil
}

func (t Datatype) converter() func([]byte) float64 {
	bo := t.order()
	switch {
	case t.Class == Float && t.Size == 2:
		return func(b []byte) float64 { return halfToFloat(bo.Uint16(b)) }
	case t.Class == Float && t.Size == 4:
		return func(b []byte) float64 { return float64(math.Float32frombits(bo.Uint32(b))) }
	case t.Class == Float:
		return func(b []byte) float64 { return math.Float64frombits(bo.Uint64(b)) }
	case t.Size == 1 && t.Signed:
		return func(b []byte) float64 { return float64(int8(b[0])) }
	case t.Size == 1:
		return func(b []byte) float64 { return float64(b[0]) }
	case t.Size == 2 && t.Signed:
		return func(b []byte) float64 { return float64(int16(bo.Uint16(b))) }
	case t.Size == 2:
		return func(b []byte) float64 { return float64(bo.Uint16(b)) }
	case t.Size == 4 && t.Signed:
		return func(b []byte) float64 { return float64(int32(bo.Uint32(b))) }
	case t.Size == 4:
		return func(b []byte) float64 { return float64(bo.Uint32(b)) }
	case t.Signed:
		return func(b []byte) float64 { return float64(int64(bo.Uint64(b))) }
	}
	return func(b []byte) float64 { return float64(bo.Uint64(b)) }
}

func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * math.Ldexp(m, -24)
	case 31:
		if m != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+m, e-25)
}

// chunkRef is one stored chunk: its element offsets, address, stored size and filter mask.
type chunkRef struct {
	offset []uint64
	addr   uint64
	size   uint64
	mask   uint32
}

func (d *Dataset) readChunked(total int64) ([]byte, error) {
	rank := len(d.Shape)
	if rank == 0 {
		return nil, fmt.Errorf("%w: chunked scalar dataset", ErrFormat)
	}
	chunkElems := int64(1)
	for _, c := range d.chunk {
		if chunkElems > math.MaxInt64/int64(c) {
			return nil, fmt.Errorf("%w: chunk %v overflows", ErrFormat, d.chunk)
		}
		chunkElems *= int64(c)
	}
	if chunkElems > math.MaxInt64/int64(d.Type.Size) || chunkElems*int64(d.Type.Size) > d.f.size*maxExpansion || chunkElems*int64(d.Type.Size) > MaxBytes {
		return nil, fmt.Errorf("%w: chunk %v of %d-byte elements is larger than the file can hold", ErrFormat, d.chunk, d.Type.Size)
	}
	chunkBytes := chunkElems * int64(d.Type.Size)
	var chunks []chunkRef
	var err error
	if total > 0 && !d.f.undef(d.addr) {
		switch d.index {
		case indexBTree1:
			chunks, err = d.btreeChunks()
		case indexSingle:
			size := uint64(chunkBytes)
			if d.chunkFlags&0x02 != 0 {
				size = d.singleSize
			}
			chunks = []chunkRef{{offset: make([]uint64, rank), addr: d.addr, size: size, mask: d.singleMask}}
		case indexImplicit:
			chunks, err = d.implicitChunks(chunkBytes)
		case indexFixedArray:
			chunks, err = d.fixedArrayChunks(chunkBytes)
		case indexExtensible:
			chunks, err = d.extensibleArrayChunks(chunkBytes)
		case indexBTree2:
			chunks, err = d.btree2Chunks(chunkBytes)
		default:
			err = fmt.Errorf("%w: chunk index type %d", ErrUnsupported, d.index)
		}
		if err != nil {
			return nil, err
		}
	}
	// Chunks are decoded in parallel into disjoint parts of out; a chunk listed twice
	// would make two of them overlap, so it is refused first.
	seen := make(map[string]bool, len(chunks))
	for _, ch := range chunks {
		key := fmt.Sprint(ch.offset)
		if seen[key] {
			return nil, fmt.Errorf("%w: chunk at offset %v listed twice", ErrFormat, ch.offset)
		}
		seen[key] = true
	}
	out := d.filled(total)
	var mu sync.Mutex
	var first error
	par.ForEach(len(chunks), func(i int) {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			return
		}
		if err := d.placeChunk(out, chunks[i], chunkBytes); err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	})
	if first != nil {
		return nil, first
	}
	return out, nil
}

// placeChunk reads, unfilters and copies one chunk into out, dropping the parts that lie
// beyond the dataset's edges.
func (d *Dataset) placeChunk(out []byte, ch chunkRef, chunkBytes int64) error {
	rank := len(d.Shape)
	if len(ch.offset) != rank {
		return fmt.Errorf("%w: chunk offset of rank %d", ErrFormat, len(ch.offset))
	}
	edge := false
	for i, o := range ch.offset {
		if o >= uint64(d.Shape[i]) || o%uint64(d.chunk[i]) != 0 {
			return fmt.Errorf("%w: chunk offset %v does not fit shape %v and chunk %v", ErrFormat, ch.offset, d.Shape, d.chunk)
		}
		if o+uint64(d.chunk[i]) > uint64(d.Shape[i]) {
			edge = true
		}
	}
	if d.f.undef(ch.addr) {
		return nil // never written: fill value
	}
	if ch.size > uint64(chunkBytes)*2+1<<20 || !d.f.fits(ch.addr, ch.size) {
		return fmt.Errorf("%w: chunk at %d of %d bytes is outside the file or implausibly large", ErrFormat, ch.addr, ch.size)
	}
	raw, err := d.f.rawData(d.f.base+ch.addr, int64(ch.size))
	if err != nil {
		return err
	}
	filters := d.filters
	if edge && d.chunkFlags&chunkNoEdgeFilts != 0 {
		filters = nil
	}
	data, err := unfilter(raw, filters, ch.mask, chunkBytes)
	if err != nil {
		return fmt.Errorf("chunk at offset %v: %w", ch.offset, err)
	}
	if int64(len(data)) != chunkBytes {
		return fmt.Errorf("%w: chunk at offset %v decodes to %d bytes, want %d", ErrFormat, ch.offset, len(data), chunkBytes)
	}
	es := d.Type.Size
	// Row-major strides of the dataset and of the chunk, in elements.
	dstStride := make([]int64, rank)
	srcStride := make([]int64, rank)
	dstStride[rank-1], srcStride[rank-1] = 1, 1
	for i := rank - 2; i >= 0; i-- {
		dstStride[i] = dstStride[i+1] * int64(d.Shape[i+1])
		srcStride[i] = srcStride[i+1] * int64(d.chunk[i+1])
	}
	extent := make([]int, rank) // part of the chunk inside the dataset
	for i := range extent {
		extent[i] = min(d.chunk[i], d.Shape[i]-int(ch.offset[i]))
	}
	run := int64(extent[rank-1] * es)
	idx := make([]int, rank) // position within the chunk, last axis fixed at 0
	for {
		var src, dst int64
		for i := 0; i < rank; i++ {
			src += int64(idx[i]) * srcStride[i]
			dst += (int64(ch.offset[i]) + int64(idx[i])) * dstStride[i]
		}
		copy(out[dst*int64(es):dst*int64(es)+run], data[src*int64(es):])
		i := rank - 2
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < extent[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return nil
		}
	}
}

// unfilter undoes the filter pipeline (in reverse order), skipping filters whose bit is
// set in mask. Output never grows beyond want plus a checksum.
func unfilter(b []byte, filters []filter, mask uint32, want int64) ([]byte, error) {
	for i := len(filters) - 1; i >= 0; i-- {
		if i < 32 && mask&(1<<uint(i)) != 0 {
			continue
		}
		ft := filters[i]
		switch ft.id {
		case 1:
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("%w: deflate: %v", ErrFormat, err)
			}
			limit := want + 4
			out, err := io.ReadAll(io.LimitReader(zr, limit+1))
			if err != nil {
				return nil, fmt.Errorf("%w: deflate: %v", ErrFormat, err)
			}
			if int64(len(out)) > limit {
				return nil, fmt.Errorf("%w: deflate stream inflates beyond the chunk size %d", ErrFormat, want)
			}
			b = out
		case 2:
			es := 0
			if len(ft.params) > 0 {
				es = int(ft.params[0])
			}
			if es < 1 || es > 1024 {
				return nil, fmt.Errorf("%w: shuffle element size %d", ErrFormat, es)
			}
			b = unshuffle(b, es)
		case 3:
			if len(b) < 4 {
				return nil, fmt.Errorf("%w: fletcher32: chunk shorter than its checksum", ErrFormat)
			}
			n := len(b) - 4
			stored := binary.LittleEndian.Uint32(b[n:])
			if got := fletcher32(b[:n]); got != stored {
				return nil, fmt.Errorf("%w: fletcher32 checksum mismatch (stored %#x, computed %#x)", ErrFormat, stored, got)
			}
			b = b[:n]
		default:
			return nil, fmt.Errorf("%w: filter %q (id %d)", ErrUnsupported, ft.name, ft.id)
		}
	}
	return b, nil
}

// unshuffle reverses HDF5's byte shuffle: byte j of every element was stored in plane j.
func unshuffle(b []byte, es int) []byte {
	if es == 1 {
		return b
	}
	n := len(b) / es
	out := make([]byte, len(b))
	for j := 0; j < es; j++ {
		plane := b[j*n : (j+1)*n]
		for i, v := range plane {
			out[i*es+j] = v
		}
	}
	copy(out[n*es:], b[n*es:])
	return out
}

// fletcher32 is HDF5's H5_checksum_fletcher32: 16-bit big-endian words, an odd final byte
// as the high half of a word.
func fletcher32(b []byte) uint32 {
	var s1, s2 uint32
	for len(b) > 0 {
		n := min(len(b)/2, 360)
		if n == 0 {
			break
		}
		for i := 0; i < n; i++ {
			s1 += uint32(b[2*i])<<8 | uint32(b[2*i+1])
			s2 += s1
		}
		b = b[2*n:]
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	if len(b) == 1 {
		s1 += uint32(b[0]) << 8
		s2 += s1
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	s1 = (s1 & 0xffff) + (s1 >> 16)
	s2 = (s2 & 0xffff) + (s2 >> 16)
	return s2<<16 | s1
}
