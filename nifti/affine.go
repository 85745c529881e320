package nifti

import (
	"fmt"
	"math"
)

// Affine returns the voxel-to-world (mm) matrix the way nibabel's get_best_affine does:
// the sform when sform_code > 0, else the qform when qform_code > 0, else a scaling by
// pixdim centred on the volume with x flipped (Analyze convention). The codes, not the
// presence of numbers, decide which fields are valid.
func (h *Header) Affine() ([4][4]float64, error) {
	var a [4][4]float64
	a[3][3] = 1
	switch {
	case h.SformCode > 0:
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				v := h.Srow[r][c]
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return a, fmt.Errorf("%w: srow value %v is not finite", ErrFormat, v)
				}
				a[r][c] = v
			}
		}
		return a, nil
	case h.QformCode > 0:
		return h.qformAffine()
	}
	dims, _, err := h.shape()
	if err != nil {
		return a, err
	}
	for i := 0; i < 3; i++ {
		z := 1.0
		n := 1
		if i < len(dims) {
			z = math.Abs(h.Pixdim[i+1])
			n = dims[i]
		}
		if z == 0 || math.IsNaN(z) || math.IsInf(z, 0) {
			z = 1
		}
		if i == 0 {
			a[0][0] = -z
			a[0][3] = float64(n-1) / 2 * z
		} else {
			a[i][i] = z
			a[i][3] = -float64(n-1) / 2 * z
		}
	}
	return a, nil
}

// qformAffine builds the affine from the quaternion, qfac (pixdim[0]), pixdim and qoffset
// (NIfTI-1 method 2).
func (h *Header) qformAffine() ([4][4]float64, error) {
	var a [4][4]float64
	a[3][3] = 1
	b, c, d := h.Quatern[0], h.Quatern[1], h.Quatern[2]
	vals := []float64{b, c, d, h.Qoffset[0], h.Qoffset[1], h.Qoffset[2], h.Pixdim[0], h.Pixdim[1], h.Pixdim[2], h.Pixdim[3]}
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return a, fmt.Errorf("%w: qform field %v is not finite", ErrFormat, v)
		}
	}
	w2 := 1 - (b*b + c*c + d*d)
	var qa float64
	if w2 < 1e-7 {
		// The quaternion is (nearly) a 180-degree rotation: renormalise b, c, d, a = 0.
		n := math.Sqrt(b*b + c*c + d*d)
		if n == 0 {
			return a, fmt.Errorf("%w: degenerate qform quaternion", ErrFormat)
		}
		b, c, d = b/n, c/n, d/n
	} else {
		qa = math.Sqrt(w2)
	}
	r := [3][3]float64{
		{qa*qa + b*b - c*c - d*d, 2 * (b*c - qa*d), 2 * (b*d + qa*c)},
		{2 * (b*c + qa*d), qa*qa + c*c - b*b - d*d, 2 * (c*d - qa*b)},
		{2 * (b*d - qa*c), 2 * (c*d + qa*b), qa*qa + d*d - c*c - b*b},
	}
	qfac := 1.0
	if h.Pixdim[0] < 0 {
		qfac = -1
	}
	zooms := [3]float64{}
	for i := 0; i < 3; i++ {
		z := math.Abs(h.Pixdim[i+1])
		if z == 0 {
			z = 1
		}
		zooms[i] = z
	}
	zooms[2] *= qfac
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			a[i][j] = r[i][j] * zooms[j]
		}
		a[i][3] = h.Qoffset[i]
	}
	return a, nil
}

// Orientation returns the axis codes of an affine (like nibabel's aff2axcodes): for each voxel
// axis the world direction it points to most, as one of R/L, A/P, S/I, or '?' for an axis
// with no direction. Ties are resolved greedily from the strongest alignment.
func Orientation(a [4][4]float64) string {
	var m [3][3]float64
	for j := 0; j < 3; j++ {
		n := 0.0
		for i := 0; i < 3; i++ {
			n += a[i][j] * a[i][j]
		}
		n = math.Sqrt(n)
		for i := 0; i < 3; i++ {
			if n > 0 {
				m[i][j] = a[i][j] / n
			}
		}
	}
	out := []byte{'?', '?', '?'}
	var rowUsed, colUsed [3]bool
	pos := [3]byte{'R', 'A', 'S'}
	neg := [3]byte{'L', 'P', 'I'}
	for step := 0; step < 3; step++ {
		best, bi, bj := 0.0, -1, -1
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if rowUsed[i] || colUsed[j] {
					continue
				}
				if v := math.Abs(m[i][j]); v > best {
					best, bi, bj = v, i, j
				}
			}
		}
		if bi < 0 {
			break
		}
		rowUsed[bi], colUsed[bj] = true, true
		if m[bi][bj] > 0 {
			out[bj] = pos[bi]
		} else {
			out[bj] = neg[bi]
		}
	}
	return string(out)
}
