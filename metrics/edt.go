package metrics

import (
	"math"

	"github.com/aisam/aisam/internal/par"
)

// SquaredDistanceTransform returns, for every voxel, the squared Euclidean distance (in
// the units of spacing; nil = unit) to the nearest true voxel of features, +Inf when
// features is empty. It is exact: the squares of the per-axis offsets are added in axis
// order, as scipy's distance_transform_edt does, using one linear-time pass per axis.
func SquaredDistanceTransform(features []bool, shape []int, spacing []float64) ([]float64, error) {
	if err := checkShape(shape, len(features)); err != nil {
		return nil, err
	}
	sp, err := normSpacing(spacing, len(shape))
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(features))
	sqEDT(features, shape, sp, out)
	return out, nil
}

// sqEDT writes the squared distance transform of feat into out (same length).
func sqEDT(feat []bool, shape []int, sp []float64, out []float64) {
	nd := len(shape)
	n0 := shape[0]
	plane := len(feat) / n0
	s0 := sp[0]
	inf := math.Inf(1)
	// Axis 0: nearest feature along each axis-0 line, scanning whole planes so that
	// memory is read in order.
	par.For(plane, 4096, func(lo, hi int) {
		last := make([]int32, hi-lo)
		for j := range last {
			last[j] = -1
		}
		for z := range n0 {
			row := z * plane
			for j := lo; j < hi; j++ {
				if feat[row+j] {
					last[j-lo] = int32(z)
				}
				if q := last[j-lo]; q >= 0 {
					t := float64(z-int(q)) * s0
					out[row+j] = float64(t * t)
				} else {
					out[row+j] = inf
				}
			}
		}
		for j := range last {
			last[j] = -1
		}
		for z := n0 - 1; z >= 0; z-- {
			row := z * plane
			for j := lo; j < hi; j++ {
				if feat[row+j] {
					last[j-lo] = int32(z)
				}
				if q := last[j-lo]; q >= 0 {
					t := float64(int(q)-z) * s0
					if v := float64(t * t); v < out[row+j] {
						out[row+j] = v
					}
				}
			}
		}
	})
	st := strides(shape)
	for k := 1; k < nd; k++ {
		passFH(out, shape[k], st[k], sp[k])
	}
}

// passFH replaces every line of g along one axis (length n, element stride stride) by
// its 1-D lower envelope transform min_q g[q] + (s·(p−q))² (Felzenszwalb–Huttenlocher).
func passFH(g []float64, n, stride int, s float64) {
	lines := len(g) / n
	grain := max(1, 16384/n)
	par.For(lines, grain, func(lo, hi int) {
		f := make([]float64, n)
		v := make([]int, n)
		z := make([]float64, n+1)
		s2 := s * s
		for l := lo; l < hi; l++ {
			outer, inner := l/stride, l%stride
			base := outer*n*stride + inner
			finite := false
			for q := range n {
				f[q] = g[base+q*stride]
				if f[q] != math.Inf(1) {
					finite = true
				}
			}
			if !finite {
				continue // the line stays +Inf
			}
			envelope1D(f, v, z, s, s2)
			k := 0
			for p := range n {
				for z[k+1] < float64(p) {
					k++
				}
				q := v[k]
				t := float64(p-q) * s
				g[base+p*stride] = f[q] + float64(t*t)
			}
		}
	})
}

// envelope1D computes the lower envelope of the parabolas f[q] + s²(x−q)² of the finite
// f[q]: v holds the parabolas in order, z the boundaries (z[0] = −Inf, z[k+1] = +Inf).
func envelope1D(f []float64, v []int, z []float64, s, s2 float64) {
	inf := math.Inf(1)
	k := -1
	for q := range f {
		if f[q] == inf {
			continue
		}
		fq := f[q] + s2*float64(q)*float64(q)
		for k >= 0 {
			r := v[k]
			fr := f[r] + s2*float64(r)*float64(r)
			x := (fq - fr) / (2 * s2 * float64(q-r))
			if x <= z[k] {
				k--
				continue
			}
			k++
			v[k] = q
			z[k] = x
			z[k+1] = inf
			break
		}
		if k < 0 {
			k = 0
			v[0] = q
			z[0] = math.Inf(-1)
			z[1] = inf
		}
	}
}
