package hdf5

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

const maxBTreeDepth = 64

type link struct {
	name string
	addr uint64
	soft string // target path of a soft link, else ""
}

const maxSoftHops = 16

// Keys lists the names of the links in the root group, sorted.
func (f *File) Keys() ([]string, error) {
	return f.List("/")
}

// List returns the sorted link names of the group at path ("/" is the root group).
func (f *File) List(path string) ([]string, error) {
	f = f.op()
	addr, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	msgs, err := f.objectHeader(addr)
	if err != nil {
		return nil, err
	}
	links, err := f.groupLinks(msgs, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.name
	}
	sort.Strings(names)
	return names, nil
}

// resolve walks an absolute or root-relative path of hard links to an object header address.
func (f *File) resolve(path string) (uint64, error) {
	return f.resolveFrom(f.root, path, 0)
}

// resolveFrom walks path from the group at start; soft links are followed up to
// maxSoftHops deep (absolute targets from the root, relative ones from their group).
func (f *File) resolveFrom(start uint64, path string, hops int) (uint64, error) {
	addr := f.root
	if !strings.HasPrefix(path, "/") {
		addr = start
	}
	for _, part := range strings.Split(path, "/") {
		if part == "" || part == "." {
			continue
		}
		msgs, err := f.objectHeader(addr)
		if err != nil {
			return 0, err
		}
		links, err := f.groupLinks(msgs, part)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		found := false
		for _, l := range links {
			if l.name != part {
				continue
			}
			found = true
			if l.soft == "" {
				addr = l.addr
				break
			}
			if hops >= maxSoftHops {
				return 0, fmt.Errorf("%w: more than %d soft links in a row at %q", ErrFormat, maxSoftHops, path)
			}
			if addr, err = f.resolveFrom(addr, l.soft, hops+1); err != nil {
				return 0, err
			}
			break
		}
		if !found {
			return 0, fmt.Errorf("%w: no object named %q in %q", ErrNotFound, part, path)
		}
	}
	return addr, nil
}

// groupLinks returns the links of a group given its header messages: an old-style symbol
// table (B-tree + local heap), new-style compact link messages or dense storage. With a
// name, dense storage decodes only the links whose name hash matches it (the others may
// be left out), so that a lookup in a large group does not parse every link.
func (f *File) groupLinks(msgs []message, name string) ([]link, error) {
	var links []link
	isGroup := false
	for _, m := range msgs {
		switch m.typ {
		case msgSymbolTable:
			isGroup = true
			c := f.cursor(m.data, "symbol table message")
			btree, heap := c.addr(), c.addr()
			if c.err != nil {
				return nil, c.err
			}
			l, err := f.symbolTable(btree, heap)
			if err != nil {
				return nil, err
			}
			links = append(links, l...)
		case msgLinkInfo:
			isGroup = true
			c := f.cursor(m.data, "link info message")
			if v := c.u8(); v != 0 {
				return nil, fmt.Errorf("%w: link info message version %d", ErrUnsupported, v)
			}
			flags := c.u8()
			if flags&1 != 0 {
				c.skip(8)
			}
			heap := c.addr()
			names := c.addr()
			if c.err != nil {
				return nil, c.err
			}
			if !f.undef(heap) {
				l, err := f.denseLinks(heap, names, name)
				if err != nil {
					return nil, fmt.Errorf("dense link storage: %w", err)
				}
				links = append(links, l...)
			}
		case msgLink:
			isGroup = true
			l, err := f.parseLink(m.data)
			if err != nil {
				return nil, err
			}
			links = append(links, l)
		}
	}
	if !isGroup {
		return nil, fmt.Errorf("%w: object is not a group", ErrFormat)
	}
	return links, nil
}

// parseLink decodes a link message; only hard links are followed.
func (f *File) parseLink(data []byte) (link, error) {
	c := f.cursor(data, "link message")
	if v := c.u8(); v != 1 {
		return link{}, fmt.Errorf("%w: link message version %d", ErrUnsupported, v)
	}
	flags := c.u8()
	typ := uint8(0)
	if flags&0x08 != 0 {
		typ = c.u8()
	}
	if flags&0x04 != 0 {
		c.skip(8)
	}
	if flags&0x10 != 0 {
		c.skip(1)
	}
	n := c.uvar(1 << (flags & 3))
	if c.err == nil && n > uint64(len(data)) {
		return link{}, fmt.Errorf("%w: link name of %d bytes in a %d-byte message", ErrFormat, n, len(data))
	}
	name := string(c.bytes(int(n)))
	if c.err != nil {
		return link{}, c.err
	}
	switch typ {
	case 0:
		a := c.addr()
		if c.err != nil {
			return link{}, c.err
		}
		return link{name: name, addr: a}, nil
	case 1:
		n := int(c.u16())
		target := string(c.bytes(n))
		if c.err != nil {
			return link{}, c.err
		}
		return link{name: name, soft: target}, nil
	case 64:
		return link{}, fmt.Errorf("%w: external link %q", ErrUnsupported, name)
	}
	return link{}, fmt.Errorf("%w: link %q of type %d", ErrUnsupported, name, typ)
}

// symbolTable lists an old-style group: a v1 B-tree (node type 0) of symbol table nodes
// whose names live in a local heap.
func (f *File) symbolTable(btree, heapAddr uint64) ([]link, error) {
	hb, err := f.readAt(heapAddr, int64(8+2*f.sl+f.so))
	if err != nil {
		return nil, fmt.Errorf("local heap: %w", err)
	}
	if !bytes.Equal(hb[:4], []byte("HEAP")) {
		return nil, fmt.Errorf("%w: local heap at %d lacks the HEAP signature", ErrFormat, heapAddr)
	}
	c := f.cursor(hb, "local heap")
	c.skip(8)
	segSize := c.length()
	c.length() // free list head
	segAddr := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if !f.fits(segAddr, segSize) {
		return nil, fmt.Errorf("%w: local heap data (%d bytes at %d) outside the file", ErrFormat, segSize, segAddr)
	}
	heap, err := f.readAt(segAddr, int64(segSize))
	if err != nil {
		return nil, err
	}
	var links []link
	err = f.walkBTree1(btree, 0, -1, map[uint64]bool{}, 0, func(child uint64, _ []byte) error {
		nb, err := f.readAt(child, 8)
		if err != nil {
			return err
		}
		if !bytes.Equal(nb[:4], []byte("SNOD")) {
			return fmt.Errorf("%w: symbol table node at %d lacks the SNOD signature", ErrFormat, child)
		}
		n := int(uint16(nb[6]) | uint16(nb[7])<<8)
		entry := 2*f.so + 24
		b, err := f.readAt(child, int64(8+n*entry))
		if err != nil {
			return err
		}
		c := f.cursor(b, "symbol table node")
		c.skip(8)
		for i := 0; i < n; i++ {
			off := c.addr()
			obj := c.addr()
			c.skip(24)
			if c.err != nil {
				return c.err
			}
			if off >= uint64(len(heap)) {
				return fmt.Errorf("%w: link name offset %d outside the %d-byte local heap", ErrFormat, off, len(heap))
			}
			name := heap[off:]
			end := bytes.IndexByte(name, 0)
			if end < 0 {
				return fmt.Errorf("%w: unterminated link name in local heap", ErrFormat)
			}
			links = append(links, link{name: string(name[:end]), addr: obj})
		}
		return nil
	})
	return links, err
}

// walkBTree1 visits the leaf children of a version-1 B-tree of the given node type
// (0 group, 1 chunk), in key order. keySize is the size of one key; for type 0 pass -1 to
// use the size of lengths. visit gets each leaf child address and the key before it.
func (f *File) walkBTree1(addr uint64, typ int, keySize int, seen map[uint64]bool, depth int, visit func(child uint64, key []byte) error) error {
	if depth > maxBTreeDepth {
		return fmt.Errorf("%w: B-tree deeper than %d levels", ErrFormat, maxBTreeDepth)
	}
	if seen[addr] {
		return fmt.Errorf("%w: B-tree node at %d visited twice (cycle)", ErrFormat, addr)
	}
	seen[addr] = true
	if keySize < 0 {
		keySize = f.sl
	}
	hdrSize := 8 + 2*f.so
	hb, err := f.readAt(addr, int64(hdrSize))
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	if !bytes.Equal(hb[:4], []byte("TREE")) {
		return fmt.Errorf("%w: B-tree node at %d lacks the TREE signature", ErrFormat, addr)
	}
	if int(hb[4]) != typ {
		return fmt.Errorf("%w: B-tree node at %d has type %d, want %d", ErrFormat, addr, hb[4], typ)
	}
	level := int(hb[5])
	n := int(uint16(hb[6]) | uint16(hb[7])<<8)
	body, err := f.readAt(addr+uint64(hdrSize), int64(n*(keySize+f.so)+keySize))
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	c := f.cursor(body, "B-tree node")
	for i := 0; i < n; i++ {
		key := c.bytes(keySize)
		child := c.addr()
		if c.err != nil {
			return c.err
		}
		if level > 0 {
			if err := f.walkBTree1(child, typ, keySize, seen, depth+1, visit); err != nil {
				return err
			}
		} else if err := visit(child, key); err != nil {
			return err
		}
	}
	return nil
}

// denseLinks lists a group whose links live in a fractal heap, indexed by a v2 B-tree of
// name hashes (record type 5: hash, heap ID).
func (f *File) denseLinks(heapAddr, nameIndex uint64, name string) ([]link, error) {
	h, err := f.openFHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	t, err := f.openBTree2(nameIndex, 5)
	if err != nil {
		return nil, err
	}
	if t.recSize <= 4 {
		return nil, fmt.Errorf("%w: link name records of %d bytes", ErrFormat, t.recSize)
	}
	// Records start with the lookup3 hash of the link name.
	hash := lookup3([]byte(name))
	var links []link
	err = t.each(func(rec []byte) error {
		if name != "" && binary.LittleEndian.Uint32(rec) != hash {
			return nil
		}
		obj, err := h.object(rec[4:])
		if err != nil {
			return err
		}
		l, err := f.parseLink(obj)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	})
	return links, err
}
