// Package vec holds the row kernels that tensor's hot loops are made of: exp, exact GELU,
// softmax and LayerNorm over one contiguous row. Each works on whole slices so that the
// caller pays no per-element call. On amd64 with AVX2 and FMA the bulk of each row runs in
// assembly (vec_amd64.s); the portable Go versions below compute the same formulas and
// handle the tails, and both are checked against float64 references in vec_test.go.
package vec

import "math"

// Exp sets dst[i] = e^src[i], correctly rounded via float64 (the accurate, slow exp that
// tensor.Exp uses; softmax uses the fast one inside ExpSubSum).
func Exp(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// Constants of the fast float32 exp: Cody-Waite reduction x = n·ln2 + r with ln2 split in
// two (c1 exact in 9 bits), then e^r by a degree-6 polynomial with fixed 1 + r and the
// rest fitted here for minimum relative error on |r| <= ln2/2 (4.1e-9), then scaling by
// 2^n through the exponent bits. n is rounded by adding expMagic = 1.5·2^23 + 127, which
// leaves n+127 in the low mantissa bits: shifted left by 23 they are the bits of 2^n.
const (
	expLo    = -87.33654 // below this e^x is under the smallest normal float32: result 0
	expHi    = 88.0      // inputs are clamped here so 2^n stays finite (n <= 127)
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expMagic = 12583039 // 1.5·2^23 + 127
)

var expPoly = [...]float32{
	math.Float32frombits(0x3ab5115c), math.Float32frombits(0x3c091cb8), math.Float32frombits(0x3d2aac79),
	math.Float32frombits(0x3e2aaa49), math.Float32frombits(0x3efffffe), 1, 1,
}

func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// exp32 is the scalar twin of the assembly exp: within ~2 ulp of e^x for x <= 88, 0 below
// -87.34 (so -Inf gives 0), NaN for NaN.
func exp32(x float32) float32 {
	if x != x {
		return x
	}
	if x < expLo {
		return 0
	}
	x = min(x, expHi)
	t := fma32(x, expLog2e, expMagic)
	n := t - expMagic
	r := fma32(-n, expC1, x)
	r = fma32(-n, expC2, r)
	p := expPoly[0]
	for _, c := range expPoly[1:] {
		p = fma32(p, r, c)
	}
	return p * math.Float32frombits(math.Float32bits(t)<<23)
}

// erfcPoly is P in erfc(z) = t·exp(-z²+P(t)), t = 2/(2+z), fitted here by iteratively
// reweighted least squares over z in [0, 10] (max relative error 1.2e-7 in exact arithmetic).
var erfcPoly = [...]float32{
	1.4281938970e-01, -6.6928809881e-01, 1.1295499802e+00, -6.6015237570e-01, -1.0994997621e-01,
	1.6854295507e-02, 2.9391290620e-02, 3.8770529628e-01, 9.9851256609e-01, -1.2654422522e+00,
}

// gelu32 is x·Φ(x) with Φ(x) = 1-erfc(z)/2 for x >= 0 and erfc(z)/2 for x < 0, z = |x|/√2:
// no cancellation on either side, so the result is good to a few 1e-7 relative. The
// exponent -z² is formed as fma(-|x|, |x|/2, P) so that it is rounded once.
func gelu32(x float32) float32 {
	a := float32(math.Abs(float64(x)))
	z := a * float32(1/math.Sqrt2)
	t := 2 / (2 + z)
	p := erfcPoly[0]
	for _, c := range erfcPoly[1:] {
		p = fma32(p, t, c)
	}
	e := fma32(-a, a*0.5, p)
	q := 0.5 * t * exp32(e)
	if math.Signbit(float64(x)) {
		return x * q
	}
	return x * (1 - q)
}

func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

func expSubSumGo(dst, src []float32, m float32) float64 {
	var s float64
	for i, v := range src {
		e := exp32(v - m)
		dst[i] = e
		s += float64(e)
	}
	return s
}

func scaleGo(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func geluGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = gelu32(v)
	}
}

func sumGo(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func sumSqDevGo(x []float32, mhi, mlo float32) float64 {
	var s float64
	for _, v := range x {
		d := float64((v - mhi) - mlo)
		s += d * d
	}
	return s
}

func normGo(dst, x, w, b []float32, mhi, mlo, r float32) {
	for i, v := range x {
		dst[i] = fma32(((v-mhi)-mlo)*r, w[i], b[i])
	}
}

// Max returns the largest element of x (NaN if any is NaN); x must not be empty.
func Max(x []float32) float32 {
	if !useAVX2 {
		return maxGo(x)
	}
	n := len(x) &^ 7
	if n == len(x) {
		return maxAVX2(x)
	}
	// The tail is padded with copies of its first element, which cannot change the max.
	var buf [8]float32
	for i := range buf {
		buf[i] = x[n]
	}
	copy(buf[:], x[n:])
	m := maxAVX2(buf[:])
	if n > 0 {
		if h := maxAVX2(x[:n]); h > m || h != h {
			m = h
		}
	}
	return m
}

// ExpSubSum sets dst[i] = e^(src[i]-m) with the fast float32 exp (~2 ulp; exactly 0 where
// src[i]-m < -87.3, so -Inf and -999 logits vanish) and returns the sum of the dst values,
// accumulated in float64 (the assembly first adds pairs in float32, so the sum is within
// 2^-24 relative of the exact one). It is the middle pass of a softmax; dst may alias src.
func ExpSubSum(dst, src []float32, m float32) float64 {
	dst = dst[:len(src)]
	if !useAVX2 {
		return expSubSumGo(dst, src, m)
	}
	n := len(src) &^ 7
	var s float64
	if n > 0 {
		s = expSubSumAVX2(dst[:n], src[:n], m)
	}
	if n < len(src) {
		// The tail goes through the same kernel, padded with -Inf (which gives 0), so
		// every element gets the same rounding wherever it sits in the row.
		var buf [8]float32
		inf := float32(math.Inf(-1))
		for i := range buf {
			buf[i] = inf
		}
		copy(buf[:], src[n:])
		s += expSubSumAVX2(buf[:], buf[:], m)
		copy(dst[n:], buf[:])
	}
	return s
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	n := len(x) &^ 7
	if useAVX2 && n > 0 {
		scaleAVX2(x[:n], s)
	} else {
		n = 0
	}
	scaleGo(x[n:], s)
}

// GELU sets dst[i] to the exact GELU x·Φ(x) = x/2·(1+erf(x/√2)) of src[i] (as
// torch.nn.GELU()), to a few 1e-7 relative; dst may alias src.
func GELU(dst, src []float32) {
	dst = dst[:len(src)]
	if !useAVX2 {
		geluGo(dst, src)
		return
	}
	n := len(src) &^ 7
	if n > 0 {
		geluAVX2(dst[:n], src[:n])
	}
	if n < len(src) {
		var buf [8]float32
		copy(buf[:], src[n:])
		geluAVX2(buf[:], buf[:])
		copy(dst[n:], buf[:])
	}
}

// Softmax writes the softmax of src to dst (which may alias src), subtracting the maximum
// first so that large logits do not overflow.
func Softmax(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	m := Max(src)
	s := ExpSubSum(dst, src, m)
	Scale(dst[:len(src)], float32(1/s))
}

// Sum returns the sum of x accumulated in float64.
func Sum(x []float32) float64 {
	n := len(x) &^ 7
	var s float64
	if useAVX2 && n > 0 {
		s = sumAVX2(x[:n])
	} else {
		n = 0
	}
	return s + sumGo(x[n:])
}

// MeanVar returns the mean and the biased variance of x, accumulated in float64 in two
// passes so that a large mean does not cancel the variance.
func MeanVar(x []float32) (mean, variance float64) {
	if len(x) == 0 {
		return 0, 0
	}
	mean = Sum(x) / float64(len(x))
	mhi := float32(mean)
	mlo := float32(mean - float64(mhi))
	return mean, sumSqDev(x, mhi, mlo) / float64(len(x))
}

// sumSqDev returns Σ((x-mhi)-mlo)² in float64; mhi+mlo is the mean split in two floats so
// that the deviations are exact to float32 rounding however large the mean.
func sumSqDev(x []float32, mhi, mlo float32) float64 {
	n := len(x) &^ 7
	var s float64
	if useAVX2 && n > 0 {
		s = sumSqDevAVX2(x[:n], mhi, mlo)
	} else {
		n = 0
	}
	return s + sumSqDevGo(x[n:], mhi, mlo)
}

// LayerNorm writes (x-mean)/sqrt(var+eps)·w + b of the row x to dst (which may alias x);
// w and b may be nil (1 and 0). Statistics are accumulated in float64; the result is good
// to ~3e-7 relative.
func LayerNorm(dst, x, w, b []float32, eps float32) {
	if len(x) == 0 {
		return
	}
	mean := Sum(x) / float64(len(x))
	mhi := float32(mean)
	mlo := float32(mean - float64(mhi))
	variance := sumSqDev(x, mhi, mlo) / float64(len(x))
	r := float32(1 / math.Sqrt(variance+float64(eps)))
	dst = dst[:len(x)]
	if w != nil && b != nil {
		w, b = w[:len(x)], b[:len(x)]
		n := len(x) &^ 7
		if useAVX2 && n > 0 {
			normAVX2(dst[:n], x[:n], w[:n], b[:n], mhi, mlo, r)
		} else {
			n = 0
		}
		normGo(dst[n:], x[n:], w[n:], b[n:], mhi, mlo, r)
		return
	}
	for i, v := range x {
		y := ((v - mhi) - mlo) * r
		if w != nil {
			y *= w[i]
		}
		if b != nil {
			y += b[i]
		}
		dst[i] = y
	}
}

func blendGo(dst, a, b []float32, wa, wb float32) {
	for i := range dst {
		dst[i] = fma32(a[i], wa, b[i]*wb)
	}
}

// Blend sets dst[i] = a[i]·wa + b[i]·wb, the product b[i]·wb rounded and the rest fused
// (one rounding), as compilers contract torch's "t0*w0 + t1*w1" in its interpolation
// kernels. len(a) and len(b) must be >= len(dst).
func Blend(dst, a, b []float32, wa, wb float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	n := len(dst) &^ 7
	if useAVX2 && n > 0 {
		blendAVX2(dst[:n], a[:n], b[:n], wa, wb)
	} else {
		n = 0
	}
	blendGo(dst[n:], a[n:], b[n:], wa, wb)
}

func biasGeluGo(dst, src, bias []float32) {
	for i, v := range src {
		dst[i] = gelu32(v + bias[i])
	}
}

// BiasGELU sets dst[i] = GELU(src[i] + bias[i]): a linear layer's bias and activation in
// one pass over its output row. dst may alias src; len(bias) must be >= len(src).
func BiasGELU(dst, src, bias []float32) {
	dst, bias = dst[:len(src)], bias[:len(src)]
	if !useAVX2 {
		biasGeluGo(dst, src, bias)
		return
	}
	n := len(src) &^ 7
	if n > 0 {
		biasGeluAVX2(dst[:n], src[:n], bias[:n])
	}
	if n < len(src) {
		var buf, bb [8]float32
		copy(buf[:], src[n:])
		copy(bb[:], bias[n:])
		biasGeluAVX2(buf[:], buf[:], bb[:])
		copy(dst[n:], buf[:])
	}
}
