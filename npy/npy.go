// Package npy reads and writes NumPy's .npy arrays and .npz archives.
//
// An Array keeps the file's dtype and shape; its raw bytes are normalised on read to
// little-endian, C (row-major) order, so Fortran-ordered and big-endian files come out the
// same as their C-ordered little-endian equivalents. Conversions to float32, float64,
// int64 and *tensor.Tensor are explicit. Files are untrusted input: a malformed or
// truncated file is an error, never a panic or an allocation larger than the data present.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/tensor"
)

// DType names an element type as NumPy's kind letter plus item size: "f2", "f4", "f8",
// "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1".
type DType string

// Supported dtypes.
const (
	Float16 DType = "f2"
	Float32 DType = "f4"
	Float64 DType = "f8"
	Int8    DType = "i1"
	Int16   DType = "i2"
	Int32   DType = "i4"
	Int64   DType = "i8"
	Uint8   DType = "u1"
	Uint16  DType = "u2"
	Uint32  DType = "u4"
	Uint64  DType = "u8"
	Bool    DType = "b1"
)

// Size returns the item size in bytes, or 0 for an unsupported dtype.
func (d DType) Size() int {
	switch d {
	case Bool, Int8, Uint8:
		return 1
	case Float16, Int16, Uint16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	}
	return 0
}

// IsFloat reports whether d is a floating-point dtype.
func (d DType) IsFloat() bool { return d == Float16 || d == Float32 || d == Float64 }

// descr returns NumPy's descr string for d ("<f4", "|u1", ...).
func (d DType) descr() string {
	if d.Size() == 1 {
		return "|" + string(d)
	}
	return "<" + string(d)
}

// Limits that keep hostile headers from driving allocations or loops.
const (
	maxHeaderLen = 1 << 20 // NumPy itself refuses headers over 10 000 bytes by default
	maxRank      = 64
)

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("npy: malformed file")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Array is an n-dimensional array read from or destined for a .npy file.
type Array struct {
	DType DType
	// Shape is NumPy's shape; empty for a 0-d (scalar) array.
	Shape []int
	// Data holds Numel()*DType.Size() bytes, little endian, C order.
	Data []byte
}

// Numel returns the number of elements (1 for a 0-d array).
func (a *Array) Numel() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// numel multiplies dims, failing on negative dimensions or a product above limit. The
// non-zero dimensions must multiply to at most limit even when another dimension is 0.
func numel(shape []int, limit uint64) (int, error) {
	n, zero := uint64(1), false
	for _, d := range shape {
		if d < 0 {
			return 0, formatErr("negative dimension in shape %v", shape)
		}
		if d == 0 {
			zero = true
			continue
		}
		if uint64(d) > limit/n {
			return 0, formatErr("shape %v is too large", shape)
		}
		n *= uint64(d)
	}
	if zero {
		return 0, nil
	}
	return int(n), nil
}

// Float64 returns the elements converted to float64 (bool as 0/1).
func (a *Array) Float64() []float64 {
	n := len(a.Data) / max(a.DType.Size(), 1)
	out := make([]float64, n)
	b := a.Data
	le := binary.LittleEndian
	switch a.DType {
	case Float16:
		for i := range out {
			out[i] = float64(HalfToFloat32(le.Uint16(b[2*i:])))
		}
	case Float32:
		for i := range out {
			out[i] = float64(math.Float32frombits(le.Uint32(b[4*i:])))
		}
	case Float64:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case Int8:
		for i := range out {
			out[i] = float64(int8(b[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = float64(b[i])
		}
	case Int16:
		for i := range out {
			out[i] = float64(int16(le.Uint16(b[2*i:])))
		}
	case Uint16:
		for i := range out {
			out[i] = float64(le.Uint16(b[2*i:]))
		}
	case Int32:
		for i := range out {
			out[i] = float64(int32(le.Uint32(b[4*i:])))
		}
	case Uint32:
		for i := range out {
			out[i] = float64(le.Uint32(b[4*i:]))
		}
	case Int64:
		for i := range out {
			out[i] = float64(int64(le.Uint64(b[8*i:])))
		}
	case Uint64:
		for i := range out {
			out[i] = float64(le.Uint64(b[8*i:]))
		}
	}
	return out
}

// Float32 returns the elements converted to float32 (bool as 0/1). Integers are rounded to
// the nearest float32 directly (not through float64), as NumPy's astype(float32) does.
func (a *Array) Float32() []float32 {
	le := binary.LittleEndian
	b := a.Data
	switch a.DType {
	case Float32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return out
	case Float16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = HalfToFloat32(le.Uint16(b[2*i:]))
		}
		return out
	case Int64:
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(int64(le.Uint64(b[8*i:])))
		}
		return out
	case Uint64:
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(le.Uint64(b[8*i:]))
		}
		return out
	}
	// Every remaining dtype converts exactly through float64 and rounds once.
	f := a.Float64()
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out
}

// Int64 returns the elements of an integer or bool array as int64. Float arrays are an
// error rather than a silent truncation; uint64 values above MaxInt64 are an error too.
func (a *Array) Int64() ([]int64, error) {
	if a.DType.IsFloat() {
		return nil, fmt.Errorf("npy: Int64 of a %s array", a.DType)
	}
	le := binary.LittleEndian
	b := a.Data
	n := len(b) / max(a.DType.Size(), 1)
	out := make([]int64, n)
	switch a.DType {
	case Int8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = int64(b[i])
		}
	case Int16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(b[2*i:])))
		}
	case Uint16:
		for i := range out {
			out[i] = int64(le.Uint16(b[2*i:]))
		}
	case Int32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(b[4*i:])))
		}
	case Uint32:
		for i := range out {
			out[i] = int64(le.Uint32(b[4*i:]))
		}
	case Int64:
		for i := range out {
			out[i] = int64(le.Uint64(b[8*i:]))
		}
	case Uint64:
		for i := range out {
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("npy: uint64 value %d at index %d overflows int64", v, i)
			}
			out[i] = int64(v)
		}
	default:
		return nil, fmt.Errorf("npy: unsupported dtype %q", a.DType)
	}
	return out, nil
}

// Tensor returns the array as a float32 tensor of the same shape.
func (a *Array) Tensor() (*tensor.Tensor, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return tensor.FromSlice(a.Float32(), a.Shape...), nil
}

// Validate checks that Data matches DType and Shape (a supported dtype, no negative
// dimension, exactly Numel()*DType.Size() bytes).
func (a *Array) Validate() error {
	sz := a.DType.Size()
	if sz == 0 {
		return fmt.Errorf("npy: unsupported dtype %q", a.DType)
	}
	if len(a.Shape) > maxRank {
		return fmt.Errorf("npy: rank %d exceeds %d", len(a.Shape), maxRank)
	}
	n, err := numel(a.Shape, math.MaxInt64/uint64(sz))
	if err != nil {
		return err
	}
	if len(a.Data) != n*sz {
		return fmt.Errorf("npy: %d data bytes for shape %v of %s (want %d)", len(a.Data), a.Shape, a.DType, n*sz)
	}
	return nil
}

// FromFloat32 returns a float32 array holding a copy of data with the given shape.
func FromFloat32(data []float32, shape ...int) (*Array, error) {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return newArray(Float32, shape, b)
}

// FromFloat64 returns a float64 array holding a copy of data with the given shape.
func FromFloat64(data []float64, shape ...int) (*Array, error) {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return newArray(Float64, shape, b)
}

// FromInt64 returns an integer array of dtype dt (any signed or unsigned integer dtype, or
// Bool) holding data, failing if a value does not fit.
func FromInt64(dt DType, data []int64, shape ...int) (*Array, error) {
	sz := dt.Size()
	if sz == 0 || dt.IsFloat() {
		return nil, fmt.Errorf("npy: FromInt64 with non-integer dtype %q", dt)
	}
	var lo, hi int64
	switch dt {
	case Bool:
		lo, hi = 0, 1
	case Int8:
		lo, hi = math.MinInt8, math.MaxInt8
	case Int16:
		lo, hi = math.MinInt16, math.MaxInt16
	case Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	case Int64:
		lo, hi = math.MinInt64, math.MaxInt64
	case Uint8:
		lo, hi = 0, math.MaxUint8
	case Uint16:
		lo, hi = 0, math.MaxUint16
	case Uint32:
		lo, hi = 0, math.MaxUint32
	case Uint64:
		lo, hi = 0, math.MaxInt64
	}
	b := make([]byte, sz*len(data))
	for i, v := range data {
		if v < lo || v > hi {
			return nil, fmt.Errorf("npy: value %d at index %d does not fit %s", v, i, dt)
		}
		switch sz {
		case 1:
			b[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		case 8:
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
	}
	return newArray(dt, shape, b)
}

// FromTensor returns a float32 array copying t.
func FromTensor(t *tensor.Tensor) *Array {
	a, err := FromFloat32(t.Data, t.Shape()...)
	if err != nil {
		panic("npy.FromTensor: " + err.Error()) // a Tensor's data always matches its shape
	}
	return a
}

func newArray(dt DType, shape []int, data []byte) (*Array, error) {
	a := &Array{DType: dt, Shape: append([]int{}, shape...), Data: data}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// HalfToFloat32 converts IEEE-754 binary16 bits to float32 (exactly; NaN payloads kept).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = man · 2^-24, exact in float32.
	v := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// Float32ToHalf converts f to binary16 bits, rounding to nearest even; overflow gives ±Inf.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13) // quiet NaN, keep top payload bits
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign // underflows to ±0 (even 2^-25 exactly rounds to even 0)
		}
		m := man | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, up to Inf, which is correct
	}
	return sign | uint16(half)
}

// BFloat16ToFloat32 converts bfloat16 bits to float32 (exact: the top half of a float32).
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// header is the parsed .npy header dictionary.
type header struct {
	dtype   DType
	swap    bool // big endian on disk
	fortran bool
	shape   []int
}

// parseDescr maps a NumPy descr ("<f4", ">i2", "|u1", "=f8", "?") to a DType.
func parseDescr(s string) (DType, bool, error) {
	if s == "?" || s == "b1" {
		return Bool, false, nil
	}
	if len(s) < 2 {
		return "", false, formatErr("unsupported dtype descr %q", s)
	}
	order := s[0]
	rest := s
	swap := false
	switch order {
	case '<', '|', '=':
		rest = s[1:]
	case '>':
		rest = s[1:]
		swap = true
	}
	dt := DType(rest)
	if rest == "?" {
		dt = Bool
	}
	if dt.Size() == 0 {
		return "", false, formatErr("unsupported dtype descr %q (supported: f2 f4 f8 i1-i8 u1-u8 b1)", s)
	}
	if dt.Size() == 1 {
		swap = false
	}
	return dt, swap, nil
}

// Read reads one .npy array from r.
func Read(r io.Reader) (*Array, error) {
	return readLimited(r, -1, false)
}

// ReadFile reads a .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := readLimited(bufio.NewReaderSize(f, 1<<16), st.Size(), true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// readLimited reads an array; size, when >= 0, is the total number of bytes available,
// which lets the data size be checked before any allocation. exact says that size is
// known to be true (a file's size, not a claim inside an archive), so the data buffer can
// be allocated at once rather than grown as bytes arrive.
func readLimited(r io.Reader, size int64, exact bool) (*Array, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, formatErr("short magic: %v", err)
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return nil, formatErr("bad magic %q", pre[:6])
	}
	major := pre[6]
	var hlen int
	prefix := 10
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, formatErr("short header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var b4 [4]byte
		if _, err := io.ReadFull(r, b4[:]); err != nil {
			return nil, formatErr("short header length: %v", err)
		}
		v := binary.LittleEndian.Uint32(b4[:])
		if v > maxHeaderLen {
			return nil, formatErr("header length %d exceeds %d", v, maxHeaderLen)
		}
		hlen = int(v)
		prefix = 12
	default:
		return nil, formatErr("unsupported format version %d.%d", pre[6], pre[7])
	}
	if size >= 0 && int64(prefix+hlen) > size {
		return nil, formatErr("header length %d exceeds file size %d", hlen, size)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, formatErr("short header: %v", err)
	}
	// Version 3 headers are UTF-8, older ones latin-1; only ASCII matters for what we read.
	h, err := parseHeader(string(hb))
	if err != nil {
		return nil, err
	}
	sz := h.dtype.Size()
	limit := uint64(math.MaxInt64) / uint64(sz)
	if size >= 0 {
		limit = uint64(max(size-int64(prefix+hlen), 0)) / uint64(sz)
	}
	n, err := numel(h.shape, math.MaxInt64/uint64(sz))
	if err != nil {
		return nil, err
	}
	if uint64(n) > limit {
		return nil, formatErr("shape %v of %s needs %d bytes but the file has %d after the header", h.shape, h.dtype, uint64(n)*uint64(sz), size-int64(prefix+hlen))
	}
	data, err := readN(r, int64(n)*int64(sz), exact)
	if err != nil {
		return nil, formatErr("data for shape %v of %s: %v", h.shape, h.dtype, err)
	}
	if h.swap {
		swapBytes(data, sz)
	}
	if h.fortran && len(h.shape) > 1 {
		data = fortranToC(data, h.shape, sz)
	}
	return &Array{DType: h.dtype, Shape: h.shape, Data: data}, nil
}

// readN reads exactly n bytes, growing the buffer only as data actually arrives so that a
// header claiming a huge array cannot force a huge allocation up front.
func readN(r io.Reader, n int64, exact bool) ([]byte, error) {
	const chunk = 1 << 24
	if n <= chunk || exact {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	buf.Grow(chunk)
	m, err := io.CopyN(&buf, r, n)
	if err != nil {
		return nil, fmt.Errorf("got %d of %d bytes: %w", m, n, err)
	}
	return buf.Bytes(), nil
}

func swapBytes(b []byte, sz int) {
	for i := 0; i+sz <= len(b); i += sz {
		for j, k := i, i+sz-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}

// fortranToC reorders column-major data (first index fastest) into row-major order.
func fortranToC(src []byte, shape []int, sz int) []byte {
	dst := make([]byte, len(src))
	rank := len(shape)
	n := len(src) / sz
	if n == 0 {
		return dst
	}
	// Fortran strides in elements.
	fs := make([]int, rank)
	s := 1
	for i := 0; i < rank; i++ {
		fs[i] = s
		s *= shape[i]
	}
	idx := make([]int, rank)
	off := 0 // Fortran offset of the current C-order index
	for c := 0; c < n; c++ {
		copy(dst[c*sz:(c+1)*sz], src[off*sz:(off+1)*sz])
		for ax := rank - 1; ax >= 0; ax-- {
			idx[ax]++
			off += fs[ax]
			if idx[ax] < shape[ax] {
				break
			}
			off -= fs[ax] * shape[ax]
			idx[ax] = 0
		}
	}
	return dst
}

// parseHeader parses the Python dict literal of a .npy header.
func parseHeader(s string) (*header, error) {
	p := &litParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, formatErr("header %q: %v", truncate(s), err)
	}
	p.skip()
	if p.i != len(p.s) {
		return nil, formatErr("header %q: trailing text", truncate(s))
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, formatErr("header %q is not a dict", truncate(s))
	}
	h := &header{}
	descr, ok := d["descr"].(string)
	if !ok {
		return nil, formatErr("header %q: 'descr' missing or not a simple dtype string (structured dtypes are unsupported)", truncate(s))
	}
	if h.dtype, h.swap, err = parseDescr(descr); err != nil {
		return nil, err
	}
	fo, ok := d["fortran_order"].(bool)
	if !ok {
		return nil, formatErr("header %q: 'fortran_order' missing or not a bool", truncate(s))
	}
	h.fortran = fo
	sh, ok := d["shape"].([]any)
	if !ok {
		return nil, formatErr("header %q: 'shape' missing or not a tuple", truncate(s))
	}
	if len(sh) > maxRank {
		return nil, formatErr("rank %d exceeds %d", len(sh), maxRank)
	}
	h.shape = make([]int, len(sh))
	for i, x := range sh {
		n, ok := x.(int64)
		if !ok || n < 0 || n > math.MaxInt32*int64(1<<20) {
			return nil, formatErr("header %q: bad dimension %v", truncate(s), x)
		}
		h.shape[i] = int(n)
	}
	return h, nil
}

func truncate(s string) string {
	s = strings.TrimRight(s, " \n")
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// litParser parses the subset of Python literals found in .npy headers: dicts, tuples,
// lists, strings, ints (with an optional Python 2 'L' suffix), True, False, None.
type litParser struct {
	s string
	i int
}

func (p *litParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *litParser) value(depth int) (any, error) {
	if depth > 16 {
		return nil, errors.New("nesting too deep")
	}
	p.skip()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	c := p.s[p.i]
	switch {
	case c == '{':
		p.i++
		m := map[string]any{}
		for {
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return m, nil
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, errors.New("dict key is not a string")
			}
			p.skip()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, errors.New("expected ':'")
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[ks] = v
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			} else if p.i >= len(p.s) || p.s[p.i] != '}' {
				return nil, errors.New("expected ',' or '}'")
			}
		}
	case c == '(' || c == '[':
		end := byte(')')
		if c == '[' {
			end = ']'
		}
		p.i++
		var l []any
		for {
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == end {
				p.i++
				if l == nil {
					l = []any{}
				}
				return l, nil
			}
			if len(l) > 1024 {
				return nil, errors.New("sequence too long")
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.skip()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			} else if p.i >= len(p.s) || p.s[p.i] != end {
				return nil, fmt.Errorf("expected ',' or %q", end)
			}
		}
	case c == '\'' || c == '"':
		p.i++
		var sb strings.Builder
		for p.i < len(p.s) && p.s[p.i] != c {
			if p.s[p.i] == '\\' {
				return nil, errors.New("escapes in strings are unsupported")
			}
			sb.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, errors.New("unterminated string")
		}
		p.i++
		return sb.String(), nil
	case c == '-' || (c >= '0' && c <= '9'):
		j := p.i
		if c == '-' {
			p.i++
		}
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		n, err := strconv.ParseInt(p.s[j:p.i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q", p.s[j:p.i])
		}
		if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') {
			p.i++
		}
		return n, nil
	default:
		j := p.i
		for p.i < len(p.s) && (p.s[p.i] >= 'A' && p.s[p.i] <= 'Z' || p.s[p.i] >= 'a' && p.s[p.i] <= 'z') {
			p.i++
		}
		switch p.s[j:p.i] {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		}
		return nil, fmt.Errorf("unexpected %q", p.s[j:min(p.i+1, len(p.s))])
	}
}

// Write writes a as a .npy file (format 1.0, or 2.0 if the header needs it), with the
// header padded so that the data starts on a 64-byte boundary, as numpy does.
func Write(w io.Writer, a *Array) error {
	if err := a.Validate(); err != nil {
		return err
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(a.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", a.DType.descr(), sh.String())
	prefix := 10
	major := byte(1)
	total := (prefix + len(dict) + 1 + 63) / 64 * 64
	if total-prefix > math.MaxUint16 {
		major, prefix = 2, 12
		total = (prefix + len(dict) + 1 + 63) / 64 * 64
	}
	hlen := total - prefix
	buf := make([]byte, 0, total)
	buf = append(buf, "\x93NUMPY"...)
	buf = append(buf, major, 0)
	if major == 1 {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(hlen))
	} else {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(hlen))
	}
	buf = append(buf, dict...)
	for len(buf) < total-1 {
		buf = append(buf, ' ')
	}
	buf = append(buf, '\n')
	if _, err := w.Write(buf); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

// WriteFile writes a to path atomically (temporary file in the same directory, then rename).
func WriteFile(path string, a *Array) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error { return Write(w, a) })
}
