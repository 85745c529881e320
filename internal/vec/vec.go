// Package vec holds the row kernels that tensor's hot loops are made of: exp, exact GELU,
// softmax and LayerNorm over one contiguous row. Each works on whole slices so that the
// caller pays no per-element call, and each is checked against a float64 reference.
package vec

import "math"

// Exp sets dst[i] = e^src[i]; len(dst) must be >= len(src).
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// GELU sets dst[i] to the exact GELU x·Φ(x) = x/2·(1+erf(x/√2)) of src[i].
func GELU(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		x := float64(v)
		dst[i] = float32(0.5 * x * (1 + math.Erf(x*(1/math.Sqrt2))))
	}
}

// Softmax writes the softmax of src to dst (which may alias src), subtracting the maximum
// first so that large logits do not overflow.
func Softmax(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	m := src[0]
	for _, v := range src[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for i, v := range src {
		e := float32(math.Exp(float64(v - m)))
		dst[i] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	for i := range dst {
		dst[i] *= inv
	}
}

// MeanVar returns the mean and the biased variance of x, accumulated in float64 in two
// passes so that a large mean does not cancel the variance.
func MeanVar(x []float32) (mean, variance float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var q float64
	for _, v := range x {
		d := float64(v) - mean
		q += d * d
	}
	return mean, q / float64(len(x))
}

// LayerNorm writes (x-mean)/sqrt(var+eps)·w + b of the row x to dst (which may alias x);
// w and b may be nil (1 and 0).
func LayerNorm(dst, x, w, b []float32, eps float32) {
	mean, variance := MeanVar(x)
	rstd := 1 / math.Sqrt(variance+float64(eps))
	dst = dst[:len(x)]
	for i, v := range x {
		y := (float64(v) - mean) * rstd
		if w != nil {
			y *= float64(w[i])
		}
		if b != nil {
			y += float64(b[i])
		}
		dst[i] = float32(y)
	}
}
