package hdf5

import (
	"bytes"
	"fmt"
)

// Header message types used by this reader.
const (
	msgNIL          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgFilters      = 0x0B
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
)

const maxHeaderChunks = 4096

type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// objectHeader reads all messages of the object header at addr, following continuations.
func (f *File) objectHeader(addr uint64) ([]message, error) {
	if f.undef(addr) {
		return nil, fmt.Errorf("%w: object header at the undefined address", ErrFormat)
	}
	if !f.fits(addr, 4) {
		return nil, fmt.Errorf("%w: object header address %d is outside the file", ErrFormat, addr)
	}
	pre, err := f.readAt(addr, int64(min(16, uint64(f.size)-(f.base+addr))))
	if err != nil {
		return nil, err
	}
	if len(pre) >= 4 && bytes.Equal(pre[:4], []byte("OHDR")) {
		return f.objectHeaderV2(addr)
	}
	if len(pre) < 16 || pre[0] != 1 {
		v := -1
		if len(pre) > 0 {
			v = int(pre[0])
		}
		return nil, fmt.Errorf("%w: object header at %d: version %d, want 1 or an OHDR signature", ErrFormat, addr, v)
	}
	c := f.cursor(pre, "object header")
	c.skip(2)
	nmsgs := int(c.u16())
	c.skip(4) // reference count
	size := uint64(c.u32())
	type span struct{ addr, size uint64 }
	queue := []span{{addr + 16, size}}
	seen := map[uint64]bool{addr + 16: true}
	var msgs []message
	for q := 0; q < len(queue); q++ {
		if q >= maxHeaderChunks {
			return nil, fmt.Errorf("%w: object header at %d has too many continuation blocks", ErrFormat, addr)
		}
		if !f.fits(queue[q].addr, queue[q].size) {
			return nil, fmt.Errorf("%w: object header block at %d (%d bytes) runs past the end of file", ErrFormat, queue[q].addr, queue[q].size)
		}
		b, err := f.readAt(queue[q].addr, int64(queue[q].size))
		if err != nil {
			return nil, err
		}
		c := f.cursor(b, "object header message")
		for c.off+8 <= len(b) && len(msgs) < nmsgs {
			typ := c.u16()
			n := int(c.u16())
			flags := c.u8()
			c.skip(3)
			data := c.bytes(n)
			if c.err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, c.err)
			}
			msgs = append(msgs, message{typ, flags, data})
			if typ == msgContinuation {
				s, err := f.continuation(data)
				if err != nil {
					return nil, err
				}
				if !seen[s.addr] {
					seen[s.addr] = true
					queue = append(queue, span{s.addr, s.size})
				}
			}
		}
	}
	return msgs, nil
}

type contSpan struct{ addr, size uint64 }

func (f *File) continuation(data []byte) (contSpan, error) {
	c := f.cursor(data, "continuation message")
	s := contSpan{c.addr(), c.length()}
	if c.err != nil {
		return s, c.err
	}
	if f.undef(s.addr) || !f.fits(s.addr, s.size) {
		return s, fmt.Errorf("%w: continuation block at %d (%d bytes) is outside the file", ErrFormat, s.addr, s.size)
	}
	return s, nil
}

// objectHeaderV2 reads a version-2 ("OHDR") object header and its "OCHK" continuations.
func (f *File) objectHeaderV2(addr uint64) ([]message, error) {
	avail := uint64(f.size) - (f.base + addr)
	pre, err := f.readAt(addr, int64(min(avail, 34)))
	if err != nil {
		return nil, err
	}
	c := f.cursor(pre, "OHDR prefix")
	c.skip(4)
	if v := c.u8(); v != 2 {
		return nil, fmt.Errorf("%w: OHDR version %d at %d", ErrUnsupported, v, addr)
	}
	flags := c.u8()
	if flags&0x20 != 0 {
		c.skip(16) // access, modification, change, birth times
	}
	if flags&0x10 != 0 {
		c.skip(4) // attribute phase change values
	}
	size := c.uvar(1 << (flags & 3))
	if c.err != nil {
		return nil, c.err
	}
	prefix := uint64(c.off)
	if size > avail || prefix+size+4 > avail {
		return nil, fmt.Errorf("%w: OHDR at %d declares %d bytes, past the end of file", ErrFormat, addr, size)
	}
	whole, err := f.readAt(addr, int64(prefix+size+4))
	if err != nil {
		return nil, err
	}
	if err := checkSum(whole, "OHDR"); err != nil {
		return nil, err
	}
	crtOrder := flags&0x04 != 0
	var msgs []message
	seen := map[uint64]bool{}
	blocks := [][]byte{whole[prefix : prefix+size]}
	for q := 0; q < len(blocks); q++ {
		if q >= maxHeaderChunks {
			return nil, fmt.Errorf("%w: object header at %d has too many continuation blocks", ErrFormat, addr)
		}
		b := blocks[q]
		hsz := 4
		if crtOrder {
			hsz = 6
		}
		c := f.cursor(b, "OHDR message")
		for c.off+hsz <= len(b) {
			typ := uint16(c.u8())
			n := int(c.u16())
			mflags := c.u8()
			if crtOrder {
				c.skip(2)
			}
			data := c.bytes(n)
			if c.err != nil {
				return nil, fmt.Errorf("object header at %d: %w", addr, c.err)
			}
			msgs = append(msgs, message{typ, mflags, data})
			if typ == msgContinuation {
				s, err := f.continuation(data)
				if err != nil {
					return nil, err
				}
				if seen[s.addr] {
					continue
				}
				seen[s.addr] = true
				if s.size < 8 {
					return nil, fmt.Errorf("%w: OCHK block of %d bytes", ErrFormat, s.size)
				}
				blk, err := f.readBlock(s.addr, int64(s.size), "OCHK", "continuation")
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, blk[4:len(blk)-4])
			}
		}
	}
	return msgs, nil
}

// ignoreChecksums lets the fuzz test reach the parsers behind checksummed blocks.
var ignoreChecksums = false

// readBlock reads the n-byte v2 metadata block at addr and checks its signature sig and
// its trailing checksum; what names the block in errors.
func (f *File) readBlock(addr uint64, n int64, sig, what string) ([]byte, error) {
	b, err := f.readAt(addr, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(b) < 4 || !bytes.Equal(b[:4], []byte(sig)) {
		return nil, fmt.Errorf("%w: %s at %d lacks the %s signature", ErrFormat, what, addr, sig)
	}
	if err := checkSum(b, sig); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSum verifies the trailing lookup3 checksum of a v2 metadata block.
func checkSum(b []byte, what string) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: %s block too short for a checksum", ErrFormat, what)
	}
	if ignoreChecksums {
		return nil
	}
	n := len(b) - 4
	stored := uint32(b[n]) | uint32(b[n+1])<<8 | uint32(b[n+2])<<16 | uint32(b[n+3])<<24
	if got := lookup3(b[:n]); got != stored {
		return fmt.Errorf("%w: %s checksum mismatch (stored %#x, computed %#x)", ErrFormat, what, stored, got)
	}
	return nil
}
