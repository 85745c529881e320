package tensor

import (
	"fmt"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
)

// normAxis turns a possibly negative axis into an index for rank r.
func normAxis(op string, axis, r int) int {
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for rank %d", op, axis, r))
	}
	return axis
}

// split3 views shape as [outer, shape[axis], inner].
func split3(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

func reducedShape(shape []int, axis int, keepdim bool) []int {
	out := append([]int(nil), shape[:axis]...)
	if keepdim {
		out = append(out, 1)
	}
	return append(out, shape[axis+1:]...)
}

type redOp int

const (
	redSum redOp = iota
	redMean
	redMax
)

// reduce sums, averages or takes the max over one axis; sums accumulate in float64.
func reduce(op string, kind redOp, a *Tensor, axis int, keepdim bool) *Tensor {
	axis = normAxis(op, axis, len(a.shape))
	outer, n, inner := split3(a.shape, axis)
	out := New(reducedShape(a.shape, axis, keepdim)...)
	if kind == redMax && n == 0 {
		panic(fmt.Sprintf("tensor.%s: empty axis %d of %v", op, axis, a.shape))
	}
	if len(out.Data) == 0 {
		return out
	}
	// Tasks are (outer index, band of up to colBand inner columns), so that a reduction
	// over a leading axis (outer == 1) still spreads over the workers.
	const colBand = 512
	bands := (inner + colBand - 1) / colBand
	work := max(1, n*min(inner, colBand))
	par.For(outer*bands, max(1, elemGrain/work), func(lo, hi int) {
		acc := make([]float64, min(inner, colBand))
		for t := lo; t < hi; t++ {
			o, c0 := t/bands, (t%bands)*colBand
			c1 := min(c0+colBand, inner)
			src := a.Data[o*n*inner : (o+1)*n*inner]
			dst := out.Data[o*inner+c0 : o*inner+c1]
			if inner == 1 {
				switch kind {
				case redMax:
					dst[0] = vec.Max(src)
				case redSum:
					dst[0] = float32(vec.Sum(src))
				default:
					dst[0] = float32(vec.Sum(src) / float64(n))
				}
				continue
			}
			if kind == redMax {
				copy(dst, src[c0:c1])
				for j := 1; j < n; j++ {
					row := src[j*inner+c0 : j*inner+c1]
					for i, v := range row {
						// NaN wins, as in torch.max.
						if v > dst[i] || v != v {
							dst[i] = v
						}
					}
				}
				continue
			}
			acc := acc[:c1-c0]
			clear(acc)
			for j := range n {
				row := src[j*inner+c0 : j*inner+c1]
				for i, v := range row {
					acc[i] += float64(v)
				}
			}
			for i, s := range acc {
				if kind == redMean {
					s /= float64(n)
				}
				dst[i] = float32(s)
			}
		}
	})
	return out
}

func argMax(a *Tensor) []int {
	if len(a.shape) == 0 {
		return []int{0}
	}
	n := a.shape[len(a.shape)-1]
	if n == 0 {
		panic(fmt.Sprintf("tensor.ArgMax: empty last axis in %v", a.shape))
	}
	rows := len(a.Data) / n
	out := make([]int, rows)
	for r := range rows {
		row := a.Data[r*n : (r+1)*n]
		best, bi := row[0], 0
		for i, v := range row[1:] {
			if v > best || (v != v && best == best) {
				best, bi = v, i+1
			}
		}
		out[r] = bi
	}
	return out
}

func sumAll(a *Tensor) float64 {
	// Chunks are fixed by the length, not the worker count, so the result is the same
	// on any number of threads.
	chunk := 1 << 16
	nChunks := (len(a.Data) + chunk - 1) / chunk
	sums := make([]float64, nChunks)
	par.ForEach(nChunks, func(c int) {
		sums[c] = vec.Sum(a.Data[c*chunk : min((c+1)*chunk, len(a.Data))])
	})
	var s float64
	for _, v := range sums {
		s += v
	}
	return s
}
