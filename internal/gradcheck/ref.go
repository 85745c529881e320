package gradcheck

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/tensor"
)

// Array is a dense row-major float64 array for reference forwards. The reference ops
// below are written for clarity, one output element at a time, straight from each op's
// definition (PyTorch's where the op mirrors one); they are slow and only for tests.
type Array struct {
	Data  []float64
	Shape []int
}

// NewArray returns a zero array.
func NewArray(shape ...int) *Array {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Array{Data: make([]float64, n), Shape: append([]int(nil), shape...)}
}

// FromTensor converts exactly.
func FromTensor(t *tensor.Tensor) *Array {
	a := NewArray(t.Shape()...)
	for i, v := range t.Data {
		a.Data[i] = float64(v)
	}
	return a
}

func (a *Array) offset(idx []int) int {
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	return off
}

// At returns the element at idx.
func (a *Array) At(idx ...int) float64 { return a.Data[a.offset(idx)] }

// Build makes an array of shape whose element at idx is f(idx).
func Build(shape []int, f func(idx []int) float64) *Array {
	out := NewArray(shape...)
	idx := make([]int, len(shape))
	for i := range out.Data {
		r := i
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k] = r % shape[k]
			r /= shape[k]
		}
		out.Data[i] = f(idx)
	}
	return out
}

// Map applies f elementwise.
func Map(a *Array, f func(float64) float64) *Array {
	out := NewArray(a.Shape...)
	for i, v := range a.Data {
		out.Data[i] = f(v)
	}
	return out
}

// Reshape returns a with a new shape (sharing data).
func Reshape(a *Array, shape ...int) *Array { return &Array{Data: a.Data, Shape: shape} }

// broadcastIdx maps an output index to an index of a shape that broadcasts to it.
func broadcastIdx(shape, idx []int) []int {
	off := len(idx) - len(shape)
	src := make([]int, len(shape))
	for i := range shape {
		if shape[i] != 1 {
			src[i] = idx[off+i]
		}
	}
	return src
}

// BroadcastShape applies NumPy's rules.
func BroadcastShape(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("gradcheck: shapes %v and %v do not broadcast", a, b))
		}
	}
	return out
}

// Binary applies f elementwise with broadcasting.
func Binary(a, b *Array, f func(x, y float64) float64) *Array {
	shape := BroadcastShape(a.Shape, b.Shape)
	return Build(shape, func(idx []int) float64 {
		return f(a.At(broadcastIdx(a.Shape, idx)...), b.At(broadcastIdx(b.Shape, idx)...))
	})
}

// BroadcastTo expands a.
func BroadcastTo(a *Array, shape ...int) *Array {
	return Build(shape, func(idx []int) float64 { return a.At(broadcastIdx(a.Shape, idx)...) })
}

// Reduce folds axis with f starting from init; mean divides by the axis length.
func Reduce(a *Array, axis int, keepdim bool, init float64, f func(acc, v float64) float64) *Array {
	if axis < 0 {
		axis += len(a.Shape)
	}
	shape := append([]int(nil), a.Shape...)
	shape[axis] = 1
	out := Build(shape, func(idx []int) float64 {
		src := append([]int(nil), idx...)
		acc := init
		for k := 0; k < a.Shape[axis]; k++ {
			src[axis] = k
			acc = f(acc, a.At(src...))
		}
		return acc
	})
	if !keepdim {
		out.Shape = append(append([]int(nil), shape[:axis]...), shape[axis+1:]...)
	}
	return out
}

// Sum sums over axis.
func Sum(a *Array, axis int, keepdim bool) *Array {
	return Reduce(a, axis, keepdim, 0, func(s, v float64) float64 { return s + v })
}

// Permute reorders axes: out.Shape[i] = a.Shape[axes[i]].
func Permute(a *Array, axes ...int) *Array {
	shape := make([]int, len(axes))
	for i, ax := range axes {
		shape[i] = a.Shape[ax]
	}
	return Build(shape, func(idx []int) float64 {
		src := make([]int, len(axes))
		for i, ax := range axes {
			src[ax] = idx[i]
		}
		return a.At(src...)
	})
}

// Slice takes [start, end) along axis.
func Slice(a *Array, axis, start, end int) *Array {
	shape := append([]int(nil), a.Shape...)
	shape[axis] = end - start
	return Build(shape, func(idx []int) float64 {
		src := append([]int(nil), idx...)
		src[axis] += start
		return a.At(src...)
	})
}

// Concat joins along axis.
func Concat(axis int, as ...*Array) *Array {
	shape := append([]int(nil), as[0].Shape...)
	shape[axis] = 0
	for _, a := range as {
		shape[axis] += a.Shape[axis]
	}
	return Build(shape, func(idx []int) float64 {
		k := idx[axis]
		for _, a := range as {
			if k < a.Shape[axis] {
				src := append([]int(nil), idx...)
				src[axis] = k
				return a.At(src...)
			}
			k -= a.Shape[axis]
		}
		panic("unreachable")
	})
}

// Pad pads each axis with value.
func Pad(a *Array, before, after []int, value float64) *Array {
	shape := make([]int, len(a.Shape))
	for i := range shape {
		shape[i] = a.Shape[i] + before[i] + after[i]
	}
	return Build(shape, func(idx []int) float64 {
		src := make([]int, len(idx))
		for i := range idx {
			src[i] = idx[i] - before[i]
			if src[i] < 0 || src[i] >= a.Shape[i] {
				return value
			}
		}
		return a.At(src...)
	})
}

// IndexSelect gathers idx along axis.
func IndexSelect(a *Array, axis int, sel []int) *Array {
	shape := append([]int(nil), a.Shape...)
	shape[axis] = len(sel)
	return Build(shape, func(idx []int) float64 {
		src := append([]int(nil), idx...)
		src[axis] = sel[idx[axis]]
		return a.At(src...)
	})
}

// MatMul multiplies the last two axes with optional transposes and broadcast batches.
func MatMul(a, b *Array, transA, transB bool) *Array {
	ra, rb := len(a.Shape), len(b.Shape)
	m, k := a.Shape[ra-2], a.Shape[ra-1]
	if transA {
		m, k = k, m
	}
	n := b.Shape[rb-1]
	if transB {
		n = b.Shape[rb-2]
	}
	batch := BroadcastShape(a.Shape[:ra-2], b.Shape[:rb-2])
	shape := append(append([]int(nil), batch...), m, n)
	return Build(shape, func(idx []int) float64 {
		bi := idx[:len(batch)]
		i, j := idx[len(batch)], idx[len(batch)+1]
		ai := broadcastIdx(a.Shape[:ra-2], bi)
		bj := broadcastIdx(b.Shape[:rb-2], bi)
		var s float64
		for p := 0; p < k; p++ {
			var av, bv float64
			if transA {
				av = a.At(append(append([]int(nil), ai...), p, i)...)
			} else {
				av = a.At(append(append([]int(nil), ai...), i, p)...)
			}
			if transB {
				bv = b.At(append(append([]int(nil), bj...), j, p)...)
			} else {
				bv = b.At(append(append([]int(nil), bj...), p, j)...)
			}
			s += av * bv
		}
		return s
	})
}

// Linear returns x wᵀ + b (b may be nil).
func Linear(x, w, b *Array) *Array {
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), w.Shape[0])
	in := w.Shape[1]
	return Build(shape, func(idx []int) float64 {
		o := idx[len(idx)-1]
		xi := append([]int(nil), idx...)
		var s float64
		for p := 0; p < in; p++ {
			xi[len(xi)-1] = p
			s += x.At(xi...) * w.At(o, p)
		}
		if b != nil {
			s += b.Data[o]
		}
		return s
	})
}

// Conv2d is torch's conv2d: x [N,C,H,W], w [O,C,kh,kw], b [O] or nil.
func Conv2d(x, w, b *Array, stride, pad int) *Array {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	o, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	ho, wo := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	return Build([]int{n, o, ho, wo}, func(idx []int) float64 {
		var s float64
		if b != nil {
			s = b.Data[idx[1]]
		}
		for ch := 0; ch < c; ch++ {
			for ky := 0; ky < kh; ky++ {
				iy := idx[2]*stride - pad + ky
				if iy < 0 || iy >= h {
					continue
				}
				for kx := 0; kx < kw; kx++ {
					ix := idx[3]*stride - pad + kx
					if ix < 0 || ix >= wd {
						continue
					}
					s += x.At(idx[0], ch, iy, ix) * w.At(idx[1], ch, ky, kx)
				}
			}
		}
		return s
	})
}

// ConvTranspose2d is torch's conv_transpose2d without padding: x [N,C,H,W],
// w [C,O,k,k], b [O] or nil; out[n,o,y,x] = Σ x[n,c,i,j] w[c,o,y-i·s,x-j·s].
func ConvTranspose2d(x, w, b *Array, stride int) *Array {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	o, k := w.Shape[1], w.Shape[2]
	ho, wo := (h-1)*stride+k, (wd-1)*stride+k
	return Build([]int{n, o, ho, wo}, func(idx []int) float64 {
		var s float64
		if b != nil {
			s = b.Data[idx[1]]
		}
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h; i++ {
				p := idx[2] - i*stride
				if p < 0 || p >= k {
					continue
				}
				for j := 0; j < wd; j++ {
					q := idx[3] - j*stride
					if q < 0 || q >= k {
						continue
					}
					s += x.At(idx[0], ch, i, j) * w.At(ch, idx[1], p, q)
				}
			}
		}
		return s
	})
}

// LayerNorm normalises over the last axis with biased variance.
func LayerNorm(x, w, b *Array, eps float64) *Array {
	d := x.Shape[len(x.Shape)-1]
	return Build(x.Shape, func(idx []int) float64 {
		row := x.offset(idx) - idx[len(idx)-1]
		var mean, vr float64
		for i := 0; i < d; i++ {
			mean += x.Data[row+i]
		}
		mean /= float64(d)
		for i := 0; i < d; i++ {
			vr += (x.Data[row+i] - mean) * (x.Data[row+i] - mean)
		}
		vr /= float64(d)
		k := idx[len(idx)-1]
		y := (x.Data[row+k] - mean) / math.Sqrt(vr+eps)
		if w != nil {
			y *= w.Data[k]
		}
		if b != nil {
			y += b.Data[k]
		}
		return y
	})
}

// LayerNorm2d is SAM's LayerNorm2d: over C of x [N,C,H,W].
func LayerNorm2d(x, w, b *Array, eps float64) *Array {
	c := x.Shape[1]
	return Build(x.Shape, func(idx []int) float64 {
		var mean, vr float64
		for ch := 0; ch < c; ch++ {
			mean += x.At(idx[0], ch, idx[2], idx[3])
		}
		mean /= float64(c)
		for ch := 0; ch < c; ch++ {
			d := x.At(idx[0], ch, idx[2], idx[3]) - mean
			vr += d * d
		}
		vr /= float64(c)
		return (x.At(idx...)-mean)/math.Sqrt(vr+eps)*w.Data[idx[1]] + b.Data[idx[1]]
	})
}

// Softmax over the last axis; where mask (broadcast) is 0 the probability is 0, and a row
// with nothing kept is all zeros.
func Softmax(x, mask *Array) *Array {
	d := x.Shape[len(x.Shape)-1]
	keep := func(idx []int) bool { return mask == nil || mask.At(broadcastIdx(mask.Shape, idx)...) != 0 }
	return Build(x.Shape, func(idx []int) float64 {
		if !keep(idx) {
			return 0
		}
		j := append([]int(nil), idx...)
		m := math.Inf(-1)
		for k := 0; k < d; k++ {
			j[len(j)-1] = k
			if keep(j) {
				m = math.Max(m, x.At(j...))
			}
		}
		var s float64
		for k := 0; k < d; k++ {
			j[len(j)-1] = k
			if keep(j) {
				s += math.Exp(x.At(j...) - m)
			}
		}
		return math.Exp(x.At(idx...)-m) / s
	})
}

// MaskedFill puts value where mask (broadcast) is 0.
func MaskedFill(x, mask *Array, value float64) *Array {
	return Build(x.Shape, func(idx []int) float64 {
		if mask.At(broadcastIdx(mask.Shape, idx)...) == 0 {
			return value
		}
		return x.At(idx...)
	})
}

// AvgPool2d is avg_pool2d with count_include_pad=False (floor mode).
func AvgPool2d(x *Array, k, s, p int) *Array {
	h, w := x.Shape[2], x.Shape[3]
	ho, wo := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	return Build([]int{x.Shape[0], x.Shape[1], ho, wo}, func(idx []int) float64 {
		var sum float64
		cnt := 0
		for y := idx[2]*s - p; y < idx[2]*s-p+k; y++ {
			for xx := idx[3]*s - p; xx < idx[3]*s-p+k; xx++ {
				if y >= 0 && y < h && xx >= 0 && xx < w {
					sum += x.At(idx[0], idx[1], y, xx)
					cnt++
				}
			}
		}
		return sum / float64(cnt)
	})
}

// srcLinear is torch's area_pixel_compute_source_index for linear modes, followed by the
// neighbour and weight choice of upsample_bilinear2d.
func srcLinear(in, out, d int, alignCorners bool) (i0, i1 int, w1 float64) {
	if in == out {
		return d, d, 0
	}
	var src float64
	if alignCorners {
		if out > 1 {
			src = float64(float32(in-1)/float32(out-1)) * float64(d)
		}
	} else {
		src = float64(float32(in)/float32(out))*(float64(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
	}
	i0 = int(src)
	if i0 > in-1 {
		i0 = in - 1
	}
	w1 = src - float64(i0)
	i1 = i0
	if i0 < in-1 {
		i1++
	}
	return i0, i1, w1
}

// ResizeBilinear is F.interpolate(mode="bilinear").
func ResizeBilinear(x *Array, oh, ow int, alignCorners bool) *Array {
	h, w := x.Shape[2], x.Shape[3]
	return Build([]int{x.Shape[0], x.Shape[1], oh, ow}, func(idx []int) float64 {
		y0, y1, wy := srcLinear(h, oh, idx[2], alignCorners)
		x0, x1, wx := srcLinear(w, ow, idx[3], alignCorners)
		at := func(y, xx int) float64 { return x.At(idx[0], idx[1], y, xx) }
		return (1-wy)*((1-wx)*at(y0, x0)+wx*at(y0, x1)) + wy*((1-wx)*at(y1, x0)+wx*at(y1, x1))
	})
}

// ResizeNearest is F.interpolate(mode="nearest") or, when exact, mode="nearest-exact".
func ResizeNearest(x *Array, oh, ow int, exact bool) *Array {
	src := func(in, out, d int) int {
		s := float64(in) / float64(out)
		var i int
		if exact {
			i = int(math.Floor((float64(d) + 0.5) * s))
		} else {
			i = int(math.Floor(float64(d) * s))
		}
		return min(i, in-1)
	}
	h, w := x.Shape[2], x.Shape[3]
	return Build([]int{x.Shape[0], x.Shape[1], oh, ow}, func(idx []int) float64 {
		return x.At(idx[0], idx[1], src(h, oh, idx[2]), src(w, ow, idx[3]))
	})
}

// LogSoftmax over axis.
func LogSoftmax(x *Array, axis int) *Array {
	if axis < 0 {
		axis += len(x.Shape)
	}
	return Build(x.Shape, func(idx []int) float64 {
		j := append([]int(nil), idx...)
		m := math.Inf(-1)
		for k := 0; k < x.Shape[axis]; k++ {
			j[axis] = k
			m = math.Max(m, x.At(j...))
		}
		var s float64
		for k := 0; k < x.Shape[axis]; k++ {
			j[axis] = k
			s += math.Exp(x.At(j...) - m)
		}
		return x.At(idx...) - m - math.Log(s)
	})
}

// L2Normalize is F.normalize(x, p=2, dim=axis, eps).
func L2Normalize(x *Array, axis int, eps float64) *Array {
	if axis < 0 {
		axis += len(x.Shape)
	}
	return Build(x.Shape, func(idx []int) float64 {
		j := append([]int(nil), idx...)
		var s float64
		for k := 0; k < x.Shape[axis]; k++ {
			j[axis] = k
			s += x.At(j...) * x.At(j...)
		}
		return x.At(idx...) / math.Max(math.Sqrt(s), eps)
	})
}

// Scalar wraps v as a 0-d array.
func Scalar(v float64) *Array { return &Array{Data: []float64{v}, Shape: []int{}} }

// SumAll sums every element.
func SumAll(a *Array) float64 {
	var s float64
	for _, v := range a.Data {
		s += v
	}
	return s
}
