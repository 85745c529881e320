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
	sqEDTAxes(feat, shape, sp, out, len(shape))
}

// sqEDTAxes runs the passes of axes 0..upto-1 only.
func sqEDTAxes(feat []bool, shape []int, sp []float64, out []float64, upto int) {
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
	for k := 1; k < upto; k++ {
		passFH(out, shape[k], st[k], sp[k])
	}
}

// passFH replaces every line of g along one axis (length n, element stride stride) by
// its 1-D lower envelope transform min_q g[q] + (s·(p−q))² (Felzenszwalb–Huttenlocher).
// Strided lines are processed in blocks of adjacent lines, so that memory is read and
// written in runs of contiguous elements rather than one element per cache line.
func passFH(g []float64, n, stride int, s float64) {
	const block = 16
	bw := min(block, stride)
	nblk := (stride + bw - 1) / bw
	units := len(g) / (n * stride) * nblk
	grain := max(1, 16384/(n*bw))
	par.For(units, grain, func(lo, hi int) {
		buf := make([]float64, bw*n) // line j at buf[j*n:(j+1)*n]
		fq := make([]float64, n)
		v := make([]int, n)
		z := make([]float64, n+1)
		s2 := s * s
		for u := lo; u < hi; u++ {
			outer, b := u/nblk, u%nblk
			in0 := b * bw
			w := min(bw, stride-in0)
			base := outer*n*stride + in0
			for q := range n {
				row := g[base+q*stride : base+q*stride+w]
				for j, x := range row {
					buf[j*n+q] = x
				}
			}
			for j := range w {
				f := buf[j*n : (j+1)*n]
				if envelope1D(f, fq, v, z, s2) < 0 {
					continue // no finite value: the line stays +Inf
				}
				// Evaluate into fq (free now) so that f stays intact while reading it.
				k := 0
				for p := range n {
					for z[k+1] < float64(p) {
						k++
					}
					q := v[k]
					t := float64(p-q) * s
					fq[p] = f[q] + float64(t*t)
				}
				copy(f, fq)
			}
			for q := range n {
				row := g[base+q*stride : base+q*stride+w]
				for j := range row {
					row[j] = buf[j*n+q]
				}
			}
		}
	})
}

// envelope1D computes the lower envelope of the parabolas f[q] + s²(x−q)² of the finite
// f[q]: v holds the parabolas in order, z the boundaries (z[0] = −Inf, z[k+1] = +Inf).
// fq is scratch space. Only the choice of parabola depends on these intersections;
// the values are evaluated exactly afterwards.
func envelope1D(f, fq []float64, v []int, z []float64, s2 float64) int {
	inf := math.Inf(1)
	k := -1
	for q := range f {
		if f[q] == inf {
			continue
		}
		fq[q] = f[q] + s2*float64(q)*float64(q)
		for k >= 0 {
			// The intersection with parabola r is num/den (den > 0); comparing
			// num <= z[k]·den instead pops without a division.
			r := v[k]
			num := fq[q] - fq[r]
			den := 2 * s2 * float64(q-r)
			if num <= z[k]*den {
				k--
				continue
			}
			k++
			v[k] = q
			z[k] = num / den
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
	return k
}

// sampleSqrtLastAxis finishes a transform whose passes over all axes but the last are
// in g: it runs the last axis (contiguous rows of length w) only on rows holding a voxel
// of at, and returns the square roots at the voxels of at, in raster order.
func sampleSqrtLastAxis(g []float64, at []bool, w int, s float64) []float64 {
	rows := len(g) / w
	start := rowStarts(at, rows, w)
	res := make([]float64, start[rows])
	par.For(rows, max(1, 16384/w), func(lo, hi int) {
		fq := make([]float64, w)
		v := make([]int, w)
		z := make([]float64, w+1)
		s2 := s * s
		for r := lo; r < hi; r++ {
			if start[r+1] == start[r] {
				continue
			}
			f := g[r*w : (r+1)*w]
			o := start[r]
			if envelope1D(f, fq, v, z, s2) < 0 {
				for range start[r+1] - start[r] {
					res[o] = math.Inf(1)
					o++
				}
				continue
			}
			k := 0
			for p, b := range at[r*w : (r+1)*w] {
				if !b {
					continue
				}
				for z[k+1] < float64(p) {
					k++
				}
				q := v[k]
				t := float64(p-q) * s
				res[o] = math.Sqrt(f[q] + float64(t*t))
				o++
			}
		}
	})
	return res
}

// rowStarts returns, for each of the rows of length w of at, the number of true values
// in the rows before it (rows+1 entries): where each row's results start in a raster-
// order output.
func rowStarts(at []bool, rows, w int) []int {
	start := make([]int, rows+1)
	par.For(rows, max(1, 16384/w), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n := 0
			for _, b := range at[r*w : (r+1)*w] {
				if b {
					n++
				}
			}
			start[r+1] = n
		}
	})
	for r := range rows {
		start[r+1] += start[r]
	}
	return start
}
