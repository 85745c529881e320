package hdf5

import (
	"bytes"
	"fmt"
	"math/bits"
)

// btree2 is an opened version-2 B-tree header (BTHD).
type btree2 struct {
	f        *File
	typ      int
	nodeSize int
	recSize  int
	depth    int
	root     uint64
	rootN    int
	maxNrec  []int // per depth: maximum records in a node
	cumSize  []int // per depth: bytes of the "total records below" field
	nrecSize int   // bytes of the "records in child" field
}

// encSize is the number of bytes needed to store n (libhdf5's H5VM_limit_enc_size).
func encSize(n uint64) int {
	return (bits.Len64(n)-1)/8 + 1
}

func (f *File) openBTree2(addr uint64, wantType int) (*btree2, error) {
	n := int64(4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + f.so + 2 + f.sl + 4)
	b, err := f.readBlock(addr, n, "BTHD", "v2 B-tree header")
	if err != nil {
		return nil, err
	}
	c := f.cursor(b, "v2 B-tree header")
	c.skip(4)
	if v := c.u8(); v != 0 {
		return nil, fmt.Errorf("%w: v2 B-tree version %d", ErrUnsupported, v)
	}
	t := &btree2{f: f}
	t.typ = int(c.u8())
	t.nodeSize = int(c.u32())
	t.recSize = int(c.u16())
	t.depth = int(c.u16())
	c.skip(2)
	t.root = c.addr()
	t.rootN = int(c.u16())
	c.length()
	if c.err != nil {
		return nil, c.err
	}
	if t.typ != wantType {
		return nil, fmt.Errorf("%w: v2 B-tree of type %d, want %d", ErrFormat, t.typ, wantType)
	}
	if t.recSize < 1 || t.nodeSize < 16 || t.nodeSize > 1<<24 || int64(t.nodeSize) > f.size || t.depth > maxBTreeDepth {
		return nil, fmt.Errorf("%w: v2 B-tree with node size %d, record size %d, depth %d", ErrFormat, t.nodeSize, t.recSize, t.depth)
	}
	// Field widths follow libhdf5's H5B2__hdr_init.
	const prefix = 10 // signature, version, type, checksum
	t.maxNrec = make([]int, t.depth+1)
	t.cumSize = make([]int, t.depth+1)
	cum := make([]uint64, t.depth+1)
	t.maxNrec[0] = (t.nodeSize - prefix) / t.recSize
	if t.maxNrec[0] < 1 {
		return nil, fmt.Errorf("%w: v2 B-tree nodes hold no records", ErrFormat)
	}
	cum[0] = uint64(t.maxNrec[0])
	t.nrecSize = encSize(uint64(t.maxNrec[0]))
	for u := 1; u <= t.depth; u++ {
		ptr := f.so + t.nrecSize
		if u > 1 {
			ptr += t.cumSize[u-1]
		}
		t.maxNrec[u] = (t.nodeSize - prefix - ptr) / (t.recSize + ptr)
		if t.maxNrec[u] < 1 {
			return nil, fmt.Errorf("%w: v2 B-tree internal nodes hold no records", ErrFormat)
		}
		cum[u] = uint64(t.maxNrec[u]+1)*cum[u-1] + uint64(t.maxNrec[u])
		if cum[u] < cum[u-1] {
			return nil, fmt.Errorf("%w: v2 B-tree too deep", ErrFormat)
		}
		t.cumSize[u] = encSize(cum[u])
	}
	return t, nil
}

// each calls visit for every record of the tree (in key order).
func (t *btree2) each(visit func(rec []byte) error) error {
	if t.f.undef(t.root) || t.rootN == 0 {
		return nil
	}
	return t.node(t.root, t.rootN, t.depth, map[uint64]bool{}, visit)
}

func (t *btree2) node(addr uint64, nrec, depth int, seen map[uint64]bool, visit func([]byte) error) error {
	if seen[addr] {
		return fmt.Errorf("%w: v2 B-tree node at %d visited twice (cycle)", ErrFormat, addr)
	}
	seen[addr] = true
	if nrec < 0 || nrec > t.maxNrec[depth] {
		return fmt.Errorf("%w: v2 B-tree node with %d records (max %d)", ErrFormat, nrec, t.maxNrec[depth])
	}
	b, err := t.f.readAt(addr, int64(t.nodeSize))
	if err != nil {
		return fmt.Errorf("v2 B-tree node: %w", err)
	}
	sig := "BTLF"
	if depth > 0 {
		sig = "BTIN"
	}
	if !bytes.Equal(b[:4], []byte(sig)) {
		return fmt.Errorf("%w: v2 B-tree node at %d lacks the %s signature", ErrFormat, addr, sig)
	}
	if int(b[5]) != t.typ {
		return fmt.Errorf("%w: v2 B-tree node of type %d in a tree of type %d", ErrFormat, b[5], t.typ)
	}
	c := t.f.cursor(b, "v2 B-tree node")
	c.skip(6)
	recs := make([][]byte, nrec)
	for i := range recs {
		recs[i] = c.bytes(t.recSize)
	}
	type child struct {
		addr uint64
		n    int
	}
	var kids []child
	if depth > 0 {
		for i := 0; i <= nrec; i++ {
			a := c.addr()
			n := c.uvar(t.nrecSize)
			if depth > 1 {
				c.uvar(t.cumSize[depth-1])
			}
			kids = append(kids, child{a, int(min(n, 1<<31))})
		}
	}
	end := c.off
	c.skip(4)
	if c.err != nil {
		return c.err
	}
	if err := checkSum(b[:end+4], sig); err != nil {
		return err
	}
	for i := 0; i <= nrec; i++ {
		if depth > 0 {
			if err := t.node(kids[i].addr, kids[i].n, depth-1, seen, visit); err != nil {
				return err
			}
		}
		if i < nrec {
			if err := visit(recs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}
