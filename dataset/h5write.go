package dataset

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/aisam/aisam/internal/fileio"
)

// WriteSynapseH5 writes a test volume as TransUNet's <case>.npy.h5: an HDF5 file with two
// contiguous little-endian float32 datasets "image" and "label" of shape [D, H, W].
// The bytes are those h5py 3.7 writes for
//
//	with h5py.File(path, "w") as f:
//	    f.create_dataset("image", data=image); f.create_dataset("label", data=label)
//
// (superblock 0, an old-style root group, version-1 object headers, data from byte 2048),
// so the file is read by h5py and every HDF5 tool. Written atomically.
func WriteSynapseH5(path string, v *Volume) error {
	if v.Label == nil {
		return fmt.Errorf("dataset: volume %s has no labels", v.Name)
	}
	n := v.D * v.H * v.W
	if n <= 0 || len(v.Image) != n || len(v.Label) != n {
		return fmt.Errorf("dataset: volume %s of %dx%dx%d has %d image and %d label values", v.Name, v.D, v.H, v.W, len(v.Image), len(v.Label))
	}
	lab := make([]float32, n)
	for i, l := range v.Label {
		if l < -(1<<24) || l > 1<<24 {
			return fmt.Errorf("dataset: label %d cannot be stored exactly as float32", l)
		}
		lab[i] = float32(l)
	}
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		return encodeH5(w, []int{v.D, v.H, v.W}, v.Image, lab)
	})
}

// File layout (addresses as h5py produces them for two datasets named image, label).
const (
	h5RootHeader = 0x60  // root group object header, right after the 96-byte superblock
	h5BTree      = 0x88  // group B-tree (v1, type 0), sized for 2·16 entries
	h5Heap       = 0x2a8 // local heap with the link names
	h5HeapData   = 0x2c8
	h5HeapSize   = 0x58
	h5Image      = 0x320 // object header of "image"
	h5SNOD       = 0x430 // symbol-table node (2·4 entries)
	h5Label      = 0x578 // object header of "label"
	h5DataStart  = 2048  // raw data, after h5py's 2048-byte metadata block
	h5Undef      = math.MaxUint64
)

func encodeH5(w io.Writer, shape []int, image, label []float32) error {
	rank := len(shape)
	if rank < 1 || rank > 8 {
		return fmt.Errorf("dataset: HDF5 rank %d unsupported", rank)
	}
	size := uint64(4 * len(image))
	buf := make([]byte, h5DataStart)
	le := binary.LittleEndian
	put64 := func(at int, v uint64) { le.PutUint64(buf[at:], v) }
	// Superblock version 0.
	copy(buf, "\x89HDF\r\n\x1a\n")
	copy(buf[8:], []byte{0, 0, 0, 0, 0, 8, 8, 0})
	le.PutUint16(buf[16:], 4)  // group leaf node K
	le.PutUint16(buf[18:], 16) // group internal node K
	put64(24, 0)               // base address
	put64(32, h5Undef)         // free-space info
	put64(40, h5DataStart+2*size)
	put64(48, h5Undef) // driver info
	// Root symbol-table entry: name offset 0, header, cache type 1 with B-tree and heap.
	put64(56, 0)
	put64(64, h5RootHeader)
	le.PutUint32(buf[72:], 1)
	put64(80, h5BTree)
	put64(88, h5Heap)
	// Root object header v1: one symbol-table message.
	o := h5RootHeader
	copy(buf[o:], []byte{1, 0})
	le.PutUint16(buf[o+2:], 1)
	le.PutUint32(buf[o+4:], 1)
	le.PutUint32(buf[o+8:], 24)
	le.PutUint16(buf[o+16:], 0x11)
	le.PutUint16(buf[o+18:], 16)
	put64(o+24, h5BTree)
	put64(o+32, h5Heap)
	// Group B-tree leaf: one child (the SNOD), keys = heap offsets "" and "label".
	o = h5BTree
	copy(buf[o:], "TREE")
	buf[o+4], buf[o+5] = 0, 0
	le.PutUint16(buf[o+6:], 1)
	put64(o+8, h5Undef)
	put64(o+16, h5Undef)
	put64(o+24, 0)
	put64(o+32, h5SNOD)
	put64(o+40, 16)
	// Local heap: "", "image", "label", then one free block of 64 bytes.
	o = h5Heap
	copy(buf[o:], "HEAP")
	put64(o+8, h5HeapSize)
	put64(o+16, 24)
	put64(o+24, h5HeapData)
	copy(buf[h5HeapData+8:], "image")
	copy(buf[h5HeapData+16:], "label")
	put64(h5HeapData+24, 1) // end of the free list
	put64(h5HeapData+32, h5HeapSize-24)
	// Dataset object headers.
	writeDatasetHeader(buf, h5Image, shape, h5DataStart, size)
	writeDatasetHeader(buf, h5Label, shape, h5DataStart+size, size)
	// Symbol-table node with the two links.
	o = h5SNOD
	copy(buf[o:], "SNOD")
	buf[o+4] = 1
	le.PutUint16(buf[o+6:], 2)
	put64(o+8, 8)
	put64(o+16, h5Image)
	put64(o+48, 16)
	put64(o+56, h5Label)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	for _, data := range [][]float32{image, label} {
		chunk := make([]byte, 0, 1<<16)
		for i, x := range data {
			chunk = le.AppendUint32(chunk, math.Float32bits(x))
			if len(chunk) == cap(chunk) || i == len(data)-1 {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
	}
	return nil
}

// writeDatasetHeader writes a version-1 object header of 256 bytes of messages:
// dataspace, datatype (IEEE float32 LE), fill value, contiguous layout, NIL padding.
func writeDatasetHeader(buf []byte, o int, shape []int, addr, size uint64) {
	le := binary.LittleEndian
	const msgBytes = 256
	copy(buf[o:], []byte{1, 0})
	le.PutUint16(buf[o+2:], 5)
	le.PutUint32(buf[o+4:], 1)
	le.PutUint32(buf[o+8:], msgBytes)
	m := o + 16
	msg := func(typ, n int, flags byte) int {
		le.PutUint16(buf[m:], uint16(typ))
		le.PutUint16(buf[m+2:], uint16(n))
		buf[m+4] = flags
		d := m + 8
		m = d + n
		return d
	}
	rank := len(shape)
	d := msg(0x1, 8+16*rank, 0) // dataspace v1 with maximum dimensions
	buf[d], buf[d+1], buf[d+2] = 1, byte(rank), 1
	for i, s := range shape {
		le.PutUint64(buf[d+8+8*i:], uint64(s))
		le.PutUint64(buf[d+8+8*(rank+i):], uint64(s))
	}
	d = msg(0x3, 24, 1) // datatype: class 1 v1, LE IEEE binary32
	copy(buf[d:], []byte{0x11, 0x20, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0})
	d = msg(0x5, 8, 1) // fill value v2: allocation late, write if set, defined, size 0
	copy(buf[d:], []byte{2, 2, 2, 1, 0, 0, 0, 0})
	d = msg(0x8, 24, 0) // layout v3, contiguous
	buf[d], buf[d+1] = 3, 1
	le.PutUint64(buf[d+2:], addr)
	le.PutUint64(buf[d+10:], size)
	msg(0x0, o+16+msgBytes-m-8, 0) // NIL message filling the rest
}
