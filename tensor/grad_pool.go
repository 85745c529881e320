package tensor

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/internal/par"
)

// Backward kernels for pooling and resizing on NCHW maps.

// AvgPool2dBackward returns the gradient of AvgPool2d(x, kernel, stride, pad) with
// count_include_pad=False for an input of shape inShape given the upstream g.
func AvgPool2dBackward(inShape []int, g *Tensor, kernel, stride, pad int) *Tensor {
	if len(inShape) != 4 || g.Rank() != 4 || g.Dim(0) != inShape[0] || g.Dim(1) != inShape[1] {
		panic(fmt.Sprintf("tensor.AvgPool2dBackward: input %v, gradient %v", inShape, g.Shape()))
	}
	h, w := inShape[2], inShape[3]
	ho, wo := g.Dim(2), g.Dim(3)
	if ho != (h+2*pad-kernel)/stride+1 || wo != (w+2*pad-kernel)/stride+1 {
		panic(fmt.Sprintf("tensor.AvgPool2dBackward: gradient %v for input %v, kernel %d, stride %d, pad %d", g.Shape(), inShape, kernel, stride, pad))
	}
	out := New(inShape...)
	planes := inShape[0] * inShape[1]
	par.For(planes, 1, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := out.Data[pl*h*w : (pl+1)*h*w]
			src := g.Data[pl*ho*wo : (pl+1)*ho*wo]
			for oy := 0; oy < ho; oy++ {
				y0 := max(oy*stride-pad, 0)
				y1 := min(oy*stride-pad+kernel, h)
				for ox := 0; ox < wo; ox++ {
					x0 := max(ox*stride-pad, 0)
					x1 := min(ox*stride-pad+kernel, w)
					cnt := (y1 - y0) * (x1 - x0)
					if cnt <= 0 {
						continue
					}
					v := src[oy*wo+ox] / float32(cnt)
					for y := y0; y < y1; y++ {
						row := dst[y*w+x0 : y*w+x1]
						for i := range row {
							row[i] += v
						}
					}
				}
			}
		}
	})
	return out
}

// LinearTaps returns, for each of out positions, the two source indices and weights that
// torch's bilinear interpolation (upsample_bilinear2d) uses along one axis of length in:
// the scale in float32, the source coordinate in float64, as torch's CPU kernel computes
// them.
func LinearTaps(in, out int, alignCorners bool) (i0, i1 []int, l0, l1 []float64) {
	i0, i1 = make([]int, out), make([]int, out)
	l0, l1 = make([]float64, out), make([]float64, out)
	var ratio float32
	if alignCorners {
		if out > 1 {
			ratio = float32(in-1) / float32(out-1)
		}
	} else {
		ratio = float32(in) / float32(out)
	}
	for d := 0; d < out; d++ {
		if in == out {
			i0[d], i1[d], l0[d], l1[d] = d, d, 1, 0
			continue
		}
		var src float64
		if alignCorners {
			src = float64(ratio) * float64(d)
		} else {
			src = float64(ratio)*(float64(d)+0.5) - 0.5
			if src < 0 {
				src = 0
			}
		}
		a := min(int(math.Floor(src)), in-1)
		lam := min(max(src-float64(a), 0), 1)
		b := a
		if a < in-1 {
			b = a + 1
		}
		i0[d], i1[d], l0[d], l1[d] = a, b, 1-lam, lam
	}
	return i0, i1, l0, l1
}

// ResizeBilinearBackward returns the gradient of ResizeBilinear(x, outH, outW,
// alignCorners) for x of shape inShape given the upstream g [N, C, outH, outW].
func ResizeBilinearBackward(inShape []int, g *Tensor, alignCorners bool) *Tensor {
	if len(inShape) != 4 || g.Rank() != 4 || g.Dim(0) != inShape[0] || g.Dim(1) != inShape[1] {
		panic(fmt.Sprintf("tensor.ResizeBilinearBackward: input %v, gradient %v", inShape, g.Shape()))
	}
	h, w, ho, wo := inShape[2], inShape[3], g.Dim(2), g.Dim(3)
	y0, y1, ly0, ly1 := LinearTaps(h, ho, alignCorners)
	x0, x1, lx0, lx1 := LinearTaps(w, wo, alignCorners)
	out := New(inShape...)
	planes := inShape[0] * inShape[1]
	par.For(planes, 1, func(lo, hi int) {
		tmp := make([]float64, w) // one output row folded onto the input columns
		acc := make([]float64, h*w)
		for pl := lo; pl < hi; pl++ {
			clear(acc)
			src := g.Data[pl*ho*wo : (pl+1)*ho*wo]
			for oy := 0; oy < ho; oy++ {
				clear(tmp)
				for ox, v := range src[oy*wo : (oy+1)*wo] {
					tmp[x0[ox]] += lx0[ox] * float64(v)
					tmp[x1[ox]] += lx1[ox] * float64(v)
				}
				r0 := acc[y0[oy]*w : (y0[oy]+1)*w]
				r1 := acc[y1[oy]*w : (y1[oy]+1)*w]
				a, b := ly0[oy], ly1[oy]
				for i, v := range tmp {
					r0[i] += a * v
					r1[i] += b * v
				}
			}
			dst := out.Data[pl*h*w : (pl+1)*h*w]
			for i, v := range acc {
				dst[i] = float32(v)
			}
		}
	})
	return out
}

// NearestIndex returns torch's source index for each of out positions along an axis of
// length in: mode "nearest" (floor(d·scale)) or, when exact, "nearest-exact"
// (floor((d+0.5)·scale)), with a float32 scale, clamped to in-1.
func NearestIndex(in, out int, exact bool) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for d := range idx {
		var s int
		switch {
		case exact:
			s = int(math.Floor(float64(float32((float64(d) + 0.5) * float64(scale)))))
		case in == out:
			s = d
		case out == 2*in:
			s = d >> 1
		default:
			s = int(math.Floor(float64(float32(d) * scale)))
		}
		idx[d] = min(s, in-1)
	}
	return idx
}

// ResizeNearestBackward returns the gradient of ResizeNearest(x, outH, outW, exact) for x
// of shape inShape given the upstream g: each output cell's gradient goes to its source.
func ResizeNearestBackward(inShape []int, g *Tensor, exact bool) *Tensor {
	if len(inShape) != 4 || g.Rank() != 4 || g.Dim(0) != inShape[0] || g.Dim(1) != inShape[1] {
		panic(fmt.Sprintf("tensor.ResizeNearestBackward: input %v, gradient %v", inShape, g.Shape()))
	}
	h, w, ho, wo := inShape[2], inShape[3], g.Dim(2), g.Dim(3)
	iy, ix := NearestIndex(h, ho, exact), NearestIndex(w, wo, exact)
	out := New(inShape...)
	planes := inShape[0] * inShape[1]
	par.For(planes, 1, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := out.Data[pl*h*w : (pl+1)*h*w]
			src := g.Data[pl*ho*wo : (pl+1)*ho*wo]
			for oy := 0; oy < ho; oy++ {
				row := dst[iy[oy]*w : (iy[oy]+1)*w]
				for ox, v := range src[oy*wo : (oy+1)*wo] {
					row[ix[ox]] += v
				}
			}
		}
	})
	return out
}
