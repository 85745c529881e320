// Package safetensors reads and writes the safetensors format (Hugging Face): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to its dtype,
// shape and [begin, end) byte range, then the concatenated little-endian C-order data.
//
// Reading follows the reference implementation's validation: the header is bounded in
// size, every range matches its dtype and shape, and the ranges tile the data buffer
// exactly. Tensor data is read on demand through an io.ReaderAt.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// MaxHeader is the largest header accepted (the reference implementation's limit).
const MaxHeader = 100 << 20

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("safetensors: malformed file")

func errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// dtypeSize gives the element size of every dtype the format defines.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType string // "F32", "F16", "BF16", "I64", ...
	Shape []int
	// Begin and End are byte offsets into the data buffer.
	Begin, End int64
}

// File is an open safetensors file.
type File struct {
	// Metadata is the optional "__metadata__" string map.
	Metadata map[string]string

	infos   []Info // in data order
	byName  map[string]int
	r       io.ReaderAt
	dataOff int64
	closer  io.Closer
}

// Open opens the safetensors file at path. Close it when done.
func Open(path string) (*File, error) {
	f, fh, err := fileio.Open(path, NewReader)
	if err != nil {
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// Close releases the file opened by Open.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	return f.closer.Close()
}

// NewReader parses the header of the safetensors data of the given size held by r.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	var nb [8]byte
	if size < 8 {
		return nil, errf("file of %d bytes has no header length", size)
	}
	if err := fileio.ReadFullAt(r, nb[:], 0); err != nil {
		return nil, errf("reading header length: %v", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	if n > MaxHeader {
		return nil, errf("header length %d exceeds the %d limit", n, MaxHeader)
	}
	if n > uint64(size-8) {
		return nil, errf("header length %d exceeds the file's %d bytes", n, size-8)
	}
	hdr := make([]byte, n)
	if err := fileio.ReadFullAt(r, hdr, 8); err != nil {
		return nil, errf("reading header: %v", err)
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errf("header does not start with '{'")
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, errf("header JSON: %v", err)
	}
	if rest := bytes.TrimRight(hdr[dec.InputOffset():], " \x00"); len(rest) > 0 {
		return nil, errf("header has %d bytes after the JSON object", len(rest))
	}
	f := &File{r: r, dataOff: 8 + int64(n), byName: map[string]int{}}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, errf("__metadata__ is not a string map: %v", err)
			}
			continue
		}
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, errf("tensor %q: %v", name, err)
		}
		sz, ok := dtypeSize[e.DType]
		if !ok {
			return nil, errf("tensor %q: unknown dtype %q", name, e.DType)
		}
		if e.Shape == nil || len(e.Shape) > 64 {
			return nil, errf("tensor %q: missing or absurd shape", name)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] {
			return nil, errf("tensor %q: bad data_offsets %v", name, e.Offsets)
		}
		numel := uint64(1)
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt64/uint64(sz)/uint64(d)) {
				return nil, errf("tensor %q: bad shape %v", name, e.Shape)
			}
			numel *= uint64(d)
			shape[i] = int(d)
		}
		if uint64(e.Offsets[1]-e.Offsets[0]) != numel*uint64(sz) {
			return nil, errf("tensor %q: %d bytes for shape %v of %s (want %d)", name, e.Offsets[1]-e.Offsets[0], e.Shape, e.DType, numel*uint64(sz))
		}
		f.infos = append(f.infos, Info{Name: name, DType: e.DType, Shape: shape, Begin: e.Offsets[0], End: e.Offsets[1]})
	}
	sort.Slice(f.infos, func(i, j int) bool {
		a, b := f.infos[i], f.infos[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
	end := int64(0)
	for i, in := range f.infos {
		if in.Begin != end {
			return nil, errf("tensor %q starts at %d, not at %d (gap or overlap)", in.Name, in.Begin, end)
		}
		end = in.End
		f.byName[in.Name] = i
	}
	if end != size-f.dataOff {
		return nil, errf("tensors cover %d data bytes, the file has %d", end, size-f.dataOff)
	}
	return f, nil
}

// Names returns the tensor names in data order.
func (f *File) Names() []string {
	out := make([]string, len(f.infos))
	for i, in := range f.infos {
		out[i] = in.Name
	}
	return out
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.byName[name]
	if !ok {
		return Info{}, false
	}
	in := f.infos[i]
	in.Shape = append([]int{}, in.Shape...)
	return in, true
}

// Raw returns the named tensor's bytes (little endian, C order) and description.
func (f *File) Raw(name string) ([]byte, Info, error) {
	in, ok := f.Info(name)
	if !ok {
		return nil, Info{}, fmt.Errorf("safetensors: no tensor %q", name)
	}
	b := make([]byte, in.End-in.Begin)
	if len(b) == 0 {
		return b, in, nil // some ReaderAts report EOF for empty reads at the end
	}
	if err := fileio.ReadFullAt(f.r, b, f.dataOff+in.Begin); err != nil {
		return nil, in, errf("tensor %q: %v", name, err)
	}
	return b, in, nil
}

// Tensor reads the named tensor converted to float32 (F16 and BF16 exactly; F64 and
// 64-bit integers rounded to nearest).
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	b, in, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	out, err := toFloat32(b, in.DType)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return tensor.FromSlice(out, in.Shape...), nil
}

// Array reads the named tensor keeping its dtype where NumPy has it; BF16 is widened to
// float32 exactly and the FP8 types are an error.
func (f *File) Array(name string) (*npy.Array, error) {
	b, in, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	dt, ok := toNpy[in.DType]
	if !ok {
		t, err := f.Tensor(name)
		if err != nil {
			return nil, err
		}
		return npy.FromTensor(t), nil
	}
	return &npy.Array{DType: dt, Shape: append([]int{}, in.Shape...), Data: b}, nil
}

var toNpy = map[string]npy.DType{
	"BOOL": npy.Bool, "U8": npy.Uint8, "I8": npy.Int8, "I16": npy.Int16, "U16": npy.Uint16,
	"F16": npy.Float16, "I32": npy.Int32, "U32": npy.Uint32, "F32": npy.Float32,
	"I64": npy.Int64, "U64": npy.Uint64, "F64": npy.Float64,
}

func toFloat32(b []byte, dt string) ([]float32, error) {
	le := binary.LittleEndian
	switch dt {
	case "F32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return out, nil
	case "F16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = npy.HalfToFloat32(le.Uint16(b[2*i:]))
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = npy.BFloat16ToFloat32(le.Uint16(b[2*i:]))
		}
		return out, nil
	}
	nd, ok := toNpy[dt]
	if !ok {
		return nil, fmt.Errorf("safetensors: cannot convert %s to float32", dt)
	}
	return (&npy.Array{DType: nd, Data: b}).Float32(), nil
}

// ReadAll reads every tensor of the file at path as float32.
func ReadAll(path string) (map[string]*tensor.Tensor, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make(map[string]*tensor.Tensor, len(f.infos))
	for _, in := range f.infos {
		t, err := f.Tensor(in.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[in.Name] = t
	}
	return out, nil
}

var fromNpy = map[npy.DType]string{
	npy.Bool: "BOOL", npy.Uint8: "U8", npy.Int8: "I8", npy.Int16: "I16", npy.Uint16: "U16",
	npy.Float16: "F16", npy.Int32: "I32", npy.Uint32: "U32", npy.Float32: "F32",
	npy.Int64: "I64", npy.Uint64: "U64", npy.Float64: "F64",
}

// Encode writes the arrays, in the given order, as a safetensors file to w. The header is
// padded with spaces to a multiple of 8 bytes so that the data is aligned.
func Encode(w io.Writer, arrays []npy.Member, metadata map[string]string) error {
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	off := int64(0)
	for _, m := range arrays {
		if m.Array == nil || m.Name == "" || m.Name == "__metadata__" {
			return fmt.Errorf("safetensors: invalid tensor name %q or nil array", m.Name)
		}
		if _, dup := hdr[m.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %q", m.Name)
		}
		dt, ok := fromNpy[m.Array.DType]
		if !ok {
			return fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", m.Name, m.Array.DType)
		}
		if err := m.Array.Validate(); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", m.Name, err)
		}
		shape := m.Array.Shape
		if shape == nil {
			shape = []int{}
		}
		n := int64(len(m.Array.Data))
		hdr[m.Name] = map[string]any{"dtype": dt, "shape": shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	js, err := json.Marshal(hdr) // keys sorted: a reproducible header
	if err != nil {
		return err
	}
	pad := (8 - len(js)%8) % 8
	js = append(js, []byte(strings.Repeat(" ", pad))...)
	var nb [8]byte
	binary.LittleEndian.PutUint64(nb[:], uint64(len(js)))
	if _, err := w.Write(nb[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, m := range arrays {
		if _, err := w.Write(m.Array.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes the arrays to path atomically (temporary file, sync, rename).
func WriteFile(path string, arrays []npy.Member, metadata map[string]string) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error { return Encode(w, arrays, metadata) })
}

// WriteTensors writes float32 tensors, ordered by name, to path atomically.
func WriteTensors(path string, ts map[string]*tensor.Tensor, metadata map[string]string) error {
	m := make(map[string]*npy.Array, len(ts))
	for k, t := range ts {
		m[k] = npy.FromTensor(t)
	}
	return WriteFile(path, npy.SortedMembers(m), metadata)
}
