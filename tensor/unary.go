package tensor

import (
	"math"

	"github.com/aisam/aisam/internal/vec"
)

func expSlice(dst, src []float32) { vec.Exp(dst, src) }

func logSlice(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Log(float64(v)))
	}
}

func sqrtSlice(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Sqrt(float64(v)))
	}
}

func sinSlice(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Sin(float64(v)))
	}
}

func cosSlice(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(math.Cos(float64(v)))
	}
}

func reluSlice(dst, src []float32) {
	for i, v := range src {
		if v > 0 {
			dst[i] = v
		} else if v != v {
			dst[i] = v // NaN propagates, as torch.relu
		} else {
			dst[i] = 0
		}
	}
}

func geluSlice(dst, src []float32) { vec.GELU(dst, src) }

func sigmoidSlice(dst, src []float32) {
	for i, v := range src {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// GELUInPlace replaces every element of a with its exact (erf) GELU; the fast inference
// path uses it on the MLP hidden activations to avoid a second 4x-wide buffer.
func GELUInPlace(a *Tensor) { mapUnary(a.Data, a.Data, geluSlice) }

// ReLUInPlace replaces every element of a with max(a, 0).
func ReLUInPlace(a *Tensor) { mapUnary(a.Data, a.Data, reluSlice) }

// ScaleInPlace multiplies every element of a by s.
func ScaleInPlace(a *Tensor, s float32) {
	mapUnary(a.Data, a.Data, func(d, x []float32) {
		for i, v := range x {
			d[i] = v * s
		}
	})
}

// SubInPlace subtracts src (broadcast to dst's shape) from dst.
func SubInPlace(dst, src *Tensor) { binaryInto("SubInPlace", opSub, dst, dst, src) }

// MulInPlace multiplies dst by src (broadcast to dst's shape) elementwise.
func MulInPlace(dst, src *Tensor) { binaryInto("MulInPlace", opMul, dst, dst, src) }
