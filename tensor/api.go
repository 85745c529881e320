package tensor

// This file is the contract other packages build on. Bodies that still panic with
// "unimplemented" are being written; signatures change only with a note in
// docs/ARCHITECTURE.md.

// Broadcasting elementwise ops follow NumPy's rules.

// Add returns a + b (broadcasting).
func Add(a, b *Tensor) *Tensor { panic("tensor.Add: unimplemented") }

// Sub returns a - b (broadcasting).
func Sub(a, b *Tensor) *Tensor { panic("tensor.Sub: unimplemented") }

// Mul returns a * b elementwise (broadcasting).
func Mul(a, b *Tensor) *Tensor { panic("tensor.Mul: unimplemented") }

// Div returns a / b elementwise (broadcasting).
func Div(a, b *Tensor) *Tensor { panic("tensor.Div: unimplemented") }

// Scale returns a * s.
func Scale(a *Tensor, s float32) *Tensor { panic("tensor.Scale: unimplemented") }

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor { panic("tensor.AddScalar: unimplemented") }

// AddInPlace adds src (broadcast to dst's shape) into dst.
func AddInPlace(dst, src *Tensor) { panic("tensor.AddInPlace: unimplemented") }

// BroadcastTo returns a copy of a expanded to shape.
func BroadcastTo(a *Tensor, shape ...int) *Tensor { panic("tensor.BroadcastTo: unimplemented") }

// SumTo reduces a (by summing broadcast dimensions) to shape; the adjoint of BroadcastTo.
func SumTo(a *Tensor, shape ...int) *Tensor { panic("tensor.SumTo: unimplemented") }

// Unary elementwise ops.

// Exp returns e^a.
func Exp(a *Tensor) *Tensor { panic("tensor.Exp: unimplemented") }

// Log returns ln a.
func Log(a *Tensor) *Tensor { panic("tensor.Log: unimplemented") }

// Sqrt returns √a.
func Sqrt(a *Tensor) *Tensor { panic("tensor.Sqrt: unimplemented") }

// Sin returns sin a.
func Sin(a *Tensor) *Tensor { panic("tensor.Sin: unimplemented") }

// Cos returns cos a.
func Cos(a *Tensor) *Tensor { panic("tensor.Cos: unimplemented") }

// ReLU returns max(a, 0).
func ReLU(a *Tensor) *Tensor { panic("tensor.ReLU: unimplemented") }

// GELU returns the exact (erf) GELU of a, as torch.nn.GELU().
func GELU(a *Tensor) *Tensor { panic("tensor.GELU: unimplemented") }

// Sigmoid returns 1/(1+e^-a).
func Sigmoid(a *Tensor) *Tensor { panic("tensor.Sigmoid: unimplemented") }

// Reductions. axis may be negative.

// Sum sums over axis.
func Sum(a *Tensor, axis int, keepdim bool) *Tensor { panic("tensor.Sum: unimplemented") }

// Mean averages over axis.
func Mean(a *Tensor, axis int, keepdim bool) *Tensor { panic("tensor.Mean: unimplemented") }

// Max returns the maximum over axis.
func Max(a *Tensor, axis int, keepdim bool) *Tensor { panic("tensor.Max: unimplemented") }

// ArgMax returns the index of the maximum over the last axis, one per row (first on ties).
func ArgMax(a *Tensor) []int { panic("tensor.ArgMax: unimplemented") }

// SumAll returns the sum of all elements, accumulated in float64.
func SumAll(a *Tensor) float64 { panic("tensor.SumAll: unimplemented") }

// Shape ops (all copy).

// Permute reorders the axes: out.shape[i] = a.shape[axes[i]].
func Permute(a *Tensor, axes ...int) *Tensor { panic("tensor.Permute: unimplemented") }

// Transpose swaps axes i and j.
func Transpose(a *Tensor, i, j int) *Tensor { panic("tensor.Transpose: unimplemented") }

// Slice returns a[..., start:end, ...] along axis (step 1).
func Slice(a *Tensor, axis, start, end int) *Tensor { panic("tensor.Slice: unimplemented") }

// Concat joins tensors along axis; other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor { panic("tensor.Concat: unimplemented") }

// Stack joins equal-shaped tensors along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor { panic("tensor.Stack: unimplemented") }

// Pad pads each axis i with before[i] and after[i] elements of value.
func Pad(a *Tensor, before, after []int, value float32) *Tensor { panic("tensor.Pad: unimplemented") }

// IndexSelect gathers the given indices along axis (as torch.index_select).
func IndexSelect(a *Tensor, axis int, idx []int) *Tensor {
	panic("tensor.IndexSelect: unimplemented")
}

// Linear algebra.

// MatMul multiplies the last two axes: a [..., M, K] (or [..., K, M] when transA) by
// b [..., K, N] (or [..., N, K] when transB). Leading (batch) axes broadcast; a 2-D b is
// shared by every batch of a.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor { panic("tensor.MatMul: unimplemented") }

// Linear returns x w^T + b for x [..., in], w [out, in], b [out] or nil (torch's F.linear).
func Linear(x, w, b *Tensor) *Tensor { panic("tensor.Linear: unimplemented") }

// Neural-network kernels. Images are NCHW.

// Conv2d is torch's conv2d with square stride and padding, groups 1; b may be nil.
// x [N, C, H, W], w [O, C, kh, kw].
func Conv2d(x, w, b *Tensor, stride, pad int) *Tensor { panic("tensor.Conv2d: unimplemented") }

// ConvTranspose2d is torch's conv_transpose2d with kernel == stride and no padding;
// x [N, C, H, W], w [C, O, k, k] (torch's layout), b [O] or nil.
func ConvTranspose2d(x, w, b *Tensor, stride int) *Tensor {
	panic("tensor.ConvTranspose2d: unimplemented")
}

// LayerNorm normalises over the last axis: (x-mean)/sqrt(var+eps)*w + b (biased variance).
func LayerNorm(x, w, b *Tensor, eps float32) *Tensor { panic("tensor.LayerNorm: unimplemented") }

// LayerNorm2d normalises NCHW over C at each pixel, as SAM's LayerNorm2d.
func LayerNorm2d(x, w, b *Tensor, eps float32) *Tensor {
	panic("tensor.LayerNorm2d: unimplemented")
}

// Softmax over the last axis. mask, if not nil, broadcasts to x; where it is 0 the
// probability is 0 (as filling -inf). A row with nothing kept is all zeros.
func Softmax(x, mask *Tensor) *Tensor { panic("tensor.Softmax: unimplemented") }

// MaskedFill returns x with value where mask (broadcast to x) is 0.
func MaskedFill(x, mask *Tensor, value float32) *Tensor { panic("tensor.MaskedFill: unimplemented") }

// AvgPool2d is torch's avg_pool2d with count_include_pad=False.
func AvgPool2d(x *Tensor, kernel, stride, pad int) *Tensor {
	panic("tensor.AvgPool2d: unimplemented")
}

// ResizeBilinear is F.interpolate(mode="bilinear") on NCHW with torch's coordinate rules.
func ResizeBilinear(x *Tensor, outH, outW int, alignCorners bool) *Tensor {
	panic("tensor.ResizeBilinear: unimplemented")
}

// ResizeNearest is F.interpolate(mode="nearest") or, when exact, mode="nearest-exact".
func ResizeNearest(x *Tensor, outH, outW int, exact bool) *Tensor {
	panic("tensor.ResizeNearest: unimplemented")
}
