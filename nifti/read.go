// Package nifti reads NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz, .hdr/.img pairs) of
// either byte order and writes label volumes. Files are untrusted: sizes are checked against
// the header and the data actually present, and bad input is an error, never a panic.
package nifti

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// MaxVoxels bounds the number of voxels a file may declare; larger files are refused
// before anything is allocated.
var MaxVoxels int64 = 1 << 31

// Volume is a decoded NIfTI image.
type Volume struct {
	Header
	// Dims are dim[1..dim[0]], x fastest on disk.
	Dims []int
	// Spacing is |pixdim[1..dim[0]]| (mm for spatial axes when xyzt_units says so).
	Spacing []float64
	// Data holds the physical values (scl_slope*raw + scl_inter), index i + nx*(j + ny*k).
	Data []float32
	// Affine maps (i, j, k, 1) to world millimetres; see Header.Affine.
	Affine [4][4]float64
	// Orientation is the axis code of Affine, e.g. "RAS" or "LAS".
	Orientation string
}

// At returns the value at voxel (i, j, k) of a volume of rank >= 3 (or the first volume of 4-D data).
func (v *Volume) At(i, j, k int) float32 {
	nx, ny := v.Dims[0], 1
	if len(v.Dims) > 1 {
		ny = v.Dims[1]
	}
	return v.Data[i+nx*(j+ny*k)]
}

// openStream opens a file for decoding: gunzipped when it starts with the gzip magic,
// with its byte count when that is known (see maybeGunzip). Errors name the path; the
// caller closes f.
func openStream(path string) (f *os.File, src io.Reader, known int64, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := f.Stat()
	if err == nil {
		if src, known, err = maybeGunzip(f, st.Size()); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return f, src, known, nil
}

// Open reads a .nii, .nii.gz or .hdr(.gz) file; gzip is detected from the content.
func Open(path string) (*Volume, error) {
	f, src, known, err := openStream(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := readHeader(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Magic == "ni1" || h.Magic == "ni2" {
		v, err := readPair(path, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return v, nil
	}
	v, err := readBody(src, h, known)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Read decodes a single-file NIfTI (.nii or gzip-compressed .nii.gz) from r.
func Read(r io.Reader) (*Volume, error) {
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		size = int64(l.Len())
	}
	src, known, err := maybeGunzip(r, size)
	if err != nil {
		return nil, err
	}
	h, err := readHeader(src)
	if err != nil {
		return nil, err
	}
	if h.Magic == "ni1" || h.Magic == "ni2" {
		return nil, fmt.Errorf("%w: two-file NIfTI (magic %q): open the .hdr path with Open", ErrFormat, h.Magic)
	}
	return readBody(src, h, known)
}

// ReadHeader decodes only the header of a .nii or .nii.gz stream.
func ReadHeader(r io.Reader) (*Header, error) {
	src, _, err := maybeGunzip(r, -1)
	if err != nil {
		return nil, err
	}
	return readHeader(src)
}

// maybeGunzip wraps r in a streaming gzip reader when it starts with the gzip magic. known is
// the byte count of the returned stream when it can be trusted (uncompressed input of known
// size), else -1.
func maybeGunzip(r io.Reader, size int64) (io.Reader, int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("%w: file too short for a header", ErrFormat)
		}
		return nil, 0, err
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: gzip: %v", ErrFormat, err)
		}
		return zr, -1, nil
	}
	return br, size, nil
}

// readHeader reads and parses the fixed header from the start of src.
func readHeader(src io.Reader) (*Header, error) {
	var buf [sizeofHdr2]byte
	if _, err := io.ReadFull(src, buf[:4]); err != nil {
		return nil, fmt.Errorf("%w: reading sizeof_hdr: %v", ErrFormat, err)
	}
	version, bo, err := detectHeader(buf[:4])
	if err != nil {
		return nil, err
	}
	n := sizeofHdr1
	if version == 2 {
		n = sizeofHdr2
	}
	if _, err := io.ReadFull(src, buf[4:n]); err != nil {
		return nil, fmt.Errorf("%w: header truncated: %v", ErrFormat, err)
	}
	var h *Header
	if version == 1 {
		h, err = parseHeader1(buf[:n], bo)
	} else {
		h, err = parseHeader2(buf[:n], bo)
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := h.shape(); err != nil {
		return nil, err
	}
	if _, _, ok := dtypeInfo(h.Datatype); !ok {
		return nil, fmt.Errorf("%w: unsupported datatype %s", ErrFormat, unsupportedDtypeName(h.Datatype))
	}
	if _, _, err := h.Scaling(); err != nil {
		return nil, err
	}
	return h, nil
}

// hdrSize is the size of the fixed header for h's version.
func (h *Header) hdrSize() int64 {
	if h.Version == 2 {
		return sizeofHdr2
	}
	return sizeofHdr1
}

// readBody skips the extensions up to vox_offset and decodes the voxel data. src is positioned
// just after the fixed header; known is the total stream size or -1.
func readBody(src io.Reader, h *Header, known int64) (*Volume, error) {
	if h.VoxOffset == 0 {
		// Some writers leave vox_offset 0 in single files; like nibabel, take the first
		// valid position (header plus the 4-byte extension flag, 16-aligned).
		h.VoxOffset = (h.hdrSize() + 4 + 15) &^ 15
	}
	if h.VoxOffset < h.hdrSize() {
		return nil, fmt.Errorf("%w: vox_offset %d lies inside the %d-byte header", ErrFormat, h.VoxOffset, h.hdrSize())
	}
	skip := h.VoxOffset - h.hdrSize()
	if known >= 0 && h.VoxOffset > known {
		return nil, fmt.Errorf("%w: vox_offset %d is beyond the end of the %d-byte file", ErrFormat, h.VoxOffset, known)
	}
	if n, err := io.CopyN(io.Discard, src, skip); err != nil {
		return nil, fmt.Errorf("%w: file ends inside the extensions (%d of %d bytes before vox_offset): %v", ErrFormat, n, skip, err)
	}
	avail := int64(-1)
	if known >= 0 {
		avail = known - h.VoxOffset
	}
	return decode(src, h, avail)
}

// readPair reads the .img (or .img.gz) that belongs to a two-file .hdr header.
func readPair(hdrPath string, h *Header) (*Volume, error) {
	base, gz := strings.TrimSuffix(hdrPath, ".gz"), strings.HasSuffix(hdrPath, ".gz")
	if !strings.HasSuffix(strings.ToLower(base), ".hdr") {
		return nil, fmt.Errorf("%w: two-file NIfTI header (magic %q) in a file not named .hdr", ErrFormat, h.Magic)
	}
	img := base[:len(base)-4] + ".img"
	if gz {
		img += ".gz"
	}
	f, src, known, err := openStream(img)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if known >= 0 && h.VoxOffset > known {
		return nil, fmt.Errorf("%w: vox_offset %d is beyond the end of the %d-byte image file", ErrFormat, h.VoxOffset, known)
	}
	if n, err := io.CopyN(io.Discard, src, h.VoxOffset); err != nil {
		return nil, fmt.Errorf("%w: image file ends at %d before vox_offset %d: %v", ErrFormat, n, h.VoxOffset, err)
	}
	avail := int64(-1)
	if known >= 0 {
		avail = known - h.VoxOffset
	}
	return decode(src, h, avail)
}

// decode reads nvox elements from src. avail is the number of bytes known to be present, or
// -1 for a stream of unknown length (gzip): then memory grows only as data actually arrives.
func decode(src io.Reader, h *Header, avail int64) (*Volume, error) {
	dims, nvox, err := h.shape()
	if err != nil {
		return nil, err
	}
	if nvox > MaxVoxels {
		return nil, fmt.Errorf("%w: %d voxels exceed the limit of %d", ErrFormat, nvox, MaxVoxels)
	}
	esize, _, ok := dtypeInfo(h.Datatype)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported datatype %s", ErrFormat, unsupportedDtypeName(h.Datatype))
	}
	need := nvox * int64(esize)
	if avail >= 0 && avail < need {
		return nil, fmt.Errorf("%w: header declares %d data bytes (%v, %s) but only %d follow vox_offset", ErrFormat, need, dims, dtypeName(h.Datatype), avail)
	}
	slope, inter, err := h.Scaling()
	if err != nil {
		return nil, err
	}
	var data []float32
	if avail >= 0 {
		data = make([]float32, 0, nvox)
	} else {
		data = make([]float32, 0, min(nvox, 1<<16)) // grows only as data arrives
	}
	const chunkElems = 1 << 16
	buf := make([]byte, min(nvox, chunkElems)*int64(esize))
	conv := converter(h.Datatype, h.ByteOrder)
	scale := slope != 1 || inter != 0
	for remaining := nvox; remaining > 0; {
		n := min(remaining, chunkElems)
		b := buf[:n*int64(esize)]
		if nr, err := io.ReadFull(src, b); err != nil {
			got := (nvox-remaining)*int64(esize) + int64(nr)
			return nil, fmt.Errorf("%w: voxel data truncated: header declares %d bytes, stream ended after %d: %v", ErrFormat, need, got, err)
		}
		for off := 0; off < len(b); off += esize {
			x := conv(b[off:])
			if scale {
				x = slope*x + inter
			}
			data = append(data, float32(x))
		}
		remaining -= n
	}
	v := &Volume{Header: *h, Dims: dims, Data: data}
	v.Spacing = make([]float64, len(dims))
	for i := range dims {
		v.Spacing[i] = math.Abs(h.Pixdim[i+1])
	}
	if v.Affine, err = h.Affine(); err != nil {
		return nil, err
	}
	v.Orientation = Orientation(v.Affine)
	return v, nil
}

func dtypeName(code int) string {
	if _, n, ok := dtypeInfo(code); ok {
		return n
	}
	return unsupportedDtypeName(code)
}

// converter returns a function decoding one element of the given datatype to float64.
func converter(dt int, bo binary.ByteOrder) func([]byte) float64 {
	switch dt {
	case DTUint8:
		return func(b []byte) float64 { return float64(b[0]) }
	case DTInt8:
		return func(b []byte) float64 { return float64(int8(b[0])) }
	case DTInt16:
		return func(b []byte) float64 { return float64(int16(bo.Uint16(b))) }
	case DTUint16:
		return func(b []byte) float64 { return float64(bo.Uint16(b)) }
	case DTInt32:
		return func(b []byte) float64 { return float64(int32(bo.Uint32(b))) }
	case DTUint32:
		return func(b []byte) float64 { return float64(bo.Uint32(b)) }
	case DTFloat32:
		return func(b []byte) float64 { return float64(math.Float32frombits(bo.Uint32(b))) }
	case DTInt64:
		return func(b []byte) float64 { return float64(int64(bo.Uint64(b))) }
	case DTUint64:
		return func(b []byte) float64 { return float64(bo.Uint64(b)) }
	case DTFloat64:
		return func(b []byte) float64 { return math.Float64frombits(bo.Uint64(b)) }
	}
	return nil
}
