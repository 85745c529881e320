package nifti

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/aisam/aisam/internal/fileio"
)

// WriteLabels writes a label volume atomically (temp file + rename) as little-endian
// NIfTI-1 with intent LABEL, gzip-compressed when path ends in ".gz". labels is []uint8
// (datatype UINT8) or []int16 (INT16), x fastest; the affine is stored as the sform (code 2,
// aligned) and, when it is a rotation times a scaling, also as the qform.
func WriteLabels(path string, dims []int, spacing []float64, affine [4][4]float64, labels any) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error {
		if !strings.HasSuffix(strings.ToLower(path), ".gz") {
			return EncodeLabels(w, dims, spacing, affine, labels)
		}
		zw, _ := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err := EncodeLabels(zw, dims, spacing, affine, labels); err != nil {
			return err
		}
		return zw.Close()
	})
}

// EncodeLabels writes an uncompressed single-file NIfTI-1 label volume to w; see WriteLabels.
func EncodeLabels(w io.Writer, dims []int, spacing []float64, affine [4][4]float64, labels any) error {
	if len(dims) < 1 || len(dims) > 7 {
		return fmt.Errorf("%w: rank %d, want 1..7", ErrFormat, len(dims))
	}
	if len(spacing) != len(dims) {
		return fmt.Errorf("%w: %d spacings for %d dims", ErrFormat, len(spacing), len(dims))
	}
	n := 1
	for i, d := range dims {
		if d < 1 || d > math.MaxInt16 {
			return fmt.Errorf("%w: dim %d = %d, NIfTI-1 allows 1..32767", ErrFormat, i, d)
		}
		if n > math.MaxInt/d {
			return fmt.Errorf("%w: dims %v overflow", ErrFormat, dims)
		}
		n *= d
	}
	for _, s := range spacing {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: spacing %v must be positive and finite", ErrFormat, spacing)
		}
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			if math.IsNaN(affine[r][c]) || math.IsInf(affine[r][c], 0) {
				return fmt.Errorf("%w: affine has a non-finite entry", ErrFormat)
			}
		}
	}
	var dt, bitpix int
	var body []byte
	switch l := labels.(type) {
	case []uint8:
		if len(l) != n {
			return fmt.Errorf("%w: %d labels for dims %v (%d voxels)", ErrFormat, len(l), dims, n)
		}
		dt, bitpix, body = DTUint8, 8, l
	case []int16:
		if len(l) != n {
			return fmt.Errorf("%w: %d labels for dims %v (%d voxels)", ErrFormat, len(l), dims, n)
		}
		dt, bitpix = DTInt16, 16
		body = make([]byte, 2*n)
		for i, v := range l {
			binary.LittleEndian.PutUint16(body[2*i:], uint16(v))
		}
	default:
		return fmt.Errorf("%w: labels must be []uint8 or []int16, not %T", ErrFormat, labels)
	}
	h := make([]byte, 352) // header plus the 4-byte "no extensions" flag
	le := binary.LittleEndian
	put16 := func(off, v int) { le.PutUint16(h[off:], uint16(int16(v))) }
	putf := func(off int, v float64) { le.PutUint32(h[off:], math.Float32bits(float32(v))) }
	le.PutUint32(h[0:], sizeofHdr1)
	h[38] = 'r' // "regular", as nibabel writes
	put16(40, len(dims))
	for i := 1; i < 8; i++ {
		d := 1
		if i <= len(dims) {
			d = dims[i-1]
		}
		put16(40+2*i, d)
	}
	put16(68, IntentLabel)
	put16(70, dt)
	put16(72, bitpix)
	quat, qoff, qfac, qok := affineToQuatern(affine)
	// The qform takes its scalings from pixdim, so it is only valid when those agree
	// with the affine's column lengths.
	for j := 0; j < 3 && j < len(spacing) && qok; j++ {
		n := math.Sqrt(affine[0][j]*affine[0][j] + affine[1][j]*affine[1][j] + affine[2][j]*affine[2][j])
		if math.Abs(n-spacing[j]) > 1e-5*spacing[j] {
			qok = false
		}
	}
	if !qok {
		quat, qfac = [3]float64{}, 1
	}
	putf(76, qfac)
	for i := 1; i < 8; i++ {
		s := 1.0
		if i <= len(spacing) {
			s = spacing[i-1]
		}
		putf(76+4*i, s)
	}
	putf(108, 352)
	putf(112, 1)
	putf(116, 0)
	h[123] = 2 // xyzt_units: mm
	copy(h[148:228], "aisam labels")
	if qok {
		put16(252, 2)
	}
	put16(254, 2)
	for i := 0; i < 3; i++ {
		putf(256+4*i, quat[i])
		putf(268+4*i, qoff[i])
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			putf(280+16*r+4*c, affine[r][c])
		}
	}
	copy(h[344:348], "n+1\x00")
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// affineToQuatern decomposes the 3x3 part of a into a rotation, scalings and qfac (NIfTI-1
// method 2). ok is false when the columns are not orthogonal, so no qform can represent it.
func affineToQuatern(a [4][4]float64) (bcd, off [3]float64, qfac float64, ok bool) {
	var r [3][3]float64
	for j := 0; j < 3; j++ {
		n := math.Sqrt(a[0][j]*a[0][j] + a[1][j]*a[1][j] + a[2][j]*a[2][j])
		if n == 0 {
			return bcd, off, 1, false
		}
		for i := 0; i < 3; i++ {
			r[i][j] = a[i][j] / n
		}
	}
	for i := 0; i < 3; i++ {
		off[i] = a[i][3]
	}
	for p := 0; p < 3; p++ {
		for q := p + 1; q < 3; q++ {
			dot := r[0][p]*r[0][q] + r[1][p]*r[1][q] + r[2][p]*r[2][q]
			if math.Abs(dot) > 1e-5 {
				return bcd, off, 1, false
			}
		}
	}
	det := r[0][0]*(r[1][1]*r[2][2]-r[1][2]*r[2][1]) - r[0][1]*(r[1][0]*r[2][2]-r[1][2]*r[2][0]) + r[0][2]*(r[1][0]*r[2][1]-r[1][1]*r[2][0])
	qfac = 1
	if det < 0 {
		qfac = -1
		for i := 0; i < 3; i++ {
			r[i][2] = -r[i][2]
		}
	}
	// Shepperd's method: pick the numerically largest of a, b, c, d first.
	var qa, b, c, d float64
	tr := r[0][0] + r[1][1] + r[2][2]
	switch {
	case tr > 0:
		s := 2 * math.Sqrt(tr+1)
		qa = s / 4
		b = (r[2][1] - r[1][2]) / s
		c = (r[0][2] - r[2][0]) / s
		d = (r[1][0] - r[0][1]) / s
	case r[0][0] > r[1][1] && r[0][0] > r[2][2]:
		s := 2 * math.Sqrt(1+r[0][0]-r[1][1]-r[2][2])
		qa = (r[2][1] - r[1][2]) / s
		b = s / 4
		c = (r[0][1] + r[1][0]) / s
		d = (r[0][2] + r[2][0]) / s
	case r[1][1] > r[2][2]:
		s := 2 * math.Sqrt(1+r[1][1]-r[0][0]-r[2][2])
		qa = (r[0][2] - r[2][0]) / s
		b = (r[0][1] + r[1][0]) / s
		c = s / 4
		d = (r[1][2] + r[2][1]) / s
	default:
		s := 2 * math.Sqrt(1+r[2][2]-r[0][0]-r[1][1])
		qa = (r[1][0] - r[0][1]) / s
		b = (r[0][2] + r[2][0]) / s
		c = (r[1][2] + r[2][1]) / s
		d = s / 4
	}
	if qa < 0 {
		b, c, d = -b, -c, -d
	}
	return [3]float64{b, c, d}, off, qfac, true
}
