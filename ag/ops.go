package ag

import "github.com/aisam/aisam/tensor"

// Every method computes the op with package tensor and, when recording, registers its
// backward rule. Methods are safe on a nil *Tape.

func (tp *Tape) unary(a, out *tensor.Tensor, back func(g *tensor.Tensor) *tensor.Tensor) *tensor.Tensor {
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, back(g)) })
	}
	return out
}

func todo(name string) func(g *tensor.Tensor) *tensor.Tensor {
	return func(*tensor.Tensor) *tensor.Tensor { panic("ag." + name + ": backward unimplemented") }
}

// Add returns a + b (broadcasting).
func (tp *Tape) Add(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Add(a, b)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			tp.Accum(a, tensor.SumTo(g, a.Shape()...))
			tp.Accum(b, tensor.SumTo(g, b.Shape()...))
		})
	}
	return out
}

// Sub returns a - b (broadcasting).
func (tp *Tape) Sub(a, b *tensor.Tensor) *tensor.Tensor { return tensor.Sub(a, b) }

// Mul returns a * b (broadcasting).
func (tp *Tape) Mul(a, b *tensor.Tensor) *tensor.Tensor { return tensor.Mul(a, b) }

// Div returns a / b (broadcasting).
func (tp *Tape) Div(a, b *tensor.Tensor) *tensor.Tensor { return tensor.Div(a, b) }

// Scale returns a * s.
func (tp *Tape) Scale(a *tensor.Tensor, s float32) *tensor.Tensor {
	return tp.unary(a, tensor.Scale(a, s), func(g *tensor.Tensor) *tensor.Tensor { return tensor.Scale(g, s) })
}

// AddScalar returns a + s.
func (tp *Tape) AddScalar(a *tensor.Tensor, s float32) *tensor.Tensor {
	return tp.unary(a, tensor.AddScalar(a, s), func(g *tensor.Tensor) *tensor.Tensor { return g })
}

// Exp returns e^a.
func (tp *Tape) Exp(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.Exp(a), todo("Exp")) }

// Log returns ln a.
func (tp *Tape) Log(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.Log(a), todo("Log")) }

// Sqrt returns √a.
func (tp *Tape) Sqrt(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.Sqrt(a), todo("Sqrt")) }

// Sin returns sin a.
func (tp *Tape) Sin(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.Sin(a), todo("Sin")) }

// Cos returns cos a.
func (tp *Tape) Cos(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.Cos(a), todo("Cos")) }

// ReLU returns max(a, 0).
func (tp *Tape) ReLU(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.ReLU(a), todo("ReLU")) }

// GELU returns the exact GELU of a.
func (tp *Tape) GELU(a *tensor.Tensor) *tensor.Tensor { return tp.unary(a, tensor.GELU(a), todo("GELU")) }

// Sigmoid returns 1/(1+e^-a).
func (tp *Tape) Sigmoid(a *tensor.Tensor) *tensor.Tensor {
	return tp.unary(a, tensor.Sigmoid(a), todo("Sigmoid"))
}

// Sum sums over axis.
func (tp *Tape) Sum(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	return tp.unary(a, tensor.Sum(a, axis, keepdim), todo("Sum"))
}

// Mean averages over axis.
func (tp *Tape) Mean(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	return tp.unary(a, tensor.Mean(a, axis, keepdim), todo("Mean"))
}

// Max returns the maximum over axis (gradient to the first maximum).
func (tp *Tape) Max(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	return tp.unary(a, tensor.Max(a, axis, keepdim), todo("Max"))
}

// Reshape returns a view of a with a new shape.
func (tp *Tape) Reshape(a *tensor.Tensor, shape ...int) *tensor.Tensor {
	return tp.unary(a, a.Reshape(shape...), func(g *tensor.Tensor) *tensor.Tensor { return g.Reshape(a.Shape()...) })
}

// Permute reorders axes.
func (tp *Tape) Permute(a *tensor.Tensor, axes ...int) *tensor.Tensor {
	return tp.unary(a, tensor.Permute(a, axes...), todo("Permute"))
}

// Transpose swaps two axes.
func (tp *Tape) Transpose(a *tensor.Tensor, i, j int) *tensor.Tensor {
	return tp.unary(a, tensor.Transpose(a, i, j), todo("Transpose"))
}

// Slice returns a[..., start:end, ...] along axis.
func (tp *Tape) Slice(a *tensor.Tensor, axis, start, end int) *tensor.Tensor {
	return tp.unary(a, tensor.Slice(a, axis, start, end), todo("Slice"))
}

// Concat joins tensors along axis.
func (tp *Tape) Concat(axis int, ts ...*tensor.Tensor) *tensor.Tensor { return tensor.Concat(axis, ts...) }

// Stack joins equal-shaped tensors along a new axis.
func (tp *Tape) Stack(axis int, ts ...*tensor.Tensor) *tensor.Tensor { return tensor.Stack(axis, ts...) }

// Pad pads each axis with a constant.
func (tp *Tape) Pad(a *tensor.Tensor, before, after []int, value float32) *tensor.Tensor {
	return tp.unary(a, tensor.Pad(a, before, after, value), todo("Pad"))
}

// IndexSelect gathers indices along axis.
func (tp *Tape) IndexSelect(a *tensor.Tensor, axis int, idx []int) *tensor.Tensor {
	return tp.unary(a, tensor.IndexSelect(a, axis, idx), todo("IndexSelect"))
}

// MatMul multiplies the last two axes (see tensor.MatMul).
func (tp *Tape) MatMul(a, b *tensor.Tensor, transA, transB bool) *tensor.Tensor {
	return tensor.MatMul(a, b, transA, transB)
}

// Linear returns x w^T + b (b may be nil).
func (tp *Tape) Linear(x, w, b *tensor.Tensor) *tensor.Tensor { return tensor.Linear(x, w, b) }

// Conv2d is torch's conv2d (square stride and padding); b may be nil.
func (tp *Tape) Conv2d(x, w, b *tensor.Tensor, stride, pad int) *tensor.Tensor {
	return tensor.Conv2d(x, w, b, stride, pad)
}

// ConvTranspose2d is torch's conv_transpose2d with kernel == stride.
func (tp *Tape) ConvTranspose2d(x, w, b *tensor.Tensor, stride int) *tensor.Tensor {
	return tensor.ConvTranspose2d(x, w, b, stride)
}

// LayerNorm normalises over the last axis.
func (tp *Tape) LayerNorm(x, w, b *tensor.Tensor, eps float32) *tensor.Tensor {
	return tensor.LayerNorm(x, w, b, eps)
}

// LayerNorm2d normalises NCHW over channels.
func (tp *Tape) LayerNorm2d(x, w, b *tensor.Tensor, eps float32) *tensor.Tensor {
	return tensor.LayerNorm2d(x, w, b, eps)
}

// Softmax over the last axis with an optional keep-mask (see tensor.Softmax).
func (tp *Tape) Softmax(x, mask *tensor.Tensor) *tensor.Tensor {
	return tp.unary(x, tensor.Softmax(x, mask), todo("Softmax"))
}

// MaskedFill sets value where mask is 0 (no gradient flows to filled cells).
func (tp *Tape) MaskedFill(x, mask *tensor.Tensor, value float32) *tensor.Tensor {
	return tp.unary(x, tensor.MaskedFill(x, mask, value), todo("MaskedFill"))
}

// AvgPool2d is avg_pool2d with count_include_pad=False.
func (tp *Tape) AvgPool2d(x *tensor.Tensor, kernel, stride, pad int) *tensor.Tensor {
	return tp.unary(x, tensor.AvgPool2d(x, kernel, stride, pad), todo("AvgPool2d"))
}

// ResizeBilinear is bilinear interpolation with torch's coordinate rules.
func (tp *Tape) ResizeBilinear(x *tensor.Tensor, outH, outW int, alignCorners bool) *tensor.Tensor {
	return tp.unary(x, tensor.ResizeBilinear(x, outH, outW, alignCorners), todo("ResizeBilinear"))
}

// ResizeNearest is nearest (or nearest-exact) interpolation.
func (tp *Tape) ResizeNearest(x *tensor.Tensor, outH, outW int, exact bool) *tensor.Tensor {
	return tp.unary(x, tensor.ResizeNearest(x, outH, outW, exact), todo("ResizeNearest"))
}
