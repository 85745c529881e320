package ag

import "github.com/aisam/aisam/tensor"

// Every method computes the op with package tensor and, when recording, registers its
// backward rule. Methods are safe on a nil *Tape. Backward closures are created only
// inside "if tp.Recording(...)", so that inference allocates nothing beyond the kernels'
// results.

// Add returns a + b (broadcasting).
func (tp *Tape) Add(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Add(a, b)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			if tp.Live(a) {
				tp.Accum(a, tensor.SumTo(g, a.Shape()...))
			}
			if tp.Live(b) {
				tp.Accum(b, tensor.SumTo(g, b.Shape()...))
			}
		})
	}
	return out
}

// Sub returns a - b (broadcasting).
func (tp *Tape) Sub(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Sub(a, b)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			if tp.Live(a) {
				tp.Accum(a, tensor.SumTo(g, a.Shape()...))
			}
			if tp.Live(b) {
				tp.Accum(b, tensor.Scale(tensor.SumTo(g, b.Shape()...), -1))
			}
		})
	}
	return out
}

// Mul returns a * b (broadcasting).
func (tp *Tape) Mul(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Mul(a, b)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			if tp.Live(a) {
				tp.Accum(a, tensor.SumTo(tensor.Mul(g, b), a.Shape()...))
			}
			if tp.Live(b) {
				tp.Accum(b, tensor.SumTo(tensor.Mul(g, a), b.Shape()...))
			}
		})
	}
	return out
}

// Div returns a / b (broadcasting).
func (tp *Tape) Div(a, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Div(a, b)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			gb := tensor.Div(g, b)
			if tp.Live(a) {
				tp.Accum(a, tensor.SumTo(gb, a.Shape()...))
			}
			if tp.Live(b) {
				// d(a/b)/db = -a/b² = -out/b
				tp.Accum(b, tensor.Scale(tensor.SumTo(tensor.Mul(gb, out), b.Shape()...), -1))
			}
		})
	}
	return out
}

// Scale returns a * s.
func (tp *Tape) Scale(a *tensor.Tensor, s float32) *tensor.Tensor {
	out := tensor.Scale(a, s)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Scale(g, s)) })
	}
	return out
}

// AddScalar returns a + s.
func (tp *Tape) AddScalar(a *tensor.Tensor, s float32) *tensor.Tensor {
	out := tensor.AddScalar(a, s)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, g) })
	}
	return out
}

// Exp returns e^a.
func (tp *Tape) Exp(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Exp(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Mul(g, out)) })
	}
	return out
}

// Log returns ln a.
func (tp *Tape) Log(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Log(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Div(g, a)) })
	}
	return out
}

// Sqrt returns √a.
func (tp *Tape) Sqrt(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Sqrt(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Div(tensor.Scale(g, 0.5), out)) })
	}
	return out
}

// Sin returns sin a.
func (tp *Tape) Sin(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Sin(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Mul(g, tensor.Cos(a))) })
	}
	return out
}

// Cos returns cos a.
func (tp *Tape) Cos(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Cos(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Scale(tensor.Mul(g, tensor.Sin(a)), -1)) })
	}
	return out
}

// ReLU returns max(a, 0).
func (tp *Tape) ReLU(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.ReLU(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.ReLUBackward(a, g)) })
	}
	return out
}

// GELU returns the exact GELU of a.
func (tp *Tape) GELU(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.GELU(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.GELUBackward(a, g)) })
	}
	return out
}

// Sigmoid returns 1/(1+e^-a).
func (tp *Tape) Sigmoid(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Sigmoid(a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.SigmoidBackward(out, g)) })
	}
	return out
}

// reducedKeep returns a's shape with axis set to 1.
func reducedKeep(a *tensor.Tensor, axis int) []int {
	if axis < 0 {
		axis += a.Rank()
	}
	s := append([]int(nil), a.Shape()...)
	s[axis] = 1
	return s
}

// Sum sums over axis.
func (tp *Tape) Sum(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	out := tensor.Sum(a, axis, keepdim)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) {
			tp.Accum(a, tensor.BroadcastTo(g.Reshape(reducedKeep(a, axis)...), a.Shape()...))
		})
	}
	return out
}

// Mean averages over axis.
func (tp *Tape) Mean(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	out := tensor.Mean(a, axis, keepdim)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) {
			n := a.Dim(axis)
			tp.Accum(a, tensor.Scale(tensor.BroadcastTo(g.Reshape(reducedKeep(a, axis)...), a.Shape()...), 1/float32(n)))
		})
	}
	return out
}

// Max returns the maximum over axis (gradient to the first maximum).
func (tp *Tape) Max(a *tensor.Tensor, axis int, keepdim bool) *tensor.Tensor {
	out := tensor.Max(a, axis, keepdim)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.MaxBackward(a, g, axis)) })
	}
	return out
}

// Reshape returns a view of a with a new shape.
func (tp *Tape) Reshape(a *tensor.Tensor, shape ...int) *tensor.Tensor {
	out := a.Reshape(shape...)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, g.Reshape(a.Shape()...)) })
	}
	return out
}

// Permute reorders axes.
func (tp *Tape) Permute(a *tensor.Tensor, axes ...int) *tensor.Tensor {
	out := tensor.Permute(a, axes...)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) {
			inv := make([]int, len(axes))
			for i, ax := range axes {
				if ax < 0 {
					ax += len(axes)
				}
				inv[ax] = i
			}
			tp.Accum(a, tensor.Permute(g, inv...))
		})
	}
	return out
}

// Transpose swaps two axes.
func (tp *Tape) Transpose(a *tensor.Tensor, i, j int) *tensor.Tensor {
	out := tensor.Transpose(a, i, j)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Transpose(g, i, j)) })
	}
	return out
}

// Slice returns a[..., start:end, ...] along axis.
func (tp *Tape) Slice(a *tensor.Tensor, axis, start, end int) *tensor.Tensor {
	out := tensor.Slice(a, axis, start, end)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) {
			ax := axis
			if ax < 0 {
				ax += a.Rank()
			}
			before, after := make([]int, a.Rank()), make([]int, a.Rank())
			before[ax] = start
			after[ax] = a.Dim(ax) - start - g.Dim(ax)
			tp.Accum(a, tensor.Pad(g, before, after, 0))
		})
	}
	return out
}

// Concat joins tensors along axis.
func (tp *Tape) Concat(axis int, ts ...*tensor.Tensor) *tensor.Tensor {
	out := tensor.Concat(axis, ts...)
	if tp.Recording(ts...) {
		tp.Record(out, func(g *tensor.Tensor) {
			ax := axis
			if ax < 0 {
				ax += out.Rank()
			}
			off := 0
			for _, t := range ts {
				n := t.Dim(ax)
				if tp.Live(t) {
					tp.Accum(t, tensor.Slice(g, ax, off, off+n))
				}
				off += n
			}
		})
	}
	return out
}

// Stack joins equal-shaped tensors along a new axis.
func (tp *Tape) Stack(axis int, ts ...*tensor.Tensor) *tensor.Tensor {
	out := tensor.Stack(axis, ts...)
	if tp.Recording(ts...) {
		tp.Record(out, func(g *tensor.Tensor) {
			ax := axis
			if ax < 0 {
				ax += out.Rank()
			}
			for i, t := range ts {
				if tp.Live(t) {
					tp.Accum(t, tensor.Slice(g, ax, i, i+1).Reshape(t.Shape()...))
				}
			}
		})
	}
	return out
}

// Pad pads each axis with a constant.
func (tp *Tape) Pad(a *tensor.Tensor, before, after []int, value float32) *tensor.Tensor {
	out := tensor.Pad(a, before, after, value)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) {
			for ax := range before {
				if before[ax] != 0 || after[ax] != 0 {
					g = tensor.Slice(g, ax, before[ax], before[ax]+a.Dim(ax))
				}
			}
			tp.Accum(a, g)
		})
	}
	return out
}

// IndexSelect gathers indices along axis.
func (tp *Tape) IndexSelect(a *tensor.Tensor, axis int, idx []int) *tensor.Tensor {
	out := tensor.IndexSelect(a, axis, idx)
	if tp.Recording(a) {
		idx := append([]int(nil), idx...) // the caller may reuse its slice before Backward
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.IndexSelectBackward(a.Shape(), g, axis, idx)) })
	}
	return out
}

// MatMul multiplies the last two axes (see tensor.MatMul).
func (tp *Tape) MatMul(a, b *tensor.Tensor, transA, transB bool) *tensor.Tensor {
	out := tensor.MatMul(a, b, transA, transB)
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			// With A' = op(A), B' = op(B): dA' = g B'^T, dB' = A'^T g.
			if tp.Live(a) {
				var da *tensor.Tensor
				if transA {
					da = tensor.MatMul(b, g, transB, true) // (g B'^T)^T = B' g^T
				} else {
					da = tensor.MatMul(g, b, false, !transB)
				}
				tp.Accum(a, tensor.SumTo(da, a.Shape()...))
			}
			if tp.Live(b) {
				tp.Accum(b, matMulGradB(a, g, b.Shape(), transA, transB))
			}
		})
	}
	return out
}

// matMulGradB returns d loss / d b for out = op(a)·op(b), summing over broadcast batches.
func matMulGradB(a, g *tensor.Tensor, bShape []int, transA, transB bool) *tensor.Tensor {
	if len(bShape) == 2 && !transA && a.Rank() > 2 {
		// b shared by every batch: fold the batches of a and g into rows.
		k := a.Dim(-1)
		a2 := a.Reshape(-1, k)
		g2 := g.Reshape(-1, g.Dim(-1))
		if transB {
			return tensor.MatMul(g2, a2, true, false)
		}
		return tensor.MatMul(a2, g2, true, false)
	}
	var db *tensor.Tensor
	if transB {
		db = tensor.MatMul(g, a, true, transA) // (A'^T g)^T = g^T A'
	} else {
		db = tensor.MatMul(a, g, !transA, false)
	}
	return tensor.SumTo(db, bShape...)
}

// Linear returns x w^T + b (b may be nil).
func (tp *Tape) Linear(x, w, b *tensor.Tensor) *tensor.Tensor {
	out := tensor.Linear(x, w, b)
	if tp.Recording(x, w, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			nOut := w.Dim(0)
			g2 := g.Reshape(-1, nOut)
			if tp.Live(x) {
				tp.Accum(x, tensor.MatMul(g2, w, false, false).Reshape(x.Shape()...))
			}
			if tp.Live(w) {
				tp.Accum(w, tensor.MatMul(g2, x.Reshape(-1, w.Dim(1)), true, false))
			}
			if b != nil && tp.Live(b) {
				tp.Accum(b, tensor.Sum(g2, 0, false))
			}
		})
	}
	return out
}

// Conv2d is torch's conv2d (square stride and padding); b may be nil.
func (tp *Tape) Conv2d(x, w, b *tensor.Tensor, stride, pad int) *tensor.Tensor {
	out := tensor.Conv2d(x, w, b, stride, pad)
	if tp.Recording(x, w, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx, dw := tensor.Conv2dBackward(x, w, g, stride, pad, tp.Live(x), tp.Live(w))
			tp.Accum(x, dx)
			tp.Accum(w, dw)
			if b != nil && tp.Live(b) {
				tp.Accum(b, tensor.BiasBackwardNCHW(g))
			}
		})
	}
	return out
}

// ConvTranspose2d is torch's conv_transpose2d with kernel == stride.
func (tp *Tape) ConvTranspose2d(x, w, b *tensor.Tensor, stride int) *tensor.Tensor {
	out := tensor.ConvTranspose2d(x, w, b, stride)
	if tp.Recording(x, w, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx, dw := tensor.ConvTranspose2dBackward(x, w, g, stride, tp.Live(x), tp.Live(w))
			tp.Accum(x, dx)
			tp.Accum(w, dw)
			if b != nil && tp.Live(b) {
				tp.Accum(b, tensor.BiasBackwardNCHW(g))
			}
		})
	}
	return out
}

// LayerNorm normalises over the last axis.
func (tp *Tape) LayerNorm(x, w, b *tensor.Tensor, eps float32) *tensor.Tensor {
	out := tensor.LayerNorm(x, w, b, eps)
	if tp.Recording(x, w, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx, dw, db := tensor.LayerNormBackward(x, w, g, eps)
			tp.Accum(x, dx)
			if w != nil {
				tp.Accum(w, dw)
			}
			if b != nil {
				if db == nil {
					db = tensor.SumTo(g, b.Shape()...)
				}
				tp.Accum(b, db)
			}
		})
	}
	return out
}

// LayerNorm2d normalises NCHW over channels.
func (tp *Tape) LayerNorm2d(x, w, b *tensor.Tensor, eps float32) *tensor.Tensor {
	out := tensor.LayerNorm2d(x, w, b, eps)
	if tp.Recording(x, w, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx, dw, db := tensor.LayerNorm2dBackward(x, w, g, eps)
			tp.Accum(x, dx)
			if w != nil {
				tp.Accum(w, dw)
			}
			if b != nil {
				if db == nil {
					db = tensor.BiasBackwardNCHW(g)
				}
				tp.Accum(b, db)
			}
		})
	}
	return out
}

// Softmax over the last axis with an optional keep-mask (see tensor.Softmax). The mask
// gets no gradient.
func (tp *Tape) Softmax(x, mask *tensor.Tensor) *tensor.Tensor {
	out := tensor.Softmax(x, mask)
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(x, tensor.SoftmaxBackward(out, g)) })
	}
	return out
}

// MaskedFill sets value where mask is 0 (no gradient flows to filled cells).
func (tp *Tape) MaskedFill(x, mask *tensor.Tensor, value float32) *tensor.Tensor {
	out := tensor.MaskedFill(x, mask, value)
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(x, tensor.MaskedFill(g, mask, 0)) })
	}
	return out
}

// AvgPool2d is avg_pool2d with count_include_pad=False.
func (tp *Tape) AvgPool2d(x *tensor.Tensor, kernel, stride, pad int) *tensor.Tensor {
	out := tensor.AvgPool2d(x, kernel, stride, pad)
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(x, tensor.AvgPool2dBackward(x.Shape(), g, kernel, stride, pad)) })
	}
	return out
}

// ResizeBilinear is bilinear interpolation with torch's coordinate rules.
func (tp *Tape) ResizeBilinear(x *tensor.Tensor, outH, outW int, alignCorners bool) *tensor.Tensor {
	out := tensor.ResizeBilinear(x, outH, outW, alignCorners)
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(x, tensor.ResizeBilinearBackward(x.Shape(), g, alignCorners)) })
	}
	return out
}

// ResizeNearest is nearest (or nearest-exact) interpolation.
func (tp *Tape) ResizeNearest(x *tensor.Tensor, outH, outW int, exact bool) *tensor.Tensor {
	out := tensor.ResizeNearest(x, outH, outW, exact)
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(x, tensor.ResizeNearestBackward(x.Shape(), g, exact)) })
	}
	return out
}
