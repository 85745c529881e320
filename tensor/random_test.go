package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Randomised shapes for the stride machinery (broadcast, coalescing, transposing copies):
// each case is checked against the index-by-index references of ref_test.go.

func randShape(rng *rand.Rand, rank, maxDim int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1 + rng.IntN(maxDim)
	}
	return s
}

func TestRandomBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for range 100 {
		out := randShape(rng, rng.IntN(6), 5)
		mk := func() []int {
			r := rng.IntN(len(out) + 1)
			s := append([]int(nil), out[len(out)-r:]...)
			for i := range s {
				if rng.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		sa, sb := mk(), mk()
		a, b := randT(rng, sa...), randT(rng, sb...)
		got := Sub(a, b)
		shape := broadcastShapeRef(sa, sb)
		var want []float64
		forIndex(shape, func(idx []int) { want = append(want, float64(float32(at(a, idx)-at(b, idx)))) })
		closeTo(t, "Sub", got.Data, want, 0, 0)
		// SumTo is the adjoint of BroadcastTo: <BroadcastTo(x), y> == <x, SumTo(y)>.
		y := randT(rng, shape...)
		bx := BroadcastTo(a, shape...)
		var l, r float64
		for i := range bx.Data {
			l += float64(bx.Data[i]) * float64(y.Data[i])
		}
		st := SumTo(y, sa...)
		for i := range a.Data {
			r += float64(a.Data[i]) * float64(st.Data[i])
		}
		if d := l - r; !(d <= 1e-4 && d >= -1e-4) {
			t.Fatalf("shapes %v -> %v: <Bx,y> = %v, <x,S y> = %v", sa, shape, l, r)
		}
	}
}

func TestRandomPermuteSlicePad(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for range 120 {
		rank := 1 + rng.IntN(5)
		shape := randShape(rng, rank, 7)
		if rng.IntN(4) == 0 {
			shape[rng.IntN(rank)] = 33 + rng.IntN(40) // long axes reach the tiled transpose
		}
		a := randT(rng, shape...)
		axes := rng.Perm(rank)
		got := Permute(a, axes...)
		oshape := make([]int, rank)
		for i, ax := range axes {
			oshape[i] = shape[ax]
		}
		var want []float64
		src := make([]int, rank)
		forIndex(oshape, func(idx []int) {
			for i, ax := range axes {
				src[ax] = idx[i]
			}
			want = append(want, float64(a.At(src...)))
		})
		closeTo(t, "Permute", got.Data, want, 0, 0)

		ax := rng.IntN(rank)
		s0 := rng.IntN(shape[ax] + 1)
		s1 := s0 + rng.IntN(shape[ax]-s0+1)
		sl := Slice(a, ax, s0, s1)
		want = want[:0]
		ss := append([]int(nil), shape...)
		ss[ax] = s1 - s0
		forIndex(ss, func(idx []int) {
			j := append([]int(nil), idx...)
			j[ax] += s0
			want = append(want, float64(a.At(j...)))
		})
		closeTo(t, "Slice", sl.Data, want, 0, 0)

		before, after := make([]int, rank), make([]int, rank)
		ps := make([]int, rank)
		for i := range before {
			before[i], after[i] = rng.IntN(3), rng.IntN(3)
			ps[i] = shape[i] + before[i] + after[i]
		}
		p := Pad(a, before, after, 0.5)
		want = want[:0]
		forIndex(ps, func(idx []int) {
			j := make([]int, rank)
			in := true
			for i := range idx {
				j[i] = idx[i] - before[i]
				if j[i] < 0 || j[i] >= shape[i] {
					in = false
				}
			}
			if in {
				want = append(want, float64(a.At(j...)))
			} else {
				want = append(want, 0.5)
			}
		})
		closeTo(t, "Pad", p.Data, want, 0, 0)
	}
}

func TestRandomMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for range 60 {
		m, k, n := 1+rng.IntN(9), 1+rng.IntN(9), 1+rng.IntN(9)
		batch := randShape(rng, rng.IntN(3), 3)
		bb := func() []int {
			r := rng.IntN(len(batch) + 1)
			s := append([]int(nil), batch[len(batch)-r:]...)
			for i := range s {
				if rng.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		ta, tb := rng.IntN(2) == 1, rng.IntN(2) == 1
		sa := append(bb(), m, k)
		if ta {
			sa = append(sa[:len(sa)-2], k, m)
		}
		sb := append(bb(), k, n)
		if tb {
			sb = append(sb[:len(sb)-2], n, k)
		}
		a, b := randT(rng, sa...), randT(rng, sb...)
		got := MatMul(a, b, ta, tb)
		closeTo(t, "MatMul", got.Data, refMatMul(a, b, ta, tb), 1e-5, 1e-5)
	}
}

func TestRandomConv2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	for range 150 {
		n, c, o := 1+rng.IntN(2), 1+rng.IntN(4), 1+rng.IntN(4)
		if rng.IntN(8) == 0 { // some with enough channels for the Winograd path
			c, o = 16+rng.IntN(4), 16+rng.IntN(4)
		}
		kh, kw := 1+rng.IntN(5), 1+rng.IntN(5)
		s, p := 1+rng.IntN(4), rng.IntN(3)
		if rng.IntN(3) == 0 {
			kh, kw, s = 3, 3, 1
		}
		h := max(kh-2*p, 1) + rng.IntN(10)
		w := max(kw-2*p, 1) + rng.IntN(10)
		x, wt := randT(rng, n, c, h, w), randT(rng, o, c, kh, kw)
		var b *Tensor
		if rng.IntN(2) == 0 {
			b = randT(rng, o)
		}
		got := Conv2d(x, wt, b, s, p)
		want, oh, ow := refConv(x, wt, b, s, p)
		shapeIs(t, "Conv2d", got, n, o, oh, ow)
		closeTo(t, "Conv2d random", got.Data, want, 1e-5*float64(c*kh*kw), 1e-5)
	}
}

// refBilinear is torch's bilinear rule written directly: float32 scale, float64 source
// coordinate, weights applied in float64.
func refBilinear(x *Tensor, oh, ow int, align bool) []float64 {
	P, H, W := x.Numel()/(x.Dim(-2)*x.Dim(-1)), x.Dim(-2), x.Dim(-1)
	src := func(d, in, out int) (int, int, float64) {
		if in == out {
			return d, d, 0
		}
		var s float64
		if align {
			if out > 1 {
				s = float64(float32(in-1)/float32(out-1)) * float64(d)
			}
		} else {
			s = math.Max(float64(float32(in)/float32(out))*(float64(d)+0.5)-0.5, 0)
		}
		i0 := min(int(math.Floor(s)), in-1)
		i1 := min(i0+1, in-1)
		return i0, i1, math.Min(math.Max(s-float64(i0), 0), 1)
	}
	var out []float64
	for p := range P {
		for y := range oh {
			y0, y1, ly := src(y, H, oh)
			for xx := range ow {
				x0, x1, lx := src(xx, W, ow)
				v := func(i, j int) float64 { return float64(x.Data[p*H*W+i*W+j]) }
				top := v(y0, x0)*(1-lx) + v(y0, x1)*lx
				bot := v(y1, x0)*(1-lx) + v(y1, x1)*lx
				out = append(out, top*(1-ly)+bot*ly)
			}
		}
	}
	return out
}

func TestRandomResizeBilinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	for range 60 {
		h, w := 1+rng.IntN(20), 1+rng.IntN(20)
		oh, ow := 1+rng.IntN(40), 1+rng.IntN(40)
		x := randT(rng, 2, 1+rng.IntN(3), h, w)
		for _, align := range []bool{false, true} {
			got := ResizeBilinear(x, oh, ow, align)
			closeTo(t, "ResizeBilinear random", got.Data, refBilinear(x, oh, ow, align), 1e-6, 1e-6)
		}
	}
}
