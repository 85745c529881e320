package tensor

// This file is the contract other packages build on; signatures change only with a note
// in docs/ARCHITECTURE.md. The kernels live in the other files of the package.

// Broadcasting elementwise ops follow NumPy's rules.

// Add returns a + b (broadcasting).
func Add(a, b *Tensor) *Tensor {
	return binaryOp(opAdd, a, b)
}

// Sub returns a - b (broadcasting).
func Sub(a, b *Tensor) *Tensor {
	return binaryOp(opSub, a, b)
}

// Mul returns a * b elementwise (broadcasting).
func Mul(a, b *Tensor) *Tensor {
	return binaryOp(opMul, a, b)
}

// Div returns a / b elementwise (broadcasting).
func Div(a, b *Tensor) *Tensor {
	return binaryOp(opDiv, a, b)
}

// Scale returns a * s.
func Scale(a *Tensor, s float32) *Tensor {
	return unary(a, func(d, x []float32) {
		for i, v := range x {
			d[i] = v * s
		}
	})
}

// AddScalar returns a + s.
func AddScalar(a *Tensor, s float32) *Tensor {
	return unary(a, func(d, x []float32) {
		for i, v := range x {
			d[i] = v + s
		}
	})
}

// AddInPlace adds src (broadcast to dst's shape) into dst.
func AddInPlace(dst, src *Tensor) {
	binaryInto("AddInPlace", opAdd, dst, dst, src)
}

// BroadcastTo returns a copy of a expanded to shape.
func BroadcastTo(a *Tensor, shape ...int) *Tensor {
	return broadcastTo(a, shape)
}

// SumTo reduces a (by summing broadcast dimensions) to shape; the adjoint of BroadcastTo.
func SumTo(a *Tensor, shape ...int) *Tensor {
	return sumTo(a, shape)
}

// Unary elementwise ops.

// Exp returns e^a.
func Exp(a *Tensor) *Tensor {
	return unary(a, expSlice)
}

// Log returns ln a.
func Log(a *Tensor) *Tensor {
	return unary(a, logSlice)
}

// Sqrt returns √a.
func Sqrt(a *Tensor) *Tensor {
	return unary(a, sqrtSlice)
}

// Sin returns sin a.
func Sin(a *Tensor) *Tensor {
	return unary(a, sinSlice)
}

// Cos returns cos a.
func Cos(a *Tensor) *Tensor {
	return unary(a, cosSlice)
}

// ReLU returns max(a, 0).
func ReLU(a *Tensor) *Tensor {
	return unary(a, reluSlice)
}

// GELU returns the exact (erf) GELU of a, as torch.nn.GELU().
func GELU(a *Tensor) *Tensor {
	return unary(a, geluSlice)
}

// Sigmoid returns 1/(1+e^-a).
func Sigmoid(a *Tensor) *Tensor {
	return unary(a, sigmoidSlice)
}

// Reductions. axis may be negative.

// Sum sums over axis.
func Sum(a *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("Sum", redSum, a, axis, keepdim)
}

// Mean averages over axis.
func Mean(a *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("Mean", redMean, a, axis, keepdim)
}

// Max returns the maximum over axis.
func Max(a *Tensor, axis int, keepdim bool) *Tensor {
	return reduce("Max", redMax, a, axis, keepdim)
}

// ArgMax returns the index of the maximum over the last axis, one per row (first on ties).
func ArgMax(a *Tensor) []int {
	return argMax(a)
}

// SumAll returns the sum of all elements, accumulated in float64.
func SumAll(a *Tensor) float64 {
	return sumAll(a)
}

// Shape ops (all copy).

// Permute reorders the axes: out.shape[i] = a.shape[axes[i]].
func Permute(a *Tensor, axes ...int) *Tensor {
	return permute(a, axes)
}

// Transpose swaps axes i and j.
func Transpose(a *Tensor, i, j int) *Tensor {
	return transpose(a, i, j)
}

// Slice returns a[..., start:end, ...] along axis (step 1).
func Slice(a *Tensor, axis, start, end int) *Tensor {
	return slice(a, axis, start, end)
}

// Concat joins tensors along axis; other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	return concat(axis, ts)
}

// Stack joins equal-shaped tensors along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor {
	return stack(axis, ts)
}

// Pad pads each axis i with before[i] and after[i] elements of value.
func Pad(a *Tensor, before, after []int, value float32) *Tensor {
	return pad(a, before, after, value)
}

// IndexSelect gathers the given indices along axis (as torch.index_select).
func IndexSelect(a *Tensor, axis int, idx []int) *Tensor {
	return indexSelect(a, axis, idx)
}

// Linear algebra.

// MatMul multiplies the last two axes: a [..., M, K] (or [..., K, M] when transA) by
// b [..., K, N] (or [..., N, K] when transB). Leading (batch) axes broadcast; a 2-D b is
// shared by every batch of a.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	return matMul(a, b, transA, transB)
}

// Linear returns x w^T + b for x [..., in], w [out, in], b [out] or nil (torch's F.linear).
func Linear(x, w, b *Tensor) *Tensor {
	return linear(x, w, b)
}

// Neural-network kernels. Images are NCHW.

// Conv2d is torch's conv2d with square stride and padding, groups 1; b may be nil.
// x [N, C, H, W], w [O, C, kh, kw].
func Conv2d(x, w, b *Tensor, stride, pad int) *Tensor {
	return conv2d(x, w, b, stride, pad)
}

// ConvTranspose2d is torch's conv_transpose2d with kernel == stride and no padding;
// x [N, C, H, W], w [C, O, k, k] (torch's layout), b [O] or nil.
func ConvTranspose2d(x, w, b *Tensor, stride int) *Tensor {
	return convTranspose2d(x, w, b, stride)
}

// LayerNorm normalises over the last axis: (x-mean)/sqrt(var+eps)*w + b (biased variance).
func LayerNorm(x, w, b *Tensor, eps float32) *Tensor {
	return layerNorm(x, w, b, eps)
}

// LayerNorm2d normalises NCHW over C at each pixel, as SAM's LayerNorm2d.
func LayerNorm2d(x, w, b *Tensor, eps float32) *Tensor {
	return layerNorm2d(x, w, b, eps)
}

// Softmax over the last axis. mask, if not nil, broadcasts to x; where it is 0 the
// probability is 0 (as filling -inf). A row with nothing kept is all zeros.
func Softmax(x, mask *Tensor) *Tensor {
	return softmax(x, mask)
}

// MaskedFill returns x with value where mask (broadcast to x) is 0.
func MaskedFill(x, mask *Tensor, value float32) *Tensor {
	return maskedFill(x, mask, value)
}

// AvgPool2d is torch's avg_pool2d with count_include_pad=False.
func AvgPool2d(x *Tensor, kernel, stride, pad int) *Tensor {
	return avgPool2d(x, kernel, stride, pad)
}

// ResizeBilinear is F.interpolate(mode="bilinear") on NCHW with torch's coordinate rules.
func ResizeBilinear(x *Tensor, outH, outW int, alignCorners bool) *Tensor {
	return resizeBilinear(x, outH, outW, alignCorners)
}

// ResizeNearest is F.interpolate(mode="nearest") or, when exact, mode="nearest-exact".
func ResizeNearest(x *Tensor, outH, outW int, exact bool) *Tensor {
	return resizeNearest(x, outH, outW, exact)
}
