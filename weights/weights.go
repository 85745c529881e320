// Package weights loads named float32 tensors from any of the weight formats aisam meets,
// recognised by content rather than file name: PyTorch checkpoints (zip and legacy
// torch.save), safetensors, and NumPy .npz archives. It also saves them as safetensors or
// .npz. Loading into a model is then nn.Params.Load, which names every missing,
// unexpected and mis-shaped key.
package weights

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/pth"
	"github.com/aisam/aisam/safetensors"
	"github.com/aisam/aisam/tensor"
)

// Format is a weight file format.
type Format string

// The formats Detect recognises.
const (
	TorchZip    Format = "torch-zip"
	TorchLegacy Format = "torch-legacy"
	SafeTensors Format = "safetensors"
	NPZ         Format = "npz"
)

// ErrUnknownFormat is returned for files that are none of the supported formats.
var ErrUnknownFormat = errors.New("weights: unrecognised file format")

// Detect identifies the format of the size bytes held by r from their content.
func Detect(r io.ReaderAt, size int64) (Format, error) {
	var head [16]byte
	n, _ := r.ReadAt(head[:], 0)
	h := head[:n]
	switch {
	case n >= 4 && (string(h[:4]) == "PK\x03\x04" || string(h[:4]) == "PK\x05\x06"):
		zr, err := zip.NewReader(r, size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			return "", fmt.Errorf("%w: zip archive: %v", ErrUnknownFormat, err)
		}
		for _, f := range zr.File {
			if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") {
				return TorchZip, nil
			}
		}
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, ".npy") {
				return NPZ, nil
			}
		}
		return "", fmt.Errorf("%w: zip archive with neither data.pkl nor .npy members", ErrUnknownFormat)
	case n >= 3 && h[0] == 0x80 && h[1] == 0x02 && h[2] == 0x8a:
		return TorchLegacy, nil
	case n >= 9 && h[8] == '{':
		if l := binary.LittleEndian.Uint64(h[:8]); l <= uint64(size-8) {
			return SafeTensors, nil
		}
	case n >= 6 && string(h[:6]) == "\x93NUMPY":
		return "", fmt.Errorf("%w: a single .npy array, not a set of named weights", ErrUnknownFormat)
	}
	return "", ErrUnknownFormat
}

// Option adjusts which tensors Load returns and under what names.
type Option func(*options)

type options struct {
	only, trim []string
}

// Only keeps the tensors whose names start with prefix (repeatable: any of them).
func Only(prefix string) Option { return func(o *options) { o.only = append(o.only, prefix) } }

// TrimPrefix removes prefix from the names that have it ("module." from DataParallel
// checkpoints, "image_encoder." to load an encoder alone); applied after Only.
func TrimPrefix(prefix string) Option { return func(o *options) { o.trim = append(o.trim, prefix) } }

func (o *options) rename(name string) (string, bool) {
	if len(o.only) > 0 {
		keep := false
		for _, p := range o.only {
			if strings.HasPrefix(name, p) {
				keep = true
				break
			}
		}
		if !keep {
			return "", false
		}
	}
	for _, p := range o.trim {
		name = strings.TrimPrefix(name, p)
	}
	return name, true
}

// Info describes one tensor of a weight file without reading its data.
type Info struct {
	Name  string
	DType string
	Shape []int
}

// Load reads the named tensors of the weight file at path as float32. PyTorch
// checkpoints are flattened ({"model": sd} and {"state_dict": sd} descend into the
// weights; nested dicts join names with dots); float16 and bfloat16 convert exactly.
// Tensors are read one at a time, so peak memory is the result plus one tensor.
// Tensors tied in a PyTorch file (one object under two names) share one *tensor.Tensor.
func Load(path string, opts ...Option) (map[string]*tensor.Tensor, error) {
	var o options
	for _, op := range opts {
		op(&o)
	}
	out := map[string]*tensor.Tensor{}
	if err := walk(path, &o, collect(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadFrom is Load for the size bytes held by r (an open file, a memory buffer).
func LoadFrom(r io.ReaderAt, size int64, opts ...Option) (map[string]*tensor.Tensor, error) {
	var o options
	for _, op := range opts {
		op(&o)
	}
	out := map[string]*tensor.Tensor{}
	err := walkReader(r, size, "weights", &o, collect(out))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// collect returns a walk callback that reads every tensor into out.
func collect(out map[string]*tensor.Tensor) func(string, Info, func() (*tensor.Tensor, error)) error {
	return func(name string, _ Info, read func() (*tensor.Tensor, error)) error {
		if _, dup := out[name]; dup {
			return fmt.Errorf("weights: two tensors named %q after renaming", name)
		}
		t, err := read()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = t
		return nil
	}
}

// List describes the tensors of the weight file at path (after the options), in file
// order, without reading their data (except from .npz, whose members hold their own
// headers and are read whole).
func List(path string, opts ...Option) ([]Info, error) {
	var o options
	for _, op := range opts {
		op(&o)
	}
	var out []Info
	err := walk(path, &o, func(name string, info Info, _ func() (*tensor.Tensor, error)) error {
		info.Name = name
		out = append(out, info)
		return nil
	})
	return out, err
}

// walk opens path, detects its format and calls fn for every selected tensor.
func walk(path string, o *options, fn func(name string, info Info, read func() (*tensor.Tensor, error)) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	return walkReader(fh, st.Size(), path, o, fn)
}

// walkReader is walk over size bytes held by r; name labels errors.
func walkReader(fh io.ReaderAt, size int64, path string, o *options, fn func(name string, info Info, read func() (*tensor.Tensor, error)) error) error {
	format, err := Detect(fh, size)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s (%s): %w", path, format, err)
	}
	switch format {
	case TorchZip, TorchLegacy:
		f, err := pth.NewReader(fh, size)
		if err != nil {
			return wrap(err)
		}
		sd, err := f.StateDict()
		if err != nil {
			return wrap(err)
		}
		done := map[*pth.Tensor]*tensor.Tensor{}
		for _, e := range sd {
			name, ok := o.rename(e.Name)
			if !ok {
				continue
			}
			pt := e.Tensor
			read := func() (*tensor.Tensor, error) {
				if t, ok := done[pt]; ok {
					return t, nil
				}
				t, err := pt.Float32()
				if err == nil {
					done[pt] = t
				}
				return t, err
			}
			if err := fn(name, Info{DType: string(pt.DType()), Shape: pt.Shape}, read); err != nil {
				return wrap(err)
			}
		}
	case SafeTensors:
		f, err := safetensors.NewReader(fh, size)
		if err != nil {
			return wrap(err)
		}
		for _, n := range f.Names() {
			name, ok := o.rename(n)
			if !ok {
				continue
			}
			in, _ := f.Info(n)
			if err := fn(name, Info{DType: in.DType, Shape: in.Shape}, func() (*tensor.Tensor, error) { return f.Tensor(n) }); err != nil {
				return wrap(err)
			}
		}
	case NPZ:
		z, err := npy.NewNPZ(fh, size)
		if err != nil {
			return wrap(err)
		}
		for _, n := range z.Names() {
			name, ok := o.rename(n)
			if !ok {
				continue
			}
			// An .npz member's dtype and shape are in its own header: reading it is the
			// only way to learn them, so read once and hand out the result.
			a, err := z.Get(n)
			if err != nil {
				return wrap(err)
			}
			if err := fn(name, Info{DType: string(a.DType), Shape: a.Shape}, a.Tensor); err != nil {
				return wrap(err)
			}
		}
	}
	return nil
}

// Save writes float32 tensors to path atomically, as safetensors or .npz according to the
// extension (".safetensors" or ".npz"), in name order.
func Save(path string, ts map[string]*tensor.Tensor) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return safetensors.WriteTensors(path, ts, map[string]string{"format": "pt"})
	case ".npz":
		m := make(map[string]*npy.Array, len(ts))
		for k, t := range ts {
			m[k] = npy.FromTensor(t)
		}
		return npy.WriteNPZ(path, npy.SortedMembers(m), false)
	}
	return fmt.Errorf("weights: cannot save %s: use a .safetensors or .npz extension", path)
}
