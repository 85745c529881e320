package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds the independent float64 references the op tests compare against: plain
// nested loops over multi-indices, written without any of the package's stride machinery.

func randT(rng *rand.Rand, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// forIndex calls fn with every multi-index of shape in row-major order.
func forIndex(shape []int, fn func(idx []int)) {
	n := numel(shape)
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		r := k
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i] = r % shape[i]
			r /= shape[i]
		}
		fn(idx)
	}
}

// at reads t at idx, aligned to the right and with size-1 axes broadcast (NumPy rules).
func at(t *Tensor, idx []int) float64 {
	off := 0
	sh := t.Shape()
	for i := range sh {
		j := idx[len(idx)-len(sh)+i]
		if sh[i] == 1 {
			j = 0
		}
		off = off*sh[i] + j
	}
	return float64(t.Data[off])
}

// closeTo fails unless |got-want| <= atol + rtol·|want| everywhere.
func closeTo(t *testing.T, name string, got []float32, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), want[i]
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", name, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", name, bad, len(got))
	}
}

func shapeIs(t *testing.T, name string, got *Tensor, want ...int) {
	t.Helper()
	if !EqualShape(got.Shape(), want) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want)
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func refMatMul(a, b *Tensor, ta, tb bool) []float64 {
	ra, rb := a.Rank(), b.Rank()
	m, k := a.Dim(-2), a.Dim(-1)
	if ta {
		m, k = k, m
	}
	n := b.Dim(-1)
	if tb {
		n = b.Dim(-2)
	}
	bshape := broadcastShapeRef(a.Shape()[:ra-2], b.Shape()[:rb-2])
	var out []float64
	forIndex(bshape, func(bi []int) {
		ao := offRef(a.Shape()[:ra-2], bi) * a.Dim(-2) * a.Dim(-1)
		bo := offRef(b.Shape()[:rb-2], bi) * b.Dim(-2) * b.Dim(-1)
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					var av, bv float32
					if ta {
						av = a.Data[ao+p*a.Dim(-1)+i]
					} else {
						av = a.Data[ao+i*a.Dim(-1)+p]
					}
					if tb {
						bv = b.Data[bo+j*b.Dim(-1)+p]
					} else {
						bv = b.Data[bo+p*b.Dim(-1)+j]
					}
					s += float64(av) * float64(bv)
				}
				out = append(out, s)
			}
		}
	})
	return out
}

// offRef is the flat offset (in units of whole inner blocks) of broadcast batch index bi
// in a tensor whose batch shape is sh.
func offRef(sh []int, bi []int) int {
	off := 0
	for i := range sh {
		j := bi[len(bi)-len(sh)+i]
		if sh[i] == 1 {
			j = 0
		}
		off = off*sh[i] + j
	}
	return off
}

func broadcastShapeRef(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range out {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		out[i] = da
		if da == 1 {
			out[i] = db
		}
	}
	return out
}

// refConv is the textbook definition of torch's conv2d, summed in float64.
func refConv(x, w, b *Tensor, s, p int) (out []float64, oh, ow int) {
	N, C, H, W := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	O, kh, kw := w.Dim(0), w.Dim(2), w.Dim(3)
	oh, ow = (H+2*p-kh)/s+1, (W+2*p-kw)/s+1
	for n := range N {
		for o := range O {
			for i := range oh {
				for j := range ow {
					var sum float64
					if b != nil {
						sum = float64(b.Data[o])
					}
					for c := range C {
						for u := range kh {
							for v := range kw {
								y, xx := i*s+u-p, j*s+v-p
								if y < 0 || y >= H || xx < 0 || xx >= W {
									continue
								}
								sum += float64(x.At(n, c, y, xx)) * float64(w.At(o, c, u, v))
							}
						}
					}
					out = append(out, sum)
				}
			}
		}
	}
	return out, oh, ow
}
