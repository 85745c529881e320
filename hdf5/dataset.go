package hdf5

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrNotFound is wrapped when a path names no object.
var ErrNotFound = errors.New("hdf5: not found")

// Class is an HDF5 datatype class this reader decodes.
type Class int

// Datatype classes.
const (
	Integer Class = iota
	Float
)

// Datatype describes the element type of a dataset.
type Datatype struct {
	Class     Class
	Size      int // bytes per element: 1, 2, 4 or 8
	Signed    bool
	BigEndian bool
}

// String returns the numpy spelling of the type, e.g. "<f4" or ">i2".
func (t Datatype) String() string {
	bo := byte('<')
	if t.BigEndian {
		bo = '>'
	}
	if t.Size == 1 {
		bo = '|'
	}
	k := byte('u')
	switch {
	case t.Class == Float:
		k = 'f'
	case t.Signed:
		k = 'i'
	}
	return fmt.Sprintf("%c%c%d", bo, k, t.Size)
}

func (t Datatype) order() binary.ByteOrder {
	if t.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// Chunk index types of layout message version 4 (plus 0 for the v1 B-tree of version 3).
const (
	indexBTree1      = 0
	indexSingle      = 1
	indexImplicit    = 2
	indexFixedArray  = 3
	indexExtensible  = 4
	indexBTree2      = 5
	chunkNoEdgeFilts = 0x01
)

type filter struct {
	id       uint16
	name     string
	optional bool
	params   []uint32
}

// Dataset is a numeric dataset whose header has been decoded; data is read on demand.
type Dataset struct {
	f     *File
	Name  string
	Shape []int // numpy order, slowest first; empty for a scalar
	Type  Datatype

	nelem   int64
	fill    []byte // one element, or nil for zeros
	filters []filter

	layout     int
	addr       uint64 // contiguous data, chunk index, or single chunk
	size       uint64 // contiguous data size
	compact    []byte
	chunk      []int // chunk dims (rank entries)
	index      int
	chunkFlags uint8
	singleSize uint64 // single-chunk index: filtered size
	singleMask uint32
	faPageBits int
	unlimited  []bool   // per dimension: maximum size unlimited
	maxShape   []uint64 // maximum dimensions when stored, else nil
}

// Dataset opens the dataset at path (e.g. "image" or "/group/data").
func (f *File) Dataset(path string) (*Dataset, error) {
	f = f.op()
	addr, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	msgs, err := f.objectHeader(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d, err := f.parseDataset(msgs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d.Name = path
	return d, nil
}

func (f *File) parseDataset(msgs []message) (*Dataset, error) {
	d := &Dataset{f: f}
	var haveSpace, haveType, haveLayout bool
	var fillOld []byte
	for _, m := range msgs {
		if m.flags&0x02 != 0 && (m.typ == msgDatatype || m.typ == msgDataspace || m.typ == msgFilters) {
			return nil, fmt.Errorf("%w: shared (committed) header message of type %#x", ErrUnsupported, m.typ)
		}
		var err error
		switch m.typ {
		case msgDataspace:
			haveSpace = true
			err = d.parseDataspace(m.data)
		case msgDatatype:
			haveType = true
			d.Type, err = parseDatatype(m.data, 0)
		case msgFill:
			d.fill, err = parseFill(m.data)
		case msgFillOld:
			c := f.cursor(m.data, "old fill value message")
			n := c.u32()
			fillOld = c.bytes(int(min(n, uint32(len(m.data)))))
			err = c.err
		case msgFilters:
			d.filters, err = parseFilters(m.data)
		case msgLayout:
			haveLayout = true
			err = d.parseLayout(m.data)
		case msgExternal:
			return nil, fmt.Errorf("%w: external data storage", ErrUnsupported)
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveSpace || !haveType || !haveLayout {
		return nil, fmt.Errorf("%w: object is not a dataset (dataspace %v, datatype %v, layout %v)", ErrFormat, haveSpace, haveType, haveLayout)
	}
	if d.fill == nil && fillOld != nil {
		d.fill = fillOld
	}
	if d.fill != nil && len(d.fill) != d.Type.Size {
		d.fill = nil // a fill value of another size cannot be ours; zeros are HDF5's default
	}
	if d.layout == layoutChunked {
		if len(d.chunk) != len(d.Shape)+1 {
			return nil, fmt.Errorf("%w: chunk rank %d for a rank-%d dataset", ErrFormat, len(d.chunk)-1, len(d.Shape))
		}
		if d.chunk[len(d.Shape)] != d.Type.Size {
			return nil, fmt.Errorf("%w: chunk element size %d, datatype size %d", ErrFormat, d.chunk[len(d.Shape)], d.Type.Size)
		}
		d.chunk = d.chunk[:len(d.Shape)]
	}
	return d, nil
}

func (d *Dataset) parseDataspace(b []byte) error {
	c := d.f.cursor(b, "dataspace message")
	version := c.u8()
	rank := int(c.u8())
	flags := c.u8()
	kind := uint8(1)
	switch version {
	case 1:
		c.skip(5)
		if rank == 0 {
			kind = 0
		}
	case 2:
		kind = c.u8()
	default:
		return fmt.Errorf("%w: dataspace message version %d", ErrUnsupported, version)
	}
	if c.err != nil {
		return c.err
	}
	if rank > 32 {
		return fmt.Errorf("%w: dataspace rank %d > 32", ErrFormat, rank)
	}
	d.Shape = make([]int, rank)
	n := int64(1)
	for i := 0; i < rank; i++ {
		v := c.length()
		if c.err != nil {
			return c.err
		}
		if v > math.MaxInt32*4 {
			return fmt.Errorf("%w: dimension %d of size %d", ErrFormat, i, v)
		}
		d.Shape[i] = int(v)
		if v != 0 && n > math.MaxInt64/int64(v) {
			return fmt.Errorf("%w: dataspace %v overflows", ErrFormat, d.Shape)
		}
		n *= int64(v)
	}
	if flags&1 != 0 {
		d.unlimited = make([]bool, rank)
		d.maxShape = make([]uint64, rank)
		for i := 0; i < rank; i++ {
			d.maxShape[i] = c.length()
			d.unlimited[i] = d.maxShape[i] == ^uint64(0)>>(64-8*uint(d.f.sl))
			if !d.unlimited[i] && c.err == nil && d.maxShape[i] < uint64(d.Shape[i]) {
				return fmt.Errorf("%w: dimension %d of size %d exceeds its maximum %d", ErrFormat, i, d.Shape[i], d.maxShape[i])
			}
		}
		if c.err != nil {
			return c.err
		}
	}
	switch kind {
	case 0:
		d.Shape, n = []int{}, 1
	case 1:
	case 2:
		d.Shape, n = []int{0}, 0
	default:
		return fmt.Errorf("%w: dataspace type %d", ErrFormat, kind)
	}
	d.nelem = n
	return nil
}

// parseDatatype decodes fixed-point, IEEE floating-point and (as their base type) enum types.
func parseDatatype(b []byte, depth int) (Datatype, error) {
	var t Datatype
	if depth > 4 {
		return t, fmt.Errorf("%w: nested datatypes", ErrFormat)
	}
	if len(b) < 8 {
		return t, fmt.Errorf("%w: datatype message of %d bytes", ErrFormat, len(b))
	}
	class := int(b[0] & 0x0f)
	version := int(b[0] >> 4)
	bits0 := b[1]
	size := binary.LittleEndian.Uint32(b[4:])
	props := b[8:]
	if version < 1 || version > 4 {
		return t, fmt.Errorf("%w: datatype message version %d", ErrUnsupported, version)
	}
	t.Size = int(size)
	t.BigEndian = bits0&1 != 0
	switch class {
	case 0:
		t.Class = Integer
		t.Signed = bits0&0x08 != 0
		if size != 1 && size != 2 && size != 4 && size != 8 {
			return t, fmt.Errorf("%w: %d-byte integers", ErrUnsupported, size)
		}
		if len(props) < 4 {
			return t, fmt.Errorf("%w: integer datatype properties truncated", ErrFormat)
		}
		off, prec := binary.LittleEndian.Uint16(props), binary.LittleEndian.Uint16(props[2:])
		if off != 0 || uint32(prec) != 8*size {
			return t, fmt.Errorf("%w: integer with bit offset %d and precision %d in %d bytes", ErrUnsupported, off, prec, size)
		}
		return t, nil
	case 1:
		t.Class = Float
		if bits0&0x40 != 0 {
			return t, fmt.Errorf("%w: VAX byte order floats", ErrUnsupported)
		}
		if len(props) < 12 {
			return t, fmt.Errorf("%w: float datatype properties truncated", ErrFormat)
		}
		sign := int(b[2])
		off, prec := binary.LittleEndian.Uint16(props), binary.LittleEndian.Uint16(props[2:])
		eLoc, eSize, mLoc, mSize := props[4], props[5], props[6], props[7]
		bias := binary.LittleEndian.Uint32(props[8:])
		ieee := map[uint32][6]int{2: {15, 10, 5, 0, 10, 15}, 4: {31, 23, 8, 0, 23, 127}, 8: {63, 52, 11, 0, 52, 1023}}
		want, ok := ieee[size]
		got := [6]int{sign, int(eLoc), int(eSize), int(mLoc), int(mSize), int(bias)}
		if !ok || got != want || off != 0 || uint32(prec) != 8*size || (bits0>>4)&3 != 2 {
			return t, fmt.Errorf("%w: non-IEEE float (size %d, sign bit %d, exponent %d+%d, mantissa %d+%d, bias %d)", ErrUnsupported, size, sign, eLoc, eSize, mLoc, mSize, bias)
		}
		return t, nil
	case 8:
		base, err := parseDatatype(props, depth+1)
		if err != nil {
			return t, fmt.Errorf("enum base type: %w", err)
		}
		if base.Size != t.Size {
			return t, fmt.Errorf("%w: enum of size %d over a %d-byte base type", ErrFormat, t.Size, base.Size)
		}
		return base, nil
	}
	names := map[int]string{2: "time", 3: "string", 4: "bitfield", 5: "opaque", 6: "compound", 7: "reference", 9: "variable-length", 10: "array"}
	if n, ok := names[class]; ok {
		return t, fmt.Errorf("%w: %s datatype (class %d)", ErrUnsupported, n, class)
	}
	return t, fmt.Errorf("%w: datatype class %d", ErrFormat, class)
}

// parseFill returns the defined fill value, or nil when it is undefined or the default.
func parseFill(b []byte) ([]byte, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty fill value message", ErrFormat)
	}
	c := &cursor{b: b, what: "fill value message"}
	switch v := c.u8(); v {
	case 1, 2:
		c.skip(2) // allocation time, fill write time
		defined := c.u8()
		if v == 2 && defined == 0 {
			return nil, c.err
		}
		if c.off >= len(b) {
			return nil, c.err
		}
		n := c.u32()
		val := c.bytes(int(min(n, uint32(len(b)))))
		if c.err != nil {
			return nil, c.err
		}
		if n == 0 {
			return nil, nil
		}
		return val, nil
	case 3:
		flags := c.u8()
		if flags&0x20 == 0 {
			return nil, c.err
		}
		n := c.u32()
		val := c.bytes(int(min(n, uint32(len(b)))))
		return val, c.err
	default:
		return nil, fmt.Errorf("%w: fill value message version %d", ErrUnsupported, v)
	}
}

var filterNames = map[uint16]string{1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd"}

func parseFilters(b []byte) ([]filter, error) {
	c := &cursor{b: b, what: "filter pipeline message"}
	version := c.u8()
	n := int(c.u8())
	if version == 1 {
		c.skip(6)
	} else if version != 2 {
		return nil, fmt.Errorf("%w: filter pipeline message version %d", ErrUnsupported, version)
	}
	if n > 32 {
		return nil, fmt.Errorf("%w: %d filters", ErrFormat, n)
	}
	var fs []filter
	for i := 0; i < n && c.err == nil; i++ {
		var ft filter
		ft.id = c.u16()
		nameLen := 0
		if version == 1 || ft.id >= 256 {
			nameLen = int(c.u16())
		}
		flags := c.u16()
		ft.optional = flags&1 != 0
		nv := int(c.u16())
		if nameLen > 0 {
			if version == 1 {
				nameLen = (nameLen + 7) &^ 7
			}
			nb := c.bytes(nameLen)
			for j, ch := range nb {
				if ch == 0 {
					nb = nb[:j]
					break
				}
			}
			ft.name = string(nb)
		}
		if nv > 256 {
			return nil, fmt.Errorf("%w: filter with %d parameters", ErrFormat, nv)
		}
		for j := 0; j < nv; j++ {
			ft.params = append(ft.params, c.u32())
		}
		if version == 1 && nv%2 == 1 {
			c.skip(4)
		}
		if ft.name == "" {
			ft.name = filterNames[ft.id]
		}
		fs = append(fs, ft)
	}
	if c.err != nil {
		return nil, c.err
	}
	for _, ft := range fs {
		switch ft.id {
		case 1, 2, 3:
		default:
			name := ft.name
			if name == "" {
				name = "unknown"
			}
			return nil, fmt.Errorf("%w: filter %q (id %d)", ErrUnsupported, name, ft.id)
		}
	}
	return fs, nil
}

func (d *Dataset) parseLayout(b []byte) error {
	c := d.f.cursor(b, "data layout message")
	version := c.u8()
	if version < 3 || version > 4 {
		return fmt.Errorf("%w: data layout message version %d (only 3 and 4)", ErrUnsupported, version)
	}
	d.layout = int(c.u8())
	switch d.layout {
	case layoutCompact:
		n := int(c.u16())
		d.compact = c.bytes(n)
	case layoutContiguous:
		d.addr = c.addr()
		d.size = c.length()
	case layoutChunked:
		if version == 3 {
			rank := int(c.u8())
			d.addr = c.addr()
			if rank < 2 || rank > 33 {
				return fmt.Errorf("%w: chunk dimensionality %d", ErrFormat, rank)
			}
			for i := 0; i < rank; i++ {
				d.chunk = append(d.chunk, int(c.u32()))
			}
			d.index = indexBTree1
		} else {
			d.chunkFlags = c.u8()
			rank := int(c.u8())
			enc := int(c.u8())
			if rank < 2 || rank > 33 || enc < 1 || enc > 8 {
				return fmt.Errorf("%w: chunk dimensionality %d with %d-byte sizes", ErrFormat, rank, enc)
			}
			for i := 0; i < rank; i++ {
				v := c.uvar(enc)
				if v > math.MaxInt32 {
					return fmt.Errorf("%w: chunk dimension %d", ErrFormat, v)
				}
				d.chunk = append(d.chunk, int(v))
			}
			d.index = int(c.u8())
			switch d.index {
			case indexSingle:
				if d.chunkFlags&0x02 != 0 {
					d.singleSize = c.length()
					d.singleMask = c.u32()
				}
			case indexImplicit:
			case indexFixedArray:
				d.faPageBits = int(c.u8())
			case indexExtensible:
				c.skip(5) // creation parameters, repeated in the array header
			case indexBTree2:
				c.skip(6) // node size, split and merge percentages, repeated in the B-tree header
			default:
				return fmt.Errorf("%w: chunk index type %d", ErrFormat, d.index)
			}
			d.addr = c.addr()
		}
		for _, v := range d.chunk {
			if v < 1 {
				return fmt.Errorf("%w: chunk dimensions %v", ErrFormat, d.chunk)
			}
		}
	case layoutVirtual:
		return fmt.Errorf("%w: virtual dataset layout", ErrUnsupported)
	default:
		return fmt.Errorf("%w: layout class %d", ErrFormat, d.layout)
	}
	return c.err
}

// Layout names the storage layout: "compact", "contiguous" or "chunked".
func (d *Dataset) Layout() string {
	switch d.layout {
	case layoutCompact:
		return "compact"
	case layoutContiguous:
		return "contiguous"
	}
	return "chunked"
}

// Chunks returns the chunk shape of a chunked dataset, else nil.
func (d *Dataset) Chunks() []int {
	if d.layout != layoutChunked {
		return nil
	}
	return append([]int(nil), d.chunk...)
}

// Filters names the filters of the pipeline in the order they were applied when writing.
func (d *Dataset) Filters() []string {
	var names []string
	for _, f := range d.filters {
		names = append(names, filterNames[f.id])
	}
	return names
}

// DataOffset is the file position of contiguous data, or -1 for other layouts.
func (d *Dataset) DataOffset() int64 {
	if d.layout != layoutContiguous || d.f.undef(d.addr) {
		return -1
	}
	return int64(d.f.base + d.addr)
}
