package tensor

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
)

func layerNorm(x, w, b *Tensor, eps float32) *Tensor {
	out := &Tensor{Data: make([]float32, len(x.Data)), shape: append([]int(nil), x.shape...)}
	layerNormInto(out, x, w, b, eps, "LayerNorm")
	return out
}

func layerNormInto(out, x, w, b *Tensor, eps float32, op string) {
	if len(x.shape) == 0 {
		panic(fmt.Sprintf("tensor.%s: scalar input", op))
	}
	c := x.shape[len(x.shape)-1]
	var wd, bd []float32
	if w != nil {
		if len(w.Data) != c {
			panic(fmt.Sprintf("tensor.%s: weight %v for rows of %d", op, w.shape, c))
		}
		wd = w.Data
	}
	if b != nil {
		if len(b.Data) != c {
			panic(fmt.Sprintf("tensor.%s: bias %v for rows of %d", op, b.shape, c))
		}
		bd = b.Data
	}
	if c == 0 {
		return
	}
	rows := len(x.Data) / c
	par.For(rows, max(1, elemGrain/(4*c)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			vec.LayerNorm(out.Data[r*c:(r+1)*c], x.Data[r*c:(r+1)*c], wd, bd, eps)
		}
	})
}

// LayerNormInPlace normalises x over its last axis in place, as LayerNorm.
func LayerNormInPlace(x, w, b *Tensor, eps float32) {
	layerNormInto(x, x, w, b, eps, "LayerNormInPlace")
}

// ln2dChunk is how many pixels a LayerNorm2d task handles: enough to stream each channel
// plane in long runs, few enough for the float64 accumulators to stay in L1.
const ln2dChunk = 512

func layerNorm2d(x, w, b *Tensor, eps float32) *Tensor {
	if len(x.shape) != 4 {
		panic(fmt.Sprintf("tensor.LayerNorm2d: want NCHW, got %v", x.shape))
	}
	N, C := x.shape[0], x.shape[1]
	hw := x.shape[2] * x.shape[3]
	if (w != nil && len(w.Data) != C) || (b != nil && len(b.Data) != C) {
		panic(fmt.Sprintf("tensor.LayerNorm2d: weight/bias for %d channels, input %v", C, x.shape))
	}
	out := New(x.shape...)
	if C == 0 || hw == 0 {
		return out
	}
	chunks := (hw + ln2dChunk - 1) / ln2dChunk
	par.ForEach(N*chunks, func(t int) {
		n, p0 := t/chunks, (t%chunks)*ln2dChunk
		p1 := min(p0+ln2dChunk, hw)
		m := p1 - p0
		mean := make([]float64, m)
		vr := make([]float64, m)
		base := n * C * hw
		plane := func(c int) []float32 { return x.Data[base+c*hw+p0 : base+c*hw+p1] }
		for c := range C {
			vec.AddToF64(mean, plane(c))
		}
		for i := range mean {
			mean[i] /= float64(C)
		}
		for c := range C {
			vec.AddSqDevF64(vr, plane(c), mean)
		}
		for i := range vr {
			vr[i] = 1 / math.Sqrt(vr[i]/float64(C)+float64(eps))
		}
		for c := range C {
			var wc, bc float32 = 1, 0
			if w != nil {
				wc = w.Data[c]
			}
			if b != nil {
				bc = b.Data[c]
			}
			vec.NormCols(out.Data[base+c*hw+p0:base+c*hw+p1], plane(c), mean, vr, wc, bc)
		}
	})
	return out
}

func softmax(x, mask *Tensor) *Tensor {
	out := &Tensor{Data: make([]float32, len(x.Data)), shape: append([]int(nil), x.shape...)}
	softmaxInto(out, x, mask)
	return out
}

func softmaxInto(out, x, mask *Tensor) {
	if len(x.shape) == 0 {
		out.Data[0] = 1
		if mask != nil && mask.Data[0] == 0 {
			out.Data[0] = 0
		}
		return
	}
	L := x.shape[len(x.shape)-1]
	if L == 0 || len(x.Data) == 0 {
		return
	}
	rows := len(x.Data) / L
	if mask == nil {
		par.For(rows, max(1, elemGrain/(4*L)), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				vec.Softmax(out.Data[r*L:(r+1)*L], x.Data[r*L:(r+1)*L])
			}
		})
		return
	}
	ms := bstrides("Softmax", mask.shape, x.shape)
	last := len(x.shape) - 1
	im := ms[last]
	it := rowIter{shape: x.shape[:last], strides: [][]int{ms[:last]}}
	par.For(rows, max(1, elemGrain/(4*L)), func(lo, hi int) {
		offs := make([]int, 1)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			maskedSoftmaxRow(out.Data[r*L:(r+1)*L], x.Data[r*L:(r+1)*L], mask.Data[offs[0]:], im)
		}
	})
}

// maskedSoftmaxRow is softmax over the entries whose mask (read with stride im) is
// non-zero; the others get 0, and a row with nothing kept is all zeros. Masked entries are
// set to -Inf, which the fast exp maps to exactly 0.
func maskedSoftmaxRow(dst, src, m []float32, im int) {
	kept := false
	inf := float32(math.Inf(-1))
	for i, v := range src {
		if m[i*im] != 0 {
			dst[i] = v
			kept = true
		} else {
			dst[i] = inf
		}
	}
	if !kept {
		clear(dst)
		return
	}
	vec.Softmax(dst, dst)
}

// SoftmaxInPlace replaces x with its softmax over the last axis (mask as in Softmax).
func SoftmaxInPlace(x, mask *Tensor) { softmaxInto(x, x, mask) }

func maskedFill(x, mask *Tensor, value float32) *Tensor {
	out := x.Clone()
	ms := bstrides("MaskedFill", mask.shape, x.shape)
	sh, st := coalesce(x.shape, Strides(x.shape), ms)
	if len(x.Data) == 0 {
		return out
	}
	last := len(sh) - 1
	inner := sh[last]
	im := st[1][last]
	it := rowIter{shape: sh[:last], strides: [][]int{st[0][:last], st[1][:last]}}
	par.For(len(x.Data)/inner, max(1, elemGrain/inner), func(lo, hi int) {
		offs := make([]int, 2)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			d := out.Data[offs[0] : offs[0]+inner]
			m := mask.Data[offs[1]:]
			for i := range d {
				if m[i*im] == 0 {
					d[i] = value
				}
			}
		}
	})
	return out
}

// planes views x [..., H, W] as P planes of H×W.
func planes(op string, x *Tensor) (P, H, W int) {
	r := len(x.shape)
	if r < 2 {
		panic(fmt.Sprintf("tensor.%s: want [..., H, W], got %v", op, x.shape))
	}
	H, W = x.shape[r-2], x.shape[r-1]
	if H*W == 0 {
		return 0, H, W
	}
	return len(x.Data) / (H * W), H, W
}

func avgPool2d(x *Tensor, k, s, p int) *Tensor {
	P, H, W := planes("AvgPool2d", x)
	if k < 1 || s < 1 || p < 0 || 2*p > k || H+2*p < k || W+2*p < k {
		panic(fmt.Sprintf("tensor.AvgPool2d: kernel %d stride %d pad %d on %v", k, s, p, x.shape))
	}
	OH, OW := (H+2*p-k)/s+1, (W+2*p-k)/s+1
	shape := append(append([]int(nil), x.shape[:len(x.shape)-2]...), OH, OW)
	out := New(shape...)
	par.For(P, max(1, elemGrain/max(1, H*W)), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x.Data[pl*H*W : (pl+1)*H*W]
			dst := out.Data[pl*OH*OW : (pl+1)*OH*OW]
			for oh := range OH {
				h0, h1 := max(oh*s-p, 0), min(oh*s-p+k, H)
				for ow := range OW {
					w0, w1 := max(ow*s-p, 0), min(ow*s-p+k, W)
					var sum float32
					for h := h0; h < h1; h++ {
						for _, v := range src[h*W+w0 : h*W+w1] {
							sum += v
						}
					}
					dst[oh*OW+ow] = sum / float32((h1-h0)*(w1-w0))
				}
			}
		}
	})
	return out
}

// linearTaps holds, per output index, torch's two source indices and weights.
type linearTaps struct {
	i0, i1 []int
	w0, w1 []float32
}

// bilinearTaps reproduces torch's compute_source_index_and_lambda for one axis. The scale
// is float32 (in/out, or (in-1)/(out-1) with align_corners) but the source coordinate is
// computed from it in float64 and not rounded back (torch's 0.5 literals are doubles):
// float64(scale)·(d+0.5)-0.5, or float64(ratio)·d. Checked bitwise against torch 1.13 in
// vectors_test.go; see also shared/vectors/aisam/README.md, "Port notes".
func bilinearTaps(in, out int, alignCorners bool) linearTaps {
	t := linearTaps{make([]int, out), make([]int, out), make([]float32, out), make([]float32, out)}
	for d := range out {
		if in == out {
			t.i0[d], t.i1[d], t.w0[d], t.w1[d] = d, d, 1, 0
			continue
		}
		var idx int
		var lambda float32
		if alignCorners {
			var ratio float32
			if out > 1 {
				ratio = float32(in-1) / float32(out-1)
			}
			real := float64(ratio) * float64(d)
			idx = min(int(math.Floor(real)), in-1)
			lambda = float32(min(max(real-float64(idx), 0), 1))
		} else {
			scale := float32(in) / float32(out)
			real := float64(scale)*(float64(d)+0.5) - 0.5
			if real < 0 {
				real = 0
			}
			idx = min(int(real), in-1) // real >= 0, so truncation is floor
			lambda = float32(min(max(real-float64(idx), 0), 1))
		}
		t.i0[d] = idx
		if idx < in-1 {
			t.i1[d] = idx + 1
		} else {
			t.i1[d] = idx
		}
		t.w1[d] = lambda
		t.w0[d] = 1 - lambda
	}
	return t
}

func resizeBilinear(x *Tensor, outH, outW int, alignCorners bool) *Tensor {
	P, H, W := planes("ResizeBilinear", x)
	if outH < 1 || outW < 1 || H < 1 || W < 1 {
		panic(fmt.Sprintf("tensor.ResizeBilinear: %v to %dx%d", x.shape, outH, outW))
	}
	shape := append(append([]int(nil), x.shape[:len(x.shape)-2]...), outH, outW)
	out := New(shape...)
	ty := bilinearTaps(H, outH, alignCorners)
	tx := bilinearTaps(W, outW, alignCorners)
	// Separable: each source row is interpolated horizontally once (and cached while
	// consecutive output rows use it), then pairs of those rows are blended vertically.
	// The values are exactly those of torch's per-pixel formula, which computes the same
	// horizontal terms.
	par.For(P*outH, max(1, elemGrain/outW), func(lo, hi int) {
		h := [2][]float32{make([]float32, outW), make([]float32, outW)}
		key := [2]int{-1, -1} // which (plane, source row) each cached row holds
		row := func(pl, iy int) []float32 {
			k := pl*H + iy
			for c := range key {
				if key[c] == k {
					return h[c]
				}
			}
			// Evict the entry that is not the other row of the current pair: callers ask
			// for i0 then i1, and i0 <= i1, so the older key is the smaller one.
			c := 0
			if key[1] < key[0] {
				c = 1
			}
			key[c] = k
			src := x.Data[k*W : (k+1)*W]
			d := h[c]
			for ox := range d {
				d[ox] = fma32(src[tx.i0[ox]], tx.w0[ox], src[tx.i1[ox]]*tx.w1[ox])
			}
			return d
		}
		for r := lo; r < hi; r++ {
			pl, oy := r/outH, r%outH
			t0 := row(pl, ty.i0[oy])
			t1 := row(pl, ty.i1[oy])
			wy0, wy1 := ty.w0[oy], ty.w1[oy]
			dst := out.Data[r*outW : (r+1)*outW]
			// torch's generic kernel computes t0*w0 + t1*w1 with the compiler contracting
			// to fused multiply-adds; doing the same makes multi-channel results bitwise
			// equal to torch 1.13 (single-channel inputs take torch's channels-last kernel
			// and differ by ~2 ulp).
			vec.Blend(dst, t0, t1, wy0, wy1)
		}
	})
	return out
}

// nearestIndex is torch's source index for mode nearest (floor(dst·in/out) with a
// float32 scale) or nearest-exact (floor((dst+0.5)·scale), the product in float64 then
// rounded to float32 as torch's floorf does).
func nearestIndex(d, in, out int, exact bool) int {
	scale := float32(in) / float32(out)
	if exact {
		return min(int(math.Floor(float64(float32((float64(d)+0.5)*float64(scale))))), in-1)
	}
	if out == in {
		return d
	}
	if out == 2*in {
		return d >> 1
	}
	return min(int(math.Floor(float64(float32(d)*scale))), in-1)
}

func resizeNearest(x *Tensor, outH, outW int, exact bool) *Tensor {
	P, H, W := planes("ResizeNearest", x)
	if outH < 1 || outW < 1 || H < 1 || W < 1 {
		panic(fmt.Sprintf("tensor.ResizeNearest: %v to %dx%d", x.shape, outH, outW))
	}
	shape := append(append([]int(nil), x.shape[:len(x.shape)-2]...), outH, outW)
	out := New(shape...)
	iy := make([]int, outH)
	for d := range iy {
		iy[d] = nearestIndex(d, H, outH, exact)
	}
	ix := make([]int, outW)
	for d := range ix {
		ix[d] = nearestIndex(d, W, outW, exact)
	}
	par.For(P*outH, max(1, elemGrain/outW), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			pl, oy := r/outH, r%outH
			src := x.Data[pl*H*W+iy[oy]*W:]
			dst := out.Data[r*outW : (r+1)*outW]
			for ox, sx := range ix {
				dst[ox] = src[sx]
			}
		}
	})
	return out
}

// fma32 is a·b+c rounded once (to float64, then float32: the double rounding differs from
// a true float32 FMA only when the result lies within 2^-29 ulp of a float32 tie).
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
