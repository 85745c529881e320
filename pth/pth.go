// Package pth reads PyTorch checkpoints written by torch.save, without Python: the zip
// format (torch >= 1.6: <archive>/data.pkl plus one raw file per storage under
// <archive>/data/) and the legacy format (consecutive pickles followed by the raw
// storages). Opening a file parses only the pickle; tensor data is read on demand through
// an io.ReaderAt, one tensor at a time, so a multi-gigabyte checkpoint is never held in
// memory twice.
//
// Files are untrusted: sizes are checked against the file's real size before anything is
// allocated, and malformed input is an error, never a panic.
package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/internal/pickle"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// ErrFormat is wrapped by every error about malformed or unsupported input.
var ErrFormat = errors.New("pth: malformed or unsupported checkpoint")

func errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// DType is a torch element type.
type DType string

// The element types a checkpoint's storages may have.
const (
	Float32  DType = "float32"
	Float64  DType = "float64"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// Size returns the element size in bytes (0 if unknown).
func (d DType) Size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	case Float16, BFloat16, Int16:
		return 2
	case Int8, Uint8, Bool:
		return 1
	}
	return 0
}

// storageTypes maps torch's legacy typed-storage class names to element types.
var storageTypes = map[string]DType{
	"FloatStorage":    Float32,
	"DoubleStorage":   Float64,
	"HalfStorage":     Float16,
	"BFloat16Storage": BFloat16,
	"LongStorage":     Int64,
	"IntStorage":      Int32,
	"ShortStorage":    Int16,
	"CharStorage":     Int8,
	"ByteStorage":     Uint8,
	"BoolStorage":     Bool,
	"UntypedStorage":  Uint8,
}

// torchDTypes maps torch dtype names (as pickled: GLOBAL torch.float16) to element types.
var torchDTypes = map[string]DType{
	"float32": Float32, "float": Float32, "float64": Float64, "double": Float64,
	"float16": Float16, "half": Float16, "bfloat16": BFloat16,
	"int64": Int64, "long": Int64, "int32": Int32, "int": Int32, "int16": Int16, "short": Int16,
	"int8": Int8, "uint8": Uint8, "bool": Bool,
}

// Storage is one of the checkpoint's flat typed buffers.
type Storage struct {
	Key   string
	DType DType
	Numel int64

	f        *File
	zf       *zip.File // zip format
	base     *Storage  // legacy storage views: the storage this one is a window of
	baseOff  int64     // element offset inside base
	fileOff  int64     // absolute byte offset of element 0 (-1 until known)
	resolved bool
}

// Tensor describes one tensor of the checkpoint: a strided view of a storage.
type Tensor struct {
	Storage *Storage
	// Offset is the storage offset in elements.
	Offset int64
	Shape  []int
	Stride []int
}

// DType returns the tensor's element type.
func (t *Tensor) DType() DType { return t.Storage.DType }

// Numel returns the number of elements.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Limits on what a checkpoint may describe.
const (
	maxRank = 32
	// A tensor may have more elements than its storage (stride-0 broadcasts) only up to
	// this many, so that a tiny file cannot request a huge allocation.
	maxBroadcastNumel = 1 << 22
	maxPickle         = 1 << 30
	// _rebuild_from_type_v2 calls wrapping one another.
	maxRebuildDepth = 4
	// All of a checkpoint's tensors together may span at most maxViewFactor times its
	// storage bytes plus maxBroadcastBytes (overlapping views, stride-0 broadcasts).
	maxViewFactor     = 16
	maxBroadcastBytes = 1 << 26
)

// File is an open checkpoint.
type File struct {
	// Root is the unpickled object: *pickle.Dict, *pickle.List, pickle.Tuple, scalars and
	// *Tensor leaves. Tensors shared in the file (tied weights) are the same *Tensor.
	Root any
	// Legacy reports the pre-1.6 (non-zip) format.
	Legacy bool

	r        io.ReaderAt
	size     int64
	swap     bool // storages are big endian
	storages map[string]*Storage
	closer   io.Closer
}

// Open opens the checkpoint at path. Close it when done.
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

// legacyMagic is torch's MAGIC_NUMBER, the first pickle of a legacy file.
var legacyMagic, _ = new(big.Int).SetString("119547037146038801333356", 10)

// NewReader parses the checkpoint of the given size held by r.
func NewReader(r io.ReaderAt, size int64) (*File, error) {
	var head [4]byte
	if err := fileio.ReadFullAt(r, head[:], 0); err != nil {
		return nil, errf("file too short (%d bytes)", size)
	}
	f := &File{r: r, size: size, storages: map[string]*Storage{}}
	switch {
	case string(head[:]) == "PK\x03\x04" || string(head[:]) == "PK\x05\x06":
		if err := f.openZip(); err != nil {
			return nil, err
		}
	case head[0] == 0x80 && head[1] == 2 && head[2] == 0x8a: // PROTO 2, LONG1: the magic
		f.Legacy = true
		if err := f.openLegacy(); err != nil {
			return nil, err
		}
	default:
		return nil, errf("not a torch checkpoint (starts with % x)", head)
	}
	return f, nil
}

func (f *File) openZip() error {
	zr, err := zip.NewReader(f.r, f.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return errf("bad zip: %v", err)
	}
	// The archive prefix is the file's base name at save time, so find data.pkl.
	var pkl *zip.File
	prefix := ""
	byName := map[string]*zip.File{}
	for _, zf := range zr.File {
		byName[zf.Name] = zf
		if pkl == nil && (zf.Name == "data.pkl" || strings.HasSuffix(zf.Name, "/data.pkl")) {
			pkl = zf
			prefix = strings.TrimSuffix(zf.Name, "data.pkl")
		}
	}
	if pkl == nil {
		return errf("zip has no data.pkl (not a torch zip checkpoint)")
	}
	if bo, ok := byName[prefix+"byteorder"]; ok {
		b, err := readMember(bo, 16)
		if err != nil {
			return err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			f.swap = true
		default:
			return errf("byteorder record %q", b)
		}
	}
	if pkl.UncompressedSize64 > maxPickle {
		return errf("data.pkl is %d bytes", pkl.UncompressedSize64)
	}
	rc, err := pkl.Open()
	if err != nil {
		return errf("data.pkl: %v", err)
	}
	defer rc.Close()
	d := pickle.NewDecoder(rc, int64(pkl.UncompressedSize64))
	d.Persistent = func(pid any) (any, error) {
		key, dt, numel, err := parsePID(pid, 5)
		if err != nil {
			return nil, err
		}
		if s, ok := f.storages[key]; ok {
			if s.DType != dt || s.Numel != numel {
				return nil, errf("storage %q described twice differently", key)
			}
			return s, nil
		}
		zf, ok := byName[prefix+"data/"+key]
		if !ok {
			return nil, errf("storage %q: no zip entry %s", key, prefix+"data/"+key)
		}
		if need := uint64(numel) * uint64(dt.Size()); zf.UncompressedSize64 < need {
			return nil, errf("storage %q: %d elements of %s need %d bytes, entry has %d", key, numel, dt, need, zf.UncompressedSize64)
		}
		s := &Storage{Key: key, DType: dt, Numel: numel, f: f, zf: zf, fileOff: -1}
		if zf.Method != zip.Store {
			// Deflate expands at most ~1032:1; a larger claim is a lie or a bomb.
			need := uint64(numel) * uint64(dt.Size())
			if zf.CompressedSize64 > uint64(f.size) || need > zf.CompressedSize64*1032+1024 {
				return nil, errf("storage %q: compressed entry of %d bytes cannot hold %d", key, zf.CompressedSize64, need)
			}
		} else {
			off, err := zf.DataOffset()
			if err != nil {
				return nil, errf("storage %q: %v", key, err)
			}
			if off < 0 || off > f.size || numel*int64(dt.Size()) > f.size-off {
				return nil, errf("storage %q lies outside the file", key)
			}
			s.fileOff = off
		}
		s.resolved = true
		f.storages[key] = s
		return s, nil
	}
	hookTensors(d)
	root, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: data.pkl: %w", ErrFormat, err)
	}
	f.Root = root
	return nil
}

// readMember reads a small zip member whole.
func readMember(zf *zip.File, limit uint64) ([]byte, error) {
	if zf.UncompressedSize64 > limit {
		return nil, errf("%s is %d bytes", zf.Name, zf.UncompressedSize64)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, errf("%s: %v", zf.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(limit)))
	if err != nil {
		return nil, errf("%s: %v", zf.Name, err)
	}
	return b, nil
}

// parsePID decodes ('storage', <storage type>, key, location, numel[, view metadata]).
func parsePID(pid any, minLen int) (key string, dt DType, numel int64, err error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || len(t) < minLen {
		return "", "", 0, errf("persistent id %s is not a storage tuple", pickle.Describe(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return "", "", 0, errf("persistent id kind %s (want 'storage')", pickle.Describe(t[0]))
	}
	g, ok := t[1].(pickle.Global)
	if !ok {
		return "", "", 0, errf("storage type %s is not a class", pickle.Describe(t[1]))
	}
	dt, ok = storageTypes[g.Name]
	if !ok || (g.Module != "torch" && g.Module != "torch.storage") {
		return "", "", 0, errf("unsupported storage type %s", g)
	}
	switch k := t[2].(type) {
	case string:
		key = k
	case int64:
		key = strconv.FormatInt(k, 10)
	default:
		return "", "", 0, errf("storage key %s", pickle.Describe(t[2]))
	}
	n, ok := t[4].(int64)
	if !ok || n < 0 || n > math.MaxInt64/8 { // bounded so that byte counts cannot overflow
		return "", "", 0, errf("storage %q: bad element count %s", key, pickle.Describe(t[4]))
	}
	return key, dt, n, nil
}

// hookTensors makes d rebuild tensors as *Tensor and accept BUILD on them.
func hookTensors(d *pickle.Decoder) {
	var reduce func(fn any, args pickle.Tuple, depth int) (any, bool, error)
	reduce = func(fn any, args pickle.Tuple, depth int) (any, bool, error) {
		g, ok := fn.(pickle.Global)
		if !ok {
			return nil, false, nil
		}
		switch g.String() {
		case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
			t, err := rebuildTensor(args)
			return t, err == nil, err
		case "torch._utils._rebuild_tensor_v3":
			// (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata]) over
			// an untyped (byte) storage: view the bytes as dtype.
			if len(args) < 7 {
				return nil, false, errf("%s with %d arguments", g, len(args))
			}
			s, ok1 := args[0].(*Storage)
			dg, ok2 := args[6].(pickle.Global)
			dt := torchDTypes[dg.Name]
			if !ok1 || !ok2 || dg.Module != "torch" || dt == "" {
				return nil, false, errf("%s of %T with dtype %s", g, args[0], pickle.Describe(args[6]))
			}
			if s.DType != dt {
				if s.DType.Size() != 1 || s.Numel%int64(dt.Size()) != 0 {
					return nil, false, errf("%s: %s storage %q cannot be viewed as %s", g, s.DType, s.Key, dt)
				}
				v := *s
				v.DType, v.Numel = dt, s.Numel/int64(dt.Size())
				s = &v
			}
			a := append(pickle.Tuple{s}, args[1:4]...)
			t, err := rebuildTensor(a)
			return t, err == nil, err
		case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
			if len(args) < 1 {
				return nil, false, errf("%s without arguments", g)
			}
			if t, ok := args[0].(*Tensor); ok {
				return t, true, nil
			}
			return nil, false, errf("%s of %T", g, args[0])
		case "torch._tensor._rebuild_from_type_v2":
			// (func, new_type, args, state): a tensor subclass; rebuild the plain tensor.
			// torch never nests these; a file that does could recurse past the stack.
			if depth >= maxRebuildDepth {
				return nil, false, errf("%s nested more than %d deep", g, maxRebuildDepth)
			}
			if len(args) >= 3 {
				if inner, ok := args[2].(pickle.Tuple); ok {
					return reduce(args[0], inner, depth+1)
				}
			}
			return nil, false, errf("%s with arguments %s", g, pickle.Describe(args))
		}
		return nil, false, nil
	}
	d.Reduce = func(fn any, args pickle.Tuple) (any, bool, error) { return reduce(fn, args, 0) }
	d.Build = func(obj, state any) (bool, error) {
		_, isTensor := obj.(*Tensor)
		return isTensor, nil // tensor state (requires_grad, hooks) does not matter here
	}
}

// rebuildTensor decodes _rebuild_tensor_v2(storage, offset, size, stride, ...).
func rebuildTensor(args pickle.Tuple) (*Tensor, error) {
	if len(args) < 4 {
		return nil, errf("_rebuild_tensor with %d arguments", len(args))
	}
	s, ok := args[0].(*Storage)
	if !ok {
		return nil, errf("tensor storage is %T", args[0])
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, errf("tensor storage offset %s", pickle.Describe(args[1]))
	}
	shape, err := intTuple(args[2])
	if err != nil {
		return nil, errf("tensor size: %v", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, errf("tensor stride: %v", err)
	}
	if len(shape) != len(stride) {
		return nil, errf("tensor size %v and stride %v differ in rank", shape, stride)
	}
	t := &Tensor{Storage: s, Offset: off, Shape: shape, Stride: stride}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", pickle.Describe(v))
	}
	if len(t) > maxRank {
		return nil, fmt.Errorf("rank %d exceeds %d", len(t), maxRank)
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 || n > math.MaxInt32*int64(1<<16) {
			return nil, fmt.Errorf("bad dimension %s", pickle.Describe(x))
		}
		out[i] = int(n)
	}
	return out, nil
}

// check verifies that every element of the view lies inside the storage and that the
// element count is bounded.
func (t *Tensor) check() error {
	n := uint64(1)
	maxOff := uint64(0)
	empty := false
	for i, d := range t.Shape {
		if d == 0 {
			empty = true
			continue
		}
		if n > math.MaxInt64/uint64(d) {
			return errf("tensor shape %v is too large", t.Shape)
		}
		n *= uint64(d)
		st := uint64(t.Stride[i])
		if st != 0 && uint64(d-1) > (math.MaxInt64-maxOff)/st {
			return errf("tensor stride %v overflows", t.Stride)
		}
		maxOff += uint64(d-1) * st
	}
	if empty {
		return nil
	}
	if uint64(t.Offset)+maxOff >= uint64(t.Storage.Numel) {
		return errf("tensor view (offset %d, shape %v, stride %v) exceeds its storage %q of %d elements", t.Offset, t.Shape, t.Stride, t.Storage.Key, t.Storage.Numel)
	}
	if n > uint64(t.Storage.Numel) && n > maxBroadcastNumel {
		return errf("tensor shape %v has %d elements but its storage only %d", t.Shape, n, t.Storage.Numel)
	}
	return nil
}

// openLegacy parses the pre-zip format: magic, protocol version, system info, the object
// pickle, the storage keys, then each storage as an int64 count and raw bytes.
func (f *File) openLegacy() error {
	sr := io.NewSectionReader(f.r, 0, f.size)
	d := pickle.NewDecoder(sr, f.size)
	magic, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: legacy magic: %w", ErrFormat, err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return errf("legacy magic number %s", pickle.Describe(magic))
	}
	proto, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: legacy protocol version: %w", ErrFormat, err)
	}
	if proto != int64(1001) {
		return errf("legacy protocol version %s (want 1001)", pickle.Describe(proto))
	}
	sys, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: legacy system info: %w", ErrFormat, err)
	}
	if sd, ok := sys.(*pickle.Dict); ok {
		if le, ok := sd.Get("little_endian"); ok && le == false {
			f.swap = true
		}
	}
	type view struct {
		s       *Storage
		baseKey string
	}
	var views []view
	d.Persistent = func(pid any) (any, error) {
		key, dt, numel, err := parsePID(pid, 6)
		if err != nil {
			return nil, err
		}
		t := pid.(pickle.Tuple)
		if t[5] != nil {
			// (view_key, offset, view_size): a window into the storage named key.
			vm, ok := t[5].(pickle.Tuple)
			if !ok || len(vm) != 3 {
				return nil, errf("storage view metadata %s", pickle.Describe(t[5]))
			}
			vk, ok1 := vm[0].(string)
			vo, ok2 := vm[1].(int64)
			vs, ok3 := vm[2].(int64)
			if !ok1 || !ok2 || !ok3 || vo < 0 || vs < 0 || vo > numel || vs > numel-vo { // no vo+vs: it can overflow
				return nil, errf("storage view metadata %s", pickle.Describe(t[5]))
			}
			if s, ok := f.storages["view:"+vk]; ok {
				return s, nil
			}
			base := f.legacyStorage(key, dt, numel)
			if base == nil {
				return nil, errf("storage %q described twice differently", key)
			}
			s := &Storage{Key: vk, DType: dt, Numel: vs, f: f, base: base, baseOff: vo, fileOff: -1}
			f.storages["view:"+vk] = s
			views = append(views, view{s, key})
			return s, nil
		}
		s := f.legacyStorage(key, dt, numel)
		if s == nil {
			return nil, errf("storage %q described twice differently", key)
		}
		return s, nil
	}
	hookTensors(d)
	root, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: legacy object pickle: %w", ErrFormat, err)
	}
	d.Persistent = nil
	keysV, err := d.Decode()
	if err != nil {
		return fmt.Errorf("%w: legacy storage keys: %w", ErrFormat, err)
	}
	keys, ok := keysV.(*pickle.List)
	if !ok {
		return errf("legacy storage keys are %T", keysV)
	}
	off := d.Offset()
	for _, kv := range keys.Items {
		k, ok := kv.(string)
		if !ok {
			return errf("legacy storage key %s", pickle.Describe(kv))
		}
		s, ok := f.storages[k]
		if !ok {
			return errf("legacy storage %q listed but never used", k)
		}
		if s.resolved {
			return errf("legacy storage %q listed twice", k)
		}
		var cnt [8]byte
		if off < 0 || off > f.size-8 {
			return errf("legacy storage %q: data truncated", k)
		}
		if err := fileio.ReadFullAt(f.r, cnt[:], off); err != nil {
			return errf("legacy storage %q: %v", k, err)
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if f.swap {
			order = binary.BigEndian
		}
		n := int64(order.Uint64(cnt[:]))
		if n != s.Numel {
			return errf("legacy storage %q holds %d elements, the pickle says %d", k, n, s.Numel)
		}
		off += 8
		nb := n * int64(s.DType.Size())
		if n < 0 || nb > f.size-off {
			return errf("legacy storage %q: %d bytes past the end of the file", k, nb)
		}
		s.fileOff = off
		s.resolved = true
		off += nb
	}
	for _, s := range f.storages {
		if s.base == nil && !s.resolved {
			return errf("legacy storage %q has no data", s.Key)
		}
	}
	for _, v := range views {
		v.s.fileOff = v.s.base.fileOff + v.s.baseOff*int64(v.s.DType.Size())
		v.s.resolved = true
	}
	f.Root = root
	return nil
}

// legacyStorage returns the storage for key, creating it; nil if key is already known
// with another type or size.
func (f *File) legacyStorage(key string, dt DType, numel int64) *Storage {
	if s, ok := f.storages[key]; ok {
		if s.DType != dt || s.Numel != numel {
			return nil
		}
		return s
	}
	s := &Storage{Key: key, DType: dt, Numel: numel, f: f, fileOff: -1}
	f.storages[key] = s
	return s
}

// read reads elements [from, from+n) of s as raw little-endian bytes.
func (s *Storage) read(from, n int64) ([]byte, error) { return s.readInto(nil, from, n) }

// readInto is read reusing buf's memory when it is large enough.
func (s *Storage) readInto(buf []byte, from, n int64) ([]byte, error) {
	sz := int64(s.DType.Size())
	if from < 0 || n < 0 || from+n > s.Numel {
		return nil, errf("read of elements [%d, %d) outside storage %q of %d", from, from+n, s.Key, s.Numel)
	}
	var b []byte
	if n == 0 {
		return []byte{}, nil
	}
	if s.fileOff >= 0 {
		// The range was checked against the file size when the storage was opened.
		if int64(cap(buf)) >= n*sz {
			b = buf[:n*sz]
		} else {
			b = make([]byte, n*sz)
		}
		if err := fileio.ReadFullAt(s.f.r, b, s.fileOff+from*sz); err != nil {
			return nil, errf("storage %q: %v", s.Key, err)
		}
	} else if s.zf != nil {
		// A compressed member (torch never writes these): stream up to the range, letting
		// the buffer grow only as data really arrives.
		rc, err := s.zf.Open()
		if err != nil {
			return nil, errf("storage %q: %v", s.Key, err)
		}
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, from*sz); err != nil {
			return nil, errf("storage %q: %v", s.Key, err)
		}
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, rc, n*sz); err != nil {
			return nil, errf("storage %q: %v", s.Key, err)
		}
		b = buf.Bytes()
	} else {
		return nil, errf("storage %q has no data", s.Key)
	}
	if s.f.swap {
		swapBytes(b, int(sz))
	}
	return b, nil
}

func swapBytes(b []byte, sz int) {
	for i := 0; i+sz <= len(b); i += sz {
		for j, k := i, i+sz-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}

// span returns the range of storage elements the view touches.
func (t *Tensor) span() (lo, n int64) {
	maxOff := int64(0)
	for i, d := range t.Shape {
		if d == 0 {
			return t.Offset, 0
		}
		maxOff += int64(d-1) * int64(t.Stride[i])
	}
	return t.Offset, maxOff + 1
}

// contiguous reports whether the view is dense and row-major.
func (t *Tensor) contiguous() bool {
	want := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}

// Raw returns the tensor's elements in C order as raw little-endian bytes of its dtype.
func (t *Tensor) Raw() ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	lo, n := t.span()
	src, err := t.Storage.read(lo, n)
	if err != nil {
		return nil, err
	}
	if t.contiguous() {
		return src, nil
	}
	sz := t.Storage.DType.Size()
	numel := t.Numel()
	dst := make([]byte, numel*sz)
	rank := len(t.Shape)
	idx := make([]int, rank)
	off := 0
	for i := 0; i < numel; i++ {
		copy(dst[i*sz:(i+1)*sz], src[off*sz:(off+1)*sz])
		for ax := rank - 1; ax >= 0; ax-- {
			idx[ax]++
			off += t.Stride[ax]
			if idx[ax] < t.Shape[ax] {
				break
			}
			off -= t.Stride[ax] * t.Shape[ax]
			idx[ax] = 0
		}
	}
	return dst, nil
}

// Float32 reads the tensor and converts it to float32 (float16 and bfloat16 exactly,
// float64 and 64-bit integers rounded to nearest). Contiguous tensors stored uncompressed
// are converted in chunks straight into the result, so no second full-size copy is made.
func (t *Tensor) Float32() (*tensor.Tensor, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	s := t.Storage
	if s.DType.Size() == 0 {
		return nil, errf("cannot convert %s to float32", s.DType)
	}
	out := make([]float32, t.Numel())
	if t.contiguous() && s.fileOff >= 0 && s.DType == Float32 && !s.f.swap && hostLittleEndian && len(out) > 0 {
		// The common case (every official SAM tensor): the file's bytes are the result's.
		dst := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*len(out))
		if err := fileio.ReadFullAt(s.f.r, dst, s.fileOff+4*t.Offset); err != nil {
			return nil, errf("storage %q: %v", s.Key, err)
		}
		return tensor.FromSlice(out, t.Shape...), nil
	}
	if t.contiguous() && s.fileOff >= 0 {
		const chunk = 1 << 17 // elements per read: at most 1 MB
		bp := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(bp)
		for done := 0; done < len(out); {
			k := min(chunk, len(out)-done)
			raw, err := s.readInto(*bp, t.Offset+int64(done), int64(k))
			if err != nil {
				return nil, err
			}
			if err := toFloat32(raw, s.DType, out[done:done+k]); err != nil {
				return nil, err
			}
			done += k
		}
		return tensor.FromSlice(out, t.Shape...), nil
	}
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	if err := toFloat32(raw, s.DType, out); err != nil {
		return nil, err
	}
	return tensor.FromSlice(out, t.Shape...), nil
}

// hostLittleEndian reports whether float32 values in memory have the file's byte order.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// chunkPool holds the read buffers of Float32, shared across calls and goroutines.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// toFloat32 converts len(out) little-endian elements of raw to float32.
func toFloat32(raw []byte, dt DType, out []float32) error {
	le := binary.LittleEndian
	switch dt {
	case Float32:
		raw = raw[:4*len(out)]
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Float16:
		for i := range out {
			out[i] = npy.HalfToFloat32(le.Uint16(raw[2*i:]))
		}
	case BFloat16:
		for i := range out {
			out[i] = npy.BFloat16ToFloat32(le.Uint16(raw[2*i:]))
		}
	case Float64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case Int64:
		for i := range out {
			out[i] = float32(int64(le.Uint64(raw[8*i:])))
		}
	case Int32:
		for i := range out {
			out[i] = float32(int32(le.Uint32(raw[4*i:])))
		}
	case Int16:
		for i := range out {
			out[i] = float32(int16(le.Uint16(raw[2*i:])))
		}
	case Int8:
		for i := range out {
			out[i] = float32(int8(raw[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = float32(raw[i])
		}
	default:
		return errf("cannot convert %s to float32", dt)
	}
	return nil
}

// Array reads the tensor as an npy.Array of the same dtype; bfloat16, which NumPy lacks,
// is widened to float32 exactly.
func (t *Tensor) Array() (*npy.Array, error) {
	dt := map[DType]npy.DType{Float32: npy.Float32, Float64: npy.Float64, Float16: npy.Float16,
		Int64: npy.Int64, Int32: npy.Int32, Int16: npy.Int16, Int8: npy.Int8, Uint8: npy.Uint8, Bool: npy.Bool}[t.Storage.DType]
	if dt == "" {
		ft, err := t.Float32()
		if err != nil {
			return nil, err
		}
		return npy.FromTensor(ft), nil
	}
	raw, err := t.Raw()
	if err != nil {
		return nil, err
	}
	return &npy.Array{DType: dt, Shape: append([]int{}, t.Shape...), Data: raw}, nil
}

// Entry is one named tensor of a flattened state dict.
type Entry struct {
	Name   string
	Tensor *Tensor
}

// StateDict flattens the checkpoint into named tensors in file order. A top-level dict
// holding the weights under "state_dict" or "model" (as training scripts save
// {"model": sd, "epoch": n}) is descended into; nested dicts are joined with dots;
// a pickled nn.Module (torch.save(model)) yields its state_dict names; values that are
// not tensors (epochs, metadata, config) are skipped.
func (f *File) StateDict() ([]Entry, error) {
	root := f.Root
	for range 4 {
		d, ok := root.(*pickle.Dict)
		if !ok {
			break
		}
		next := any(nil)
		for _, k := range []string{"state_dict", "model"} {
			if v, ok := d.Get(k); ok {
				if _, isDict := v.(*pickle.Dict); isDict || isModule(v) {
					next = v
					break
				}
			}
		}
		if next == nil {
			break
		}
		root = next
	}
	var out []Entry
	seen := map[string]bool{}
	// The memo lets a pickle share one dict under many keys, so a small file can describe
	// a graph with exponentially many paths: bound the walk, not just its depth.
	budget := 1 << 22
	var walk func(v any, prefix string, depth int) error
	walk = func(v any, prefix string, depth int) error {
		if depth > 64 {
			return errf("checkpoint nesting deeper than 64 (cyclic?)")
		}
		if budget--; budget < 0 {
			return errf("checkpoint has more than %d entries (shared or cyclic dicts?)", 1<<22)
		}
		switch x := v.(type) {
		case *Tensor:
			if seen[prefix] {
				return errf("duplicate tensor name %q", prefix)
			}
			seen[prefix] = true
			out = append(out, Entry{prefix, x})
		case *pickle.Dict:
			for i, k := range x.Keys {
				var name string
				switch kk := k.(type) {
				case string:
					name = kk
				case int64:
					name = strconv.FormatInt(kk, 10)
				default:
					continue
				}
				if prefix != "" {
					name = prefix + "." + name
				}
				if err := walk(x.Values[i], name, depth+1); err != nil {
					return err
				}
			}
		case *pickle.Object:
			if g, ok := x.Callable.(pickle.Global); ok && strings.HasPrefix(g.Module, "torch") && strings.Contains(g.Name, "rebuild") {
				return errf("%q is an unsupported tensor kind (%s)", prefix, g)
			}
			// A whole nn.Module (torch.save(model)): its __dict__ holds _parameters,
			// _buffers and _modules, flattened in state_dict order.
			st, ok := x.State.(*pickle.Dict)
			if !ok {
				return nil
			}
			params, ok := st.Get("_parameters")
			if !ok {
				return nil
			}
			join := func(k string) string {
				if prefix == "" {
					return k
				}
				return prefix + "." + k
			}
			skip := map[string]bool{}
			if np, ok := st.Get("_non_persistent_buffers_set"); ok {
				if l, ok := np.(*pickle.List); ok {
					for _, it := range l.Items {
						if s, ok := it.(string); ok {
							skip[s] = true
						}
					}
				}
			}
			bufs, _ := st.Get("_buffers")
			for _, group := range []any{params, bufs} {
				d, ok := group.(*pickle.Dict)
				if !ok {
					continue
				}
				for i, k := range d.Keys {
					ks, ok := k.(string)
					if !ok || skip[ks] && group == bufs {
						continue
					}
					if t, ok := d.Values[i].(*Tensor); ok {
						if err := walk(t, join(ks), depth+1); err != nil {
							return err
						}
					}
				}
			}
			if mods, ok := st.Get("_modules"); ok {
				if d, ok := mods.(*pickle.Dict); ok {
					for i, k := range d.Keys {
						if ks, ok := k.(string); ok {
							if err := walk(d.Values[i], join(ks), depth+1); err != nil {
								return err
							}
						}
					}
				}
			}
		}
		return nil
	}
	if err := walk(root, "", 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errf("no tensors found in the checkpoint")
	}
	if err := f.checkTotal(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTotal bounds what reading every tensor would allocate by the data the file really
// holds: each view is checked against its storage, but thousands of views of one storage
// (or of a stride-0 broadcast) cost a few bytes of pickle each and could ask for terabytes.
func (f *File) checkTotal(entries []Entry) error {
	var have uint64
	for _, s := range f.storages {
		if s.base == nil { // legacy views are windows of a base storage, counted there
			have += uint64(s.Numel) * uint64(s.DType.Size())
		}
	}
	limit := maxViewFactor*have + maxBroadcastBytes
	var want uint64
	seen := map[*Tensor]bool{}
	for _, e := range entries {
		if seen[e.Tensor] {
			continue // the same object under two names is read once
		}
		seen[e.Tensor] = true
		want += uint64(e.Tensor.Numel()) * uint64(e.Tensor.DType().Size())
		if want > limit {
			return errf("the tensors' views add up to more than %d bytes, %d times the file's %d bytes of storage (plus %d)", limit, maxViewFactor, have, uint64(maxBroadcastBytes))
		}
	}
	return nil
}

// isModule reports whether v is a pickled nn.Module (an object whose state has _parameters).
func isModule(v any) bool {
	o, ok := v.(*pickle.Object)
	if !ok {
		return false
	}
	st, ok := o.State.(*pickle.Dict)
	if !ok {
		return false
	}
	_, ok = st.Get("_parameters")
	return ok
}

// Metadata returns the state dict's _metadata attribute (module versions), if present.
func (f *File) Metadata() *pickle.Dict {
	d, ok := f.Root.(*pickle.Dict)
	if !ok {
		return nil
	}
	if a, ok := d.Attrs.(*pickle.Dict); ok {
		if m, ok := a.Get("_metadata"); ok {
			md, _ := m.(*pickle.Dict)
			return md
		}
	}
	return nil
}

// ReadAll opens path and returns every tensor of its state dict as float32. Tensors
// that are the same object in the file (tied weights) share one *tensor.Tensor.
func ReadAll(path string) (map[string]*tensor.Tensor, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sd, err := f.StateDict()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make(map[string]*tensor.Tensor, len(sd))
	done := map[*Tensor]*tensor.Tensor{}
	for _, e := range sd {
		if t, ok := done[e.Tensor]; ok {
			out[e.Name] = t
			continue
		}
		t, err := e.Tensor.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, e.Name, err)
		}
		done[e.Tensor] = t
		out[e.Name] = t
	}
	return out, nil
}
