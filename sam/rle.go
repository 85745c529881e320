package sam

import (
	"fmt"
	"math"
	"strings"
)

// RLE is an uncompressed COCO run-length encoding of an H x W binary mask: the pixels in
// column-major (Fortran) order alternate runs of 0s and 1s, starting with 0s (a mask whose
// first pixel is set starts with a zero-length run). This is SAM's mask_to_rle_pytorch and
// pycocotools' uncompressed RLE.
type RLE struct {
	H, W   int
	Counts []int
}

// COCORLE is the compressed form pycocotools writes to JSON: {"size": [h, w], "counts": "..."}.
type COCORLE struct {
	Size   [2]int `json:"size"`
	Counts string `json:"counts"`
}

// EncodeRLE encodes a row-major h x w mask.
func EncodeRLE(mask []bool, h, w int) (RLE, error) {
	if h < 0 || w < 0 || len(mask) != h*w {
		return RLE{}, fmt.Errorf("sam: RLE of a %dx%d mask with %d pixels", h, w, len(mask))
	}
	r := RLE{H: h, W: w}
	cur, run := false, 0
	for x := range w {
		for y := range h {
			if v := mask[y*w+x]; v != cur {
				r.Counts = append(r.Counts, run)
				cur, run = v, 0
			}
			run++
		}
	}
	r.Counts = append(r.Counts, run)
	return r, nil
}

// Validate checks that the runs are non-negative and cover exactly H*W pixels.
func (r RLE) Validate() error {
	if r.H < 0 || r.W < 0 || (r.W > 0 && r.H > math.MaxInt32/r.W) {
		return fmt.Errorf("sam: RLE size %dx%d is invalid", r.H, r.W)
	}
	n := 0
	for i, c := range r.Counts {
		if c < 0 || c > r.H*r.W-n {
			return fmt.Errorf("sam: RLE run %d (%d) is negative or overruns %dx%d", i, c, r.H, r.W)
		}
		n += c
	}
	if n != r.H*r.W {
		return fmt.Errorf("sam: RLE runs cover %d pixels, want %dx%d = %d", n, r.H, r.W, r.H*r.W)
	}
	return nil
}

// Decode returns the row-major mask.
func (r RLE) Decode() ([]bool, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	out := make([]bool, r.H*r.W)
	p := 0
	for i, c := range r.Counts {
		if i%2 == 1 {
			for q := p; q < p+c; q++ {
				out[(q%r.H)*r.W+q/r.H] = true
			}
		}
		p += c
	}
	return out, nil
}

// Area returns the number of set pixels (SAM's area_from_rle).
func (r RLE) Area() int {
	a := 0
	for i := 1; i < len(r.Counts); i += 2 {
		a += r.Counts[i]
	}
	return a
}

// String returns pycocotools' compact counts string (rleToString): each count, minus the
// count two places before it from the fourth on, in little-endian groups of 5 bits with a
// continuation bit, offset by '0'.
func (r RLE) String() string {
	var b strings.Builder
	for i, c := range r.Counts {
		x := int64(c)
		if i > 2 {
			x -= int64(r.Counts[i-2])
		}
		for more := true; more; {
			ch := x & 0x1f
			x >>= 5
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			b.WriteByte(byte(ch + 48))
		}
	}
	return b.String()
}

// COCO returns the compressed JSON form.
func (r RLE) COCO() COCORLE { return COCORLE{Size: [2]int{r.H, r.W}, Counts: r.String()} }

// ParseRLEString decodes pycocotools' compact counts string (rleFrString) for an h x w
// mask and validates the result.
func ParseRLEString(s string, h, w int) (RLE, error) {
	r := RLE{H: h, W: w}
	for p := 0; p < len(s); {
		var x int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return RLE{}, fmt.Errorf("sam: RLE string ends inside a count")
			}
			c := int64(s[p]) - 48
			if c < 0 || c > 63 {
				return RLE{}, fmt.Errorf("sam: RLE string has byte %q at %d (want '0'..'o')", s[p], p)
			}
			if k >= 7 {
				return RLE{}, fmt.Errorf("sam: RLE count at %d is too long", p)
			}
			x |= (c & 0x1f) << (5 * k)
			more = c&0x20 != 0
			p++
			k++
			if !more && c&0x10 != 0 {
				x |= -1 << (5 * k)
			}
		}
		if m := len(r.Counts); m > 2 {
			x += int64(r.Counts[m-2])
		}
		if x < 0 || x > math.MaxInt32 {
			return RLE{}, fmt.Errorf("sam: RLE run %d is %d", len(r.Counts), x)
		}
		r.Counts = append(r.Counts, int(x))
	}
	if err := r.Validate(); err != nil {
		return RLE{}, err
	}
	return r, nil
}

// Decode decodes the compressed form.
func (c COCORLE) Decode() (RLE, error) { return ParseRLEString(c.Counts, c.Size[0], c.Size[1]) }
