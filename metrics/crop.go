package metrics

import (
	"math"

	"github.com/aisam/aisam/internal/par"
)

// boxPair is a mask pair cropped to the bounding box of their union. Cropping changes no
// distance and no surface: every voxel outside the box is background in both masks.
type boxPair struct {
	shape      []int  // box shape (nil when both masks are empty)
	a, b       []bool // cropped masks (a = prediction, b = ground truth)
	na, nb, ni int    // foreground counts and intersection over the whole arrays
}

// cropPair scans two label arrays for value v (one pass, row by row) and crops the masks
// pred == v, gt == v to the bounding box of their union.
func cropPair[T comparable](pred, gt []T, v T, shape []int) *boxPair {
	nd := len(shape)
	w := shape[nd-1]
	rows := len(pred) / w
	type part struct {
		lo, hi     []int
		na, nb, ni int
	}
	chunk := max(1, (1<<16)/w)
	parts := make([]part, (rows+chunk-1)/chunk)
	par.ForEach(len(parts), func(pi int) {
		pt := &parts[pi]
		pt.lo, pt.hi = make([]int, nd), make([]int, nd)
		for k := range nd {
			pt.lo[k], pt.hi[k] = math.MaxInt, -1
		}
		coord := make([]int, nd)
		for r := pi * chunk; r < min(rows, (pi+1)*chunk); r++ {
			off := r * w
			first, last := -1, -1
			pr, gr := pred[off:off+w], gt[off:off+w]
			for x := range w {
				pa, ga := pr[x] == v, gr[x] == v
				if pa || ga {
					if first < 0 {
						first = x
					}
					last = x
					if pa {
						pt.na++
						if ga {
							pt.ni++
						}
					}
					if ga {
						pt.nb++
					}
				}
			}
			if first < 0 {
				continue
			}
			rr := r
			for k := nd - 2; k >= 0; k-- {
				coord[k] = rr % shape[k]
				rr /= shape[k]
			}
			for k := 0; k < nd-1; k++ {
				pt.lo[k] = min(pt.lo[k], coord[k])
				pt.hi[k] = max(pt.hi[k], coord[k])
			}
			pt.lo[nd-1] = min(pt.lo[nd-1], first)
			pt.hi[nd-1] = max(pt.hi[nd-1], last)
		}
	})
	bp := &boxPair{}
	lo := make([]int, nd)
	hi := make([]int, nd)
	for k := range nd {
		lo[k], hi[k] = math.MaxInt, -1
	}
	for _, pt := range parts {
		bp.na += pt.na
		bp.nb += pt.nb
		bp.ni += pt.ni
		for k := range nd {
			lo[k] = min(lo[k], pt.lo[k])
			hi[k] = max(hi[k], pt.hi[k])
		}
	}
	if bp.na+bp.nb == 0 {
		return bp
	}
	cropInto(bp, pred, gt, v, shape, lo, hi)
	return bp
}

// crop fills the box masks from the bounding box [lo, hi] (inclusive) of the union.
func cropInto[T comparable](bp *boxPair, pred, gt []T, v T, shape, lo, hi []int) {
	nd := len(shape)
	bs := make([]int, nd)
	total := 1
	for k := range nd {
		bs[k] = hi[k] - lo[k] + 1
		total *= bs[k]
	}
	bp.shape = bs
	bp.a = make([]bool, total)
	bp.b = make([]bool, total)
	st := strides(shape)
	bw := bs[nd-1]
	brows := total / bw
	par.For(brows, max(1, 16384/bw), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			rr := r
			src := lo[nd-1]
			for k := nd - 2; k >= 0; k-- {
				src += (lo[k] + rr%bs[k]) * st[k]
				rr /= bs[k]
			}
			dst := r * bw
			pa, ga := bp.a[dst:dst+bw], bp.b[dst:dst+bw]
			for x, p := range pred[src : src+bw] {
				pa[x] = p == v
			}
			for x, g := range gt[src : src+bw] {
				ga[x] = g == v
			}
		}
	})
}

// distances computes both directed surface-distance lists of the cropped pair.
func (bp *boxPair) distances(sp []float64, c int) (*Distances, error) {
	if bp.na == 0 {
		return nil, ErrEmptyPred
	}
	if bp.nb == 0 {
		return nil, ErrEmptyGT
	}
	sa := surface(bp.a, bp.shape, c)
	sb := surface(bp.b, bp.shape, c)
	d := &Distances{}
	var ok1, ok2 bool
	d.PredToGT, ok1 = sampleDistancesPlanes(sb, sa, bp.shape, sp)
	d.GTToPred, ok2 = sampleDistancesPlanes(sa, sb, bp.shape, sp)
	if !ok1 || !ok2 {
		edt := make([]float64, len(sa))
		d.PredToGT = sampleDistances(sb, sa, bp.shape, sp, edt)
		d.GTToPred = sampleDistances(sa, sb, bp.shape, sp, edt)
	}
	return d, nil
}

// sampleDistances returns the distance to the nearest voxel of target at every voxel of
// at, in raster order; buf is scratch space of the box size.
func sampleDistances(target, at []bool, shape []int, sp []float64, buf []float64) []float64 {
	nd := len(shape)
	if nd > 1 {
		sqEDTAxes(target, shape, sp, buf, nd-1)
		return sampleSqrtLastAxis(buf, at, shape[nd-1], sp[nd-1])
	}
	sqEDT(target, shape, sp, buf)
	var out []float64
	for i, s := range at {
		if s {
			out = append(out, math.Sqrt(buf[i]))
		}
	}
	return out
}
