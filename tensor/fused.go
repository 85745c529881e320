package tensor

// Fused and in-place variants for inference paths that want fewer passes over memory or
// fewer allocations. Each equals the composition of the plain ops it replaces (tested in
// TestInPlaceVariants / TestLinearGELU):
//
//	AddInPlace, SubInPlace, MulInPlace   dst op= src (src broadcast to dst)
//	ScaleInPlace, ReLUInPlace, GELUInPlace
//	SoftmaxInPlace, LayerNormInPlace
//	LinearGELU                            GELU(Linear(x, w, b)) with one output buffer

// LinearGELU returns GELU(x wᵀ + b) (exact erf GELU), applying the activation in place on
// the GEMM's output.
func LinearGELU(x, w, b *Tensor) *Tensor {
	out := linear(x, w, b)
	GELUInPlace(out)
	return out
}
