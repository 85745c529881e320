package tensor

import (
	"fmt"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
)

// Fused and in-place variants for inference paths that want fewer passes over memory or
// fewer allocations. Each equals the composition of the plain ops it replaces (tested in
// TestInPlaceVariants / TestLinearGELU):
//
//	AddInPlace, SubInPlace, MulInPlace   dst op= src (src broadcast to dst)
//	ScaleInPlace, ReLUInPlace, GELUInPlace
//	SoftmaxInPlace, LayerNormInPlace
//	LinearGELU                            GELU(Linear(x, w, b)) with one output buffer

// LinearGELU returns GELU(x wᵀ + b) (exact erf GELU): the bias and the activation are
// applied together in one pass over the GEMM's output.
func LinearGELU(x, w, b *Tensor) *Tensor {
	if b == nil {
		out := linear(x, w, nil)
		GELUInPlace(out)
		return out
	}
	n := len(b.Data)
	if len(w.shape) != 2 || n != w.shape[0] {
		panic(fmt.Sprintf("tensor.LinearGELU: bias %v for weight %v", b.shape, w.shape))
	}
	out := linear(x, w, nil)
	if n == 0 {
		return out
	}
	par.For(len(out.Data)/n, max(1, elemGrain/n), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := out.Data[r*n : (r+1)*n]
			vec.BiasGELU(row, row, b.Data)
		}
	})
	return out
}
