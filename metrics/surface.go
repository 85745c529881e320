package metrics

import (
	"errors"
	"fmt"

	"github.com/aisam/aisam/internal/par"
)

// ErrEmptyPred and ErrEmptyGT report that a surface distance is undefined because a mask
// has no foreground voxel (the reference code raises in that case).
var (
	ErrEmptyPred = errors.New("metrics: the prediction mask is empty")
	ErrEmptyGT   = errors.New("metrics: the ground-truth mask is empty")
)

// checkShape validates a shape against a data length and returns the element count.
func checkShape(shape []int, n int) error {
	if len(shape) == 0 {
		return errors.New("metrics: empty shape")
	}
	total := 1
	for _, d := range shape {
		if d <= 0 {
			return fmt.Errorf("metrics: shape %v has a non-positive dimension", shape)
		}
		if total > (1<<62)/d {
			return fmt.Errorf("metrics: shape %v is too large", shape)
		}
		total *= d
	}
	if total != n {
		return fmt.Errorf("metrics: shape %v needs %d elements, got %d", shape, total, n)
	}
	return nil
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = acc
		acc *= shape[k]
	}
	return s
}

// structure returns the offsets (excluding the centre) of scipy's
// generate_binary_structure(ndim, c): every offset in {-1,0,1}^ndim with Σ|o| ≤ c.
func structure(ndim, c int) [][]int {
	var out [][]int
	o := make([]int, ndim)
	var rec func(k, l1 int)
	rec = func(k, l1 int) {
		if k == ndim {
			if l1 > 0 {
				out = append(out, append([]int(nil), o...))
			}
			return
		}
		for _, v := range []int{-1, 0, 1} {
			a := l1
			if v != 0 {
				a++
			}
			if a > c {
				continue
			}
			o[k] = v
			rec(k+1, a)
		}
		o[k] = 0
	}
	rec(0, 0)
	return out
}

// Surface returns mask XOR erosion(mask) with the connectivity-c structuring element
// (1: face neighbours; up to len(shape): all neighbours), positions outside the array
// counting as background.
func Surface(mask []bool, shape []int, connectivity int) ([]bool, error) {
	if err := checkShape(shape, len(mask)); err != nil {
		return nil, err
	}
	if connectivity < 1 || connectivity > len(shape) {
		return nil, fmt.Errorf("metrics: connectivity %d outside 1..%d", connectivity, len(shape))
	}
	return surface(mask, shape, connectivity), nil
}

func surface(mask []bool, shape []int, c int) []bool {
	if c == 1 {
		return surfaceFace(mask, shape)
	}
	nd := len(shape)
	st := strides(shape)
	offs := structure(nd, c)
	lin := make([]int, len(offs))
	for i, o := range offs {
		for k := range nd {
			lin[i] += o[k] * st[k]
		}
	}
	out := make([]bool, len(mask))
	coord := make([]int, nd)
	last := nd - 1
	for idx := range mask {
		if mask[idx] {
			interior := true
			for i, o := range offs {
				inside := true
				for k := range nd {
					v := coord[k] + o[k]
					if v < 0 || v >= shape[k] {
						inside = false
						break
					}
				}
				if !inside || !mask[idx+lin[i]] {
					interior = false
					break
				}
			}
			out[idx] = !interior
		}
		// advance the coordinate counter
		for k := last; k >= 0; k-- {
			coord[k]++
			if coord[k] < shape[k] {
				break
			}
			coord[k] = 0
		}
	}
	return out
}

// surfaceFace is surface for connectivity 1, row by row and in parallel: a voxel is
// interior iff both its row neighbours and its neighbours along every other axis exist
// and are set.
func surfaceFace(mask []bool, shape []int) []bool {
	nd := len(shape)
	st := strides(shape)
	w := shape[nd-1]
	rows := len(mask) / w
	out := make([]bool, len(mask))
	par.For(rows, max(1, 8192/w), func(lo, hi int) {
		nb := make([]int, 0, 2*nd) // row offsets of the neighbour rows
		for r := lo; r < hi; r++ {
			off := r * w
			nb = nb[:0]
			border := false
			rr := r
			for k := nd - 2; k >= 0; k-- {
				ck := rr % shape[k]
				rr /= shape[k]
				if ck == 0 || ck == shape[k]-1 {
					border = true
				} else {
					nb = append(nb, off-st[k], off+st[k])
				}
			}
			row := mask[off : off+w]
			orow := out[off : off+w]
			if border {
				copy(orow, row) // every voxel of a border row is surface
				continue
			}
			for x, v := range row {
				if !v {
					continue
				}
				interior := x > 0 && x < w-1 && row[x-1] && row[x+1]
				for _, o := range nb {
					if !interior {
						break
					}
					interior = mask[o+x]
				}
				orow[x] = !interior
			}
		}
	})
	return out
}
