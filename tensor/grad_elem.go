package tensor

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/internal/par"
)

// Backward kernels for elementwise ops. Each takes the op's input (or output) and the
// upstream gradient g of the same shape and returns d loss / d input.

func checkSame(op string, a, g *Tensor) {
	if !EqualShape(a.Shape(), g.Shape()) {
		panic(fmt.Sprintf("tensor.%s: input %v and gradient %v differ in shape", op, a.Shape(), g.Shape()))
	}
}

// mapGrad fills out[i] = f(a[i], g[i]) in parallel chunks.
func mapGrad(op string, a, g *Tensor, f func(dst, a, g []float32)) *Tensor {
	checkSame(op, a, g)
	out := New(a.Shape()...)
	par.For(len(a.Data), 1<<14, func(lo, hi int) { f(out.Data[lo:hi], a.Data[lo:hi], g.Data[lo:hi]) })
	return out
}

// ReLUBackward returns g where x > 0 and 0 elsewhere (torch's choice at x == 0).
func ReLUBackward(x, g *Tensor) *Tensor {
	return mapGrad("ReLUBackward", x, g, func(dst, x, g []float32) {
		for i, v := range x {
			if v > 0 {
				dst[i] = g[i]
			}
		}
	})
}

// GELUBackward returns g·(Φ(x) + x·φ(x)), the derivative of the exact (erf) GELU.
func GELUBackward(x, g *Tensor) *Tensor {
	return mapGrad("GELUBackward", x, g, func(dst, x, g []float32) {
		const invSqrt2, invSqrt2Pi = 1 / math.Sqrt2, 0.3989422804014327
		for i, v := range x {
			xf := float64(v)
			cdf := 0.5 * (1 + math.Erf(xf*invSqrt2))
			pdf := invSqrt2Pi * math.Exp(-0.5*xf*xf)
			dst[i] = float32(float64(g[i]) * (cdf + xf*pdf))
		}
	})
}

// SigmoidBackward returns g·y·(1-y) given the sigmoid's output y.
func SigmoidBackward(y, g *Tensor) *Tensor {
	return mapGrad("SigmoidBackward", y, g, func(dst, y, g []float32) {
		for i, s := range y {
			dst[i] = g[i] * s * (1 - s)
		}
	})
}

// AbsBackward returns g·sign(x), with 0 at x == 0 as torch does.
func AbsBackward(x, g *Tensor) *Tensor {
	return mapGrad("AbsBackward", x, g, func(dst, x, g []float32) {
		for i, v := range x {
			switch {
			case v > 0:
				dst[i] = g[i]
			case v < 0:
				dst[i] = -g[i]
			}
		}
	})
}

// ClampBackward returns g where lo <= x <= hi and 0 elsewhere (torch passes the gradient
// at the bounds).
func ClampBackward(x, g *Tensor, lo, hi float32) *Tensor {
	return mapGrad("ClampBackward", x, g, func(dst, x, g []float32) {
		for i, v := range x {
			if v >= lo && v <= hi {
				dst[i] = g[i]
			}
		}
	})
}
