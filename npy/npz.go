package npy

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aisam/aisam/internal/fileio"
)

// NPZ is an open .npz archive (np.savez / np.savez_compressed): a zip of .npy members.
// Members are read on demand by Get.
type NPZ struct {
	size   int64
	names  []string
	files  map[string]*zip.File
	closer io.Closer
}

// OpenNPZ opens the .npz file at path. Close it when done.
func OpenNPZ(path string) (*NPZ, error) {
	z, f, err := fileio.Open(path, NewNPZ)
	if err != nil {
		return nil, err
	}
	z.closer = f
	return z, nil
}

// NewNPZ reads the directory of an .npz archive of the given size from r.
func NewNPZ(r io.ReaderAt, size int64) (*NPZ, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// Member names such as "a/../b" are legal array names here: nothing is extracted
		// to disk, so archive/zip's path check does not apply.
		return nil, fmt.Errorf("%w: not a zip archive: %v", ErrFormat, err)
	}
	z := &NPZ{size: size, files: map[string]*zip.File{}}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue // directory entry
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := z.files[name]; dup {
			return nil, fmt.Errorf("%w: duplicate member %q", ErrFormat, name)
		}
		z.files[name] = f
		z.names = append(z.names, name)
	}
	return z, nil
}

// Names returns the array names (member names without ".npy") in archive order.
func (z *NPZ) Names() []string { return append([]string(nil), z.names...) }

// Get reads the named array; the name may be given with or without ".npy".
func (z *NPZ) Get(name string) (*Array, error) {
	f, ok := z.files[name]
	if !ok {
		f, ok = z.files[strings.TrimSuffix(name, ".npy")]
	}
	if !ok {
		return nil, fmt.Errorf("npy: no array %q in archive (have %s)", name, strings.Join(z.names, ", "))
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return nil, fmt.Errorf("%w: member %q uses unsupported zip method %d", ErrFormat, f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: member %q: %v", ErrFormat, f.Name, err)
	}
	defer rc.Close()
	size := int64(-1)
	if f.UncompressedSize64 <= 1<<62 {
		size = int64(f.UncompressedSize64)
	}
	// A stored member's size is bounded by the archive's real size; a deflated member's
	// claimed size is not, so its buffer grows only as data really inflates.
	exact := f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 && f.CompressedSize64 <= uint64(z.size)
	a, err := readLimited(rc, size, exact)
	if err != nil {
		return nil, fmt.Errorf("member %q: %w", f.Name, err)
	}
	return a, nil
}

// Close releases the file opened by OpenNPZ.
func (z *NPZ) Close() error {
	if z.closer == nil {
		return nil
	}
	return z.closer.Close()
}

// ReadNPZ reads every array of the .npz file at path.
func ReadNPZ(path string) (map[string]*Array, error) {
	z, err := OpenNPZ(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	out := make(map[string]*Array, len(z.names))
	for _, n := range z.names {
		a, err := z.Get(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[n] = a
	}
	return out, nil
}

// Member is one named array of an .npz archive being written.
type Member struct {
	Name  string
	Array *Array
}

// SortedMembers returns m's entries ordered by name, for a reproducible archive.
func SortedMembers(m map[string]*Array) []Member {
	out := make([]Member, 0, len(m))
	for k, v := range m {
		out = append(out, Member{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EncodeNPZ writes members as an .npz archive to w, deflated if compress is set (as
// np.savez_compressed) else stored (as np.savez).
func EncodeNPZ(w io.Writer, members []Member, compress bool) error {
	seen := map[string]bool{}
	for _, m := range members {
		if m.Name == "" || m.Array == nil {
			return fmt.Errorf("npy: npz member with empty name or nil array")
		}
		if seen[m.Name] {
			return fmt.Errorf("npy: duplicate npz member %q", m.Name)
		}
		seen[m.Name] = true
		if err := m.Array.Validate(); err != nil {
			return fmt.Errorf("npz member %q: %w", m.Name, err)
		}
	}
	zw := zip.NewWriter(w)
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	for _, m := range members {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: m.Name + ".npy", Method: method})
		if err != nil {
			return err
		}
		if err := Write(fw, m.Array); err != nil {
			return fmt.Errorf("npz member %q: %w", m.Name, err)
		}
	}
	return zw.Close()
}

// WriteNPZ writes members to path atomically (see EncodeNPZ).
func WriteNPZ(path string, members []Member, compress bool) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error { return EncodeNPZ(w, members, compress) })
}
