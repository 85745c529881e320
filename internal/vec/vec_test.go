package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func ulps(a, b float32) int64 {
	if a == b {
		return 0
	}
	x, y := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if x < 0 {
		x = math.MinInt32 - x
	}
	if y < 0 {
		y = math.MinInt32 - y
	}
	if x > y {
		return x - y
	}
	return y - x
}

// withPaths runs f once on the assembly path (where available) and once on the Go path.
func withPaths(t *testing.T, f func(t *testing.T)) {
	t.Run("default", f)
	if setAVX2(false) {
		defer setAVX2(true)
		t.Run("go", f)
	}
}

func TestExp32(t *testing.T) {
	var worst int64
	for x := float32(-87.3); x <= 88; x += 0.00731 {
		got := exp32(x)
		want := float32(math.Exp(float64(x)))
		if u := ulps(got, want); u > worst {
			worst = u
		}
	}
	if worst > 2 {
		t.Errorf("exp32: worst error %d ulp, want <= 2", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-88, 0}, {-1000, 0}, {float32(math.Inf(-1)), 0},
	} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := exp32(float32(math.NaN())); nan == nan {
		t.Errorf("exp32(NaN) = %v", nan)
	}
}

func geluRef(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func TestGELU(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		var xs []float32
		for x := float32(-12); x <= 12; x += 0.000917 {
			xs = append(xs, x)
		}
		xs = append(xs, 0, 1e-20, -1e-20, 1e-3, -1e-3, 30, -30, 1e6)
		got := make([]float32, len(xs))
		GELU(got, xs)
		var worstRel, worstAbs float64
		for i, x := range xs {
			want := geluRef(float64(x))
			d := math.Abs(float64(got[i]) - want)
			worstAbs = math.Max(worstAbs, d/math.Max(1, math.Abs(float64(x))))
			if math.Abs(want) > 1e-4 {
				worstRel = math.Max(worstRel, d/math.Abs(want))
			}
		}
		// Relative where the value is not tiny, absolute (scaled by |x|) everywhere. The
		// relative error peaks (~6e-7) in the negative tail, where exp's argument -x²/2
		// carries half an ulp of rounding; torch's own 1+erf form is far worse there.
		if !(worstRel <= 8e-7 && worstAbs <= 2e-7) {
			t.Errorf("GELU: worst relative error %g, worst |x|-scaled absolute error %g", worstRel, worstAbs)
		}
		// Hand value: Φ(1) = 0.8413447460685429.
		one := []float32{1, -1}
		GELU(one, one)
		if !(math.Abs(float64(one[0])-0.8413447460685429) <= 1e-7) || !(math.Abs(float64(one[1])+0.15865525393145707) <= 1e-7) {
			t.Errorf("GELU(±1) = %v", one)
		}
		inf := []float32{float32(math.Inf(1)), float32(math.NaN())}
		GELU(inf, inf)
		if !math.IsInf(float64(inf[0]), 1) || inf[1] == inf[1] {
			t.Errorf("GELU(+Inf, NaN) = %v", inf)
		}
	})
}

func TestSoftmax(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, n := range []int{1, 3, 8, 9, 31, 196, 4096} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 20)
			}
			if n > 2 {
				x[1] = -999 // AI-SAM's fill value: must give exactly 0 weight
				x[2] = float32(math.Inf(-1))
			}
			got := make([]float32, n)
			Softmax(got, x)
			m := math.Inf(-1)
			for _, v := range x {
				m = math.Max(m, float64(v))
			}
			var s float64
			for _, v := range x {
				s += math.Exp(float64(v) - m)
			}
			for i, v := range x {
				want := math.Exp(float64(v)-m) / s
				if !(math.Abs(float64(got[i])-want) <= 1e-7+4e-7*want) {
					t.Fatalf("n=%d: softmax[%d] = %v, want %v", n, i, got[i], want)
				}
			}
			if n > 2 && (got[1] != 0 || got[2] != 0) {
				t.Errorf("n=%d: -999 and -Inf logits got %v, %v, want 0", n, got[1], got[2])
			}
		}
	})
}

func TestMax(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		for n := 1; n < 40; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			x[n/2] = 100
			if got := Max(x); got != 100 {
				t.Fatalf("n=%d: Max = %v, want 100", n, got)
			}
			x[n-1] = float32(math.NaN())
			if got := Max(x); got == got {
				t.Fatalf("n=%d: Max with NaN = %v", n, got)
			}
		}
	})
}

func TestLayerNormRow(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{1, 7, 32, 33, 768} {
			for _, shift := range []float64{0, 1000} {
				x, w, b := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64() + shift)
					w[i] = float32(1 + 0.1*rng.NormFloat64())
					b[i] = float32(0.1 * rng.NormFloat64())
				}
				got := make([]float32, n)
				LayerNorm(got, x, w, b, 1e-6)
				var m, v float64
				for _, q := range x {
					m += float64(q)
				}
				m /= float64(n)
				for _, q := range x {
					v += (float64(q) - m) * (float64(q) - m)
				}
				v /= float64(n)
				for i, q := range x {
					want := (float64(q)-m)/math.Sqrt(v+1e-6)*float64(w[i]) + float64(b[i])
					if !(math.Abs(float64(got[i])-want) <= 1e-6*math.Max(1, math.Abs(want))) {
						t.Fatalf("n=%d shift=%v: [%d] = %v, want %v", n, shift, i, got[i], want)
					}
				}
				mean, variance := MeanVar(x)
				if !(math.Abs(mean-m) <= 1e-9*math.Max(1, math.Abs(m))) || !(math.Abs(variance-v) <= 1e-6*v+1e-12) {
					t.Errorf("MeanVar = %v, %v, want %v, %v", mean, variance, m, v)
				}
			}
		}
	})
}

// The assembly and Go versions of each kernel agree to within one ulp on every length
// (bulk and tails).
func TestAssemblyMatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{8, 16, 24, 64, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
		}
		a, g := make([]float32, n), make([]float32, n)
		geluAVX2(a, x)
		geluGo(g, x)
		for i := range a {
			if ulps(a[i], g[i]) > 1 {
				t.Fatalf("gelu n=%d [%d] (x=%v): asm %v, go %v", n, i, x[i], a[i], g[i])
			}
		}
		bias := make([]float32, n)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		biasGeluAVX2(a, x, bias)
		for i := range a {
			if want := gelu32(x[i] + bias[i]); ulps(a[i], want) > 1 {
				t.Fatalf("biasGelu n=%d [%d]: asm %v, go %v", n, i, a[i], want)
			}
		}
		sa := expSubSumAVX2(a, x, 3)
		sg := expSubSumGo(g, x, 3)
		for i := range a {
			if ulps(a[i], g[i]) > 1 {
				t.Fatalf("exp n=%d [%d] (x=%v): asm %v, go %v", n, i, x[i]-3, a[i], g[i])
			}
		}
		// The assembly adds its two streams in float32 before widening (one rounding
		// per pair, <= 2^-24 relative).
		if !(math.Abs(sa-sg) <= 1e-7*sg) {
			t.Errorf("expSubSum n=%d: asm %v, go %v", n, sa, sg)
		}
		if ma, mg := maxAVX2(x), maxGo(x); ma != mg {
			t.Errorf("max n=%d: asm %v, go %v", n, ma, mg)
		}
		if sa, sg := sumAVX2(x), sumGo(x); !(math.Abs(sa-sg) <= 1e-12*math.Max(1, math.Abs(sg))) {
			t.Errorf("sum n=%d: asm %v, go %v", n, sa, sg)
		}
		if sa, sg := sumSqDevAVX2(x, 0.25, 1e-9), sumSqDevGo(x, 0.25, 1e-9); !(math.Abs(sa-sg) <= 1e-12*sg) {
			t.Errorf("sumSqDev n=%d: asm %v, go %v", n, sa, sg)
		}
		w, b := make([]float32, n), make([]float32, n)
		for i := range w {
			w[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		normAVX2(a, x, w, b, 0.3, 1e-9, 1.7)
		normGo(g, x, w, b, 0.3, 1e-9, 1.7)
		for i := range a {
			if ulps(a[i], g[i]) > 1 {
				t.Fatalf("norm n=%d [%d]: asm %v, go %v", n, i, a[i], g[i])
			}
		}
		blendAVX2(a, x, w, 0.3, 0.7)
		blendGo(g, x, w, 0.3, 0.7)
		for i := range a {
			if ulps(a[i], g[i]) > 1 {
				t.Fatalf("blend n=%d [%d]: asm %v, go %v", n, i, a[i], g[i])
			}
			// One fused rounding of x·0.3 + round(w·0.7).
			want := float32(float64(x[i])*float64(float32(0.3)) + float64(w[i]*0.7))
			if ulps(a[i], want) > 0 {
				t.Fatalf("blend n=%d [%d]: asm %v, want %v", n, i, a[i], want)
			}
		}
		copy(a, x)
		copy(g, x)
		scaleAVX2(a, 0.37)
		scaleGo(g, 0.37)
		for i := range a {
			if a[i] != g[i] {
				t.Fatalf("scale n=%d [%d]: asm %v, go %v", n, i, a[i], g[i])
			}
		}
	}
}

func TestBiasGELU(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		for _, n := range []int{1, 8, 13, 3072} {
			x, b := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(i%17)*0.37 - 3
				b[i] = float32(i%5)*0.2 - 0.4
			}
			got := make([]float32, n)
			BiasGELU(got, x, b)
			for i := range x {
				want := geluRef(float64(x[i] + b[i]))
				if !(math.Abs(float64(got[i])-want) <= 2e-7*math.Max(1, math.Abs(want))) {
					t.Fatalf("n=%d: BiasGELU[%d] = %v, want %v", n, i, got[i], want)
				}
			}
		}
	})
}

func TestColumnKernels(t *testing.T) {
	withPaths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{1, 8, 13, 512} {
			x := make([]float32, n)
			acc, acc0, mean, rstd := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() + 50)
				acc0[i] = rng.NormFloat64()
				mean[i] = 50 + rng.NormFloat64()*0.1
				rstd[i] = 1 + rng.Float64()
			}
			copy(acc, acc0)
			AddToF64(acc, x)
			for i := range x {
				if acc[i] != acc0[i]+float64(x[i]) {
					t.Fatalf("AddToF64 n=%d [%d] = %v, want %v", n, i, acc[i], acc0[i]+float64(x[i]))
				}
			}
			copy(acc, acc0)
			AddSqDevF64(acc, x, mean)
			for i := range x {
				d := float64(x[i]) - mean[i]
				if want := acc0[i] + d*d; !(math.Abs(acc[i]-want) <= 1e-15*(math.Abs(acc0[i])+d*d)) {
					t.Fatalf("AddSqDevF64 n=%d [%d] = %v, want %v", n, i, acc[i], want)
				}
			}
			dst := make([]float32, n)
			NormCols(dst, x, mean, rstd, 0.7, -0.2)
			for i := range x {
				want := float32((float64(x[i])-mean[i])*rstd[i]*float64(float32(0.7)) + float64(float32(-0.2)))
				if ulps(dst[i], want) > 1 {
					t.Fatalf("NormCols n=%d [%d] = %v, want %v", n, i, dst[i], want)
				}
			}
		}
	})
}
