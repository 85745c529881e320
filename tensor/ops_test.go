package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBinaryBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct{ a, b []int }{
		{[]int{2, 3, 4}, []int{2, 3, 4}},
		{[]int{2, 3, 4}, []int{4}},
		{[]int{2, 1, 4}, []int{3, 1}},
		{[]int{1}, []int{5}},
		{[]int{}, []int{3, 2}},
		{[]int{4, 1, 3, 1}, []int{5, 1, 6}},
		{[]int{7, 300}, []int{7, 1}},
		{[]int{0, 3}, []int{3}},
	}
	ops := []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		ref  func(x, y float64) float64
	}{
		{"Add", Add, func(x, y float64) float64 { return x + y }},
		{"Sub", Sub, func(x, y float64) float64 { return x - y }},
		{"Mul", Mul, func(x, y float64) float64 { return x * y }},
		{"Div", Div, func(x, y float64) float64 { return x / y }},
	}
	for _, c := range cases {
		a, b := randT(rng, c.a...), randT(rng, c.b...)
		shape := broadcastShapeRef(c.a, c.b)
		for _, op := range ops {
			got := op.f(a, b)
			shapeIs(t, op.name, got, shape...)
			var want []float64
			forIndex(shape, func(idx []int) { want = append(want, float64(float32(op.ref(at(a, idx), at(b, idx))))) })
			closeTo(t, op.name, got.Data, want, 0, 0)
		}
		// In place: dst must already have the broadcast shape.
		if EqualShape(shape, c.a) {
			d := a.Clone()
			AddInPlace(d, b)
			closeTo(t, "AddInPlace", d.Data, f64(Add(a, b).Data), 0, 0)
		}
	}
}

func TestBroadcastSumTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct{ small, big []int }{
		{[]int{3}, []int{2, 3}},
		{[]int{2, 1}, []int{2, 5}},
		{[]int{1, 4, 1}, []int{3, 4, 5}},
		{[]int{}, []int{2, 2}},
		{[]int{2, 3}, []int{2, 3}},
	}
	for _, c := range cases {
		s := randT(rng, c.small...)
		bt := BroadcastTo(s, c.big...)
		var want []float64
		forIndex(c.big, func(idx []int) { want = append(want, at(s, idx)) })
		closeTo(t, "BroadcastTo", bt.Data, want, 0, 0)

		g := randT(rng, c.big...)
		st := SumTo(g, c.small...)
		shapeIs(t, "SumTo", st, c.small...)
		ref := make([]float64, numel(c.small))
		forIndex(c.big, func(idx []int) {
			off := 0
			for i, d := range c.small {
				j := idx[len(idx)-len(c.small)+i]
				if d == 1 {
					j = 0
				}
				off = off*d + j
			}
			ref[off] += at(g, idx)
		})
		closeTo(t, "SumTo", st.Data, ref, 1e-6, 1e-6)
	}
}

func TestUnary(t *testing.T) {
	x := FromSlice([]float32{-3, -1, -0.5, 0, 0.25, 1, 2.5, 7}, 2, 4)
	pos := FromSlice([]float32{0.01, 0.5, 1, 2, 3, 10, 100, 1e4}, 8)
	cases := []struct {
		name string
		f    func(*Tensor) *Tensor
		in   *Tensor
		ref  func(float64) float64
	}{
		{"Exp", Exp, x, math.Exp},
		{"Log", Log, pos, math.Log},
		{"Sqrt", Sqrt, pos, math.Sqrt},
		{"Sin", Sin, x, math.Sin},
		{"Cos", Cos, x, math.Cos},
		{"ReLU", ReLU, x, func(v float64) float64 { return math.Max(v, 0) }},
		{"Sigmoid", Sigmoid, x, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"GELU", GELU, x, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }},
		{"Scale", func(a *Tensor) *Tensor { return Scale(a, -1.5) }, x, func(v float64) float64 { return -1.5 * v }},
		{"AddScalar", func(a *Tensor) *Tensor { return AddScalar(a, 0.75) }, x, func(v float64) float64 { return v + 0.75 }},
	}
	for _, c := range cases {
		got := c.f(c.in)
		shapeIs(t, c.name, got, c.in.Shape()...)
		want := make([]float64, len(c.in.Data))
		for i, v := range c.in.Data {
			want[i] = c.ref(float64(v))
		}
		closeTo(t, c.name, got.Data, want, 1e-7, 2e-7)
	}
	// Hand values of the exact GELU: Φ(1) = 0.8413447460685429.
	g := GELU(FromSlice([]float32{1, -1, 0}, 3))
	closeTo(t, "GELU hand", g.Data, []float64{0.8413447460685429, -0.15865525393145707, 0}, 1e-7, 1e-7)
	in := x.Clone()
	GELUInPlace(in)
	closeTo(t, "GELUInPlace", in.Data, f64(GELU(x).Data), 0, 0)
}

func TestReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := randT(rng, 3, 4, 5)
	for axis := -3; axis < 3; axis++ {
		ax := (axis + 3) % 3
		for _, keep := range []bool{false, true} {
			var shape []int
			for i, d := range a.Shape() {
				if i != ax {
					shape = append(shape, d)
				} else if keep {
					shape = append(shape, 1)
				}
			}
			sum := Sum(a, axis, keep)
			mean := Mean(a, axis, keep)
			mx := Max(a, axis, keep)
			shapeIs(t, "Sum", sum, shape...)
			shapeIs(t, "Max", mx, shape...)
			var ws, wm, wx []float64
			rs := append([]int(nil), a.Shape()...)
			rs[ax] = 1
			forIndex(rs, func(idx []int) {
				var s float64
				m := math.Inf(-1)
				j := append([]int(nil), idx...)
				for k := range a.Dim(ax) {
					j[ax] = k
					v := at(a, j)
					s += v
					m = math.Max(m, v)
				}
				ws = append(ws, s)
				wm = append(wm, s/float64(a.Dim(ax)))
				wx = append(wx, m)
			})
			closeTo(t, "Sum", sum.Data, ws, 1e-6, 1e-6)
			closeTo(t, "Mean", mean.Data, wm, 1e-6, 1e-6)
			closeTo(t, "Max", mx.Data, wx, 0, 0)
		}
	}
	am := ArgMax(FromSlice([]float32{1, 3, 3, 0, -1, -2, -1, -5}, 2, 4))
	if am[0] != 1 || am[1] != 0 {
		t.Errorf("ArgMax = %v, want [1 0] (first on ties)", am)
	}
	big := Full(0.1, 1000, 1000)
	if s := SumAll(big); !(math.Abs(s-1e6*float64(float32(0.1))) <= 1e-6) {
		t.Errorf("SumAll = %v", s)
	}
}

func TestPermute(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		shape, axes []int
	}{
		{[]int{2, 3}, []int{1, 0}},
		{[]int{3, 37, 41}, []int{0, 2, 1}},
		{[]int{2, 3, 4, 5}, []int{3, 1, 0, 2}},
		{[]int{2, 64, 70, 8}, []int{0, 3, 1, 2}},
		{[]int{2, 8, 33, 65}, []int{0, 2, 3, 1}},
		{[]int{4, 5, 6}, []int{0, 1, 2}},
		{[]int{1, 5, 1, 6}, []int{2, 3, 0, 1}},
	}
	for _, c := range cases {
		a := randT(rng, c.shape...)
		got := Permute(a, c.axes...)
		oshape := make([]int, len(c.axes))
		for i, ax := range c.axes {
			oshape[i] = c.shape[ax]
		}
		shapeIs(t, "Permute", got, oshape...)
		var want []float64
		src := make([]int, len(c.shape))
		forIndex(oshape, func(idx []int) {
			for i, ax := range c.axes {
				src[ax] = idx[i]
			}
			want = append(want, float64(a.At(src...)))
		})
		closeTo(t, "Permute", got.Data, want, 0, 0)
	}
	a := randT(rng, 2, 3, 4)
	tr := Transpose(a, 0, -1)
	shapeIs(t, "Transpose", tr, 4, 3, 2)
	if tr.At(3, 1, 0) != a.At(0, 1, 3) {
		t.Error("Transpose moved the wrong element")
	}
}

func TestSliceConcatStackPadIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a := randT(rng, 3, 4, 5)
	s := Slice(a, 1, 1, 3)
	shapeIs(t, "Slice", s, 3, 2, 5)
	var want []float64
	forIndex([]int{3, 2, 5}, func(i []int) { want = append(want, float64(a.At(i[0], i[1]+1, i[2]))) })
	closeTo(t, "Slice", s.Data, want, 0, 0)

	b := randT(rng, 3, 2, 5)
	c := Concat(1, a, b)
	shapeIs(t, "Concat", c, 3, 6, 5)
	want = want[:0]
	forIndex([]int{3, 6, 5}, func(i []int) {
		if i[1] < 4 {
			want = append(want, float64(a.At(i...)))
		} else {
			want = append(want, float64(b.At(i[0], i[1]-4, i[2])))
		}
	})
	closeTo(t, "Concat", c.Data, want, 0, 0)

	x, y := randT(rng, 2, 3), randT(rng, 2, 3)
	for axis := 0; axis <= 2; axis++ {
		st := Stack(axis, x, y)
		sh := []int{2, 3}
		sh = append(sh[:axis:axis], append([]int{2}, sh[axis:]...)...)
		shapeIs(t, "Stack", st, sh...)
		want = want[:0]
		forIndex(sh, func(i []int) {
			k := i[axis]
			rest := append(append([]int(nil), i[:axis]...), i[axis+1:]...)
			want = append(want, float64([]*Tensor{x, y}[k].At(rest...)))
		})
		closeTo(t, "Stack", st.Data, want, 0, 0)
	}

	p := Pad(x, []int{1, 0}, []int{2, 3}, -7)
	shapeIs(t, "Pad", p, 5, 6)
	want = want[:0]
	forIndex([]int{5, 6}, func(i []int) {
		r, q := i[0]-1, i[1]
		if r >= 0 && r < 2 && q < 3 {
			want = append(want, float64(x.At(r, q)))
		} else {
			want = append(want, -7)
		}
	})
	closeTo(t, "Pad", p.Data, want, 0, 0)

	idx := []int{4, 0, 4, 2}
	is := IndexSelect(a, 2, idx)
	shapeIs(t, "IndexSelect", is, 3, 4, 4)
	want = want[:0]
	forIndex([]int{3, 4, 4}, func(i []int) { want = append(want, float64(a.At(i[0], i[1], idx[i[2]]))) })
	closeTo(t, "IndexSelect", is.Data, want, 0, 0)
}

func TestMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		a, b   []int
		ta, tb bool
	}{
		{[]int{3, 4}, []int{4, 5}, false, false},
		{[]int{4, 3}, []int{4, 5}, true, false},
		{[]int{3, 4}, []int{5, 4}, false, true},
		{[]int{4, 3}, []int{5, 4}, true, true},
		{[]int{2, 3, 7, 4}, []int{4, 6}, false, false},    // shared 2-D b: folded GEMM
		{[]int{2, 3, 7, 4}, []int{6, 4}, false, true},     // shared, transposed
		{[]int{2, 3, 4, 7}, []int{4, 6}, true, false},     // shared b but transA: per batch
		{[]int{2, 1, 7, 4}, []int{3, 4, 6}, false, false}, // batch broadcast both ways
		{[]int{12, 9, 16}, []int{12, 9, 16}, false, true}, // many small batches: q k^T
		{[]int{5, 4}, []int{2, 3, 4, 2}, false, false},    // 2-D a shared
		{[]int{2, 0, 4}, []int{4, 3}, false, false},       // empty
	}
	for _, c := range cases {
		a, b := randT(rng, c.a...), randT(rng, c.b...)
		got := MatMul(a, b, c.ta, c.tb)
		closeTo(t, "MatMul", got.Data, refMatMul(a, b, c.ta, c.tb), 1e-5, 1e-5)
	}
	x, w, bias := randT(rng, 2, 5, 7), randT(rng, 3, 7), randT(rng, 3)
	got := Linear(x, w, bias)
	shapeIs(t, "Linear", got, 2, 5, 3)
	want := refMatMul(x.Reshape(10, 7), w, false, true)
	for i := range want {
		want[i] += float64(bias.Data[i%3])
	}
	closeTo(t, "Linear", got.Data, want, 1e-5, 1e-5)
	nob := Linear(x, w, nil)
	closeTo(t, "Linear nil bias", nob.Data, refMatMul(x.Reshape(10, 7), w, false, true), 1e-5, 1e-5)
}

func TestConv2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	cases := []struct{ n, c, h, w, o, kh, kw, s, p int }{
		{1, 3, 5, 5, 2, 3, 3, 1, 1},
		{2, 4, 9, 7, 3, 3, 3, 1, 1},   // non-square
		{1, 5, 8, 8, 6, 1, 1, 1, 0},   // 1x1 fast path
		{2, 3, 10, 13, 4, 2, 2, 2, 0}, // mask downscaling style k2 s2
		{1, 2, 17, 9, 3, 3, 3, 2, 1},
		{1, 3, 16, 12, 2, 4, 4, 4, 0},
		{1, 3, 32, 48, 5, 16, 16, 16, 0}, // patch embed style
		{1, 2, 6, 6, 2, 5, 3, 1, 2},
		{1, 2, 7, 7, 2, 1, 1, 2, 0}, // strided 1x1
	}
	for _, c := range cases {
		x := randT(rng, c.n, c.c, c.h, c.w)
		w := randT(rng, c.o, c.c, c.kh, c.kw)
		for _, b := range []*Tensor{nil, randT(rng, c.o)} {
			got := Conv2d(x, w, b, c.s, c.p)
			want, oh, ow := refConv(x, w, b, c.s, c.p)
			shapeIs(t, "Conv2d", got, c.n, c.o, oh, ow)
			closeTo(t, "Conv2d", got.Data, want, 1e-4, 1e-5)
		}
	}
}

func TestConvTranspose2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, k := range []int{1, 2, 3} {
		N, C, H, W, O := 2, 3, 4, 5, 4
		x, w, b := randT(rng, N, C, H, W), randT(rng, C, O, k, k), randT(rng, O)
		got := ConvTranspose2d(x, w, b, k)
		shapeIs(t, "ConvTranspose2d", got, N, O, H*k, W*k)
		// Definition: out[n,o,y,x] = b[o] + sum over (c,i,j,p,q) with i·k+p=y, j·k+q=x.
		want := make([]float64, N*O*H*k*W*k)
		for n := range N {
			for o := range O {
				for y := range H * k {
					for xx := range W * k {
						s := float64(b.Data[o])
						for c := range C {
							for i := range H {
								for j := range W {
									p, q := y-i*k, xx-j*k
									if p >= 0 && p < k && q >= 0 && q < k {
										s += float64(x.At(n, c, i, j)) * float64(w.At(c, o, p, q))
									}
								}
							}
						}
						want[((n*O+o)*H*k+y)*W*k+xx] = s
					}
				}
			}
		}
		closeTo(t, "ConvTranspose2d", got.Data, want, 1e-5, 1e-5)
	}
}

func TestLayerNorm(t *testing.T) {
	// Hand case: mean 2.5, biased variance 1.25.
	x := FromSlice([]float32{1, 2, 3, 4}, 1, 4)
	got := LayerNorm(x, nil, nil, 0)
	r := 1 / math.Sqrt(1.25)
	closeTo(t, "LayerNorm hand", got.Data, []float64{-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r}, 1e-7, 1e-7)

	rng := rand.New(rand.NewPCG(17, 18))
	a := randT(rng, 3, 5, 64)
	for i := range a.Data {
		a.Data[i] = a.Data[i]*0.01 + 100 // large mean, small spread: cancellation test
	}
	w, b := randT(rng, 64), randT(rng, 64)
	got = LayerNorm(a, w, b, 1e-6)
	want := make([]float64, len(a.Data))
	for row := range 15 {
		xs := a.Data[row*64 : (row+1)*64]
		var m, v float64
		for _, q := range xs {
			m += float64(q)
		}
		m /= 64
		for _, q := range xs {
			v += (float64(q) - m) * (float64(q) - m)
		}
		v /= 64
		for i, q := range xs {
			want[row*64+i] = (float64(q)-m)/math.Sqrt(v+1e-6)*float64(w.Data[i]) + float64(b.Data[i])
		}
	}
	closeTo(t, "LayerNorm", got.Data, want, 1e-6, 1e-6)
	in := a.Clone()
	LayerNormInPlace(in, w, b, 1e-6)
	closeTo(t, "LayerNormInPlace", in.Data, f64(got.Data), 0, 0)

	// LayerNorm2d over C equals LayerNorm on the channels-last layout.
	x4 := randT(rng, 2, 40, 7, 9)
	w2, b2 := randT(rng, 40), randT(rng, 40)
	g2 := LayerNorm2d(x4, w2, b2, 1e-6)
	ref := Permute(LayerNorm(Permute(x4, 0, 2, 3, 1), w2, b2, 1e-6), 0, 3, 1, 2)
	closeTo(t, "LayerNorm2d", g2.Data, f64(ref.Data), 1e-6, 1e-6)
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	x := randT(rng, 2, 3, 7)
	for i := range x.Data {
		x.Data[i] *= 30 // large logits: needs the max subtraction
	}
	mask := New(2, 1, 7)
	for i := range mask.Data {
		if rng.IntN(3) > 0 {
			mask.Data[i] = 1
		}
	}
	copy(mask.Data[7:14], make([]float32, 7)) // second batch: nothing kept
	for _, m := range []*Tensor{nil, mask} {
		got := Softmax(x, m)
		var want []float64
		forIndex([]int{2, 3}, func(idx []int) {
			row := make([]float64, 7)
			mx := math.Inf(-1)
			for j := range 7 {
				full := []int{idx[0], idx[1], j}
				if m == nil || at(m, full) != 0 {
					mx = math.Max(mx, at(x, full))
				}
			}
			var s float64
			for j := range 7 {
				full := []int{idx[0], idx[1], j}
				if m == nil || at(m, full) != 0 {
					row[j] = math.Exp(at(x, full) - mx)
					s += row[j]
				}
			}
			for j := range row {
				if s > 0 {
					row[j] /= s
				}
			}
			want = append(want, row...)
		})
		closeTo(t, "Softmax", got.Data, want, 1e-7, 1e-6)
	}
	mf := MaskedFill(x, mask, -999)
	var want []float64
	forIndex(x.Shape(), func(idx []int) {
		if at(mask, idx) == 0 {
			want = append(want, -999)
		} else {
			want = append(want, at(x, idx))
		}
	})
	closeTo(t, "MaskedFill", mf.Data, want, 0, 0)
}

func TestAvgPool2d(t *testing.T) {
	// Hand case: 3x3 kernel, stride 2, pad 1 on a 4x4 ramp, padding excluded from counts.
	x := New(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	got := AvgPool2d(x, 3, 2, 1)
	shapeIs(t, "AvgPool2d", got, 1, 1, 2, 2)
	// Windows: rows {0,1} cols {0,1}; rows {0,1} cols {1,2,3}; rows {1,2,3} cols {0,1}; rows 1-3 cols 1-3.
	want := []float64{
		(0 + 1 + 4 + 5) / 4.0,
		(1 + 2 + 3 + 5 + 6 + 7) / 6.0,
		(4 + 5 + 8 + 9 + 12 + 13) / 6.0,
		(5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15) / 9.0,
	}
	closeTo(t, "AvgPool2d", got.Data, want, 1e-6, 0)
}

func TestResizeBilinearHand(t *testing.T) {
	x := FromSlice([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	// align_corners=False: source coords (d+0.5)/2-0.5 clamped = 0, 0.25, 0.75, 1.
	got := ResizeBilinear(x, 4, 4, false)
	closeTo(t, "bilinear", got.Data, []float64{
		1, 1.25, 1.75, 2,
		1.5, 1.75, 2.25, 2.5,
		2.5, 2.75, 3.25, 3.5,
		3, 3.25, 3.75, 4,
	}, 1e-7, 0)
	// align_corners=True: source coords d/3.
	got = ResizeBilinear(x, 4, 4, true)
	var want []float64
	for i := range 4 {
		for j := range 4 {
			want = append(want, 1+2*float64(i)/3+float64(j)/3)
		}
	}
	closeTo(t, "bilinear align", got.Data, want, 1e-6, 0)
	// Downscale 4->2 without align: src (d+0.5)*2-0.5 = 0.5, 2.5: averages of pairs.
	r := FromSlice([]float32{0, 1, 2, 3}, 1, 4)
	got = ResizeBilinear(r, 1, 2, false)
	closeTo(t, "bilinear down", got.Data, []float64{0.5, 2.5}, 1e-7, 0)
}

func TestResizeNearest(t *testing.T) {
	x := FromSlice([]float32{10, 20}, 1, 2)
	closeTo(t, "nearest 2->3", ResizeNearest(x, 1, 3, false).Data, []float64{10, 10, 20}, 0, 0)
	closeTo(t, "nearest-exact 2->3", ResizeNearest(x, 1, 3, true).Data, []float64{10, 20, 20}, 0, 0)
	// AI-SAM's box masks: nearest-exact 1024->64 reads 16i+8, 256->64 reads 4i+2.
	for _, in := range []int{1024, 256} {
		r := New(1, in)
		for i := range r.Data {
			r.Data[i] = float32(i)
		}
		got := ResizeNearest(r, 1, 64, true)
		for i, v := range got.Data {
			if want := float32(in/64*i + in/128); v != want {
				t.Fatalf("nearest-exact %d->64 [%d] = %v, want %v", in, i, v, want)
			}
		}
	}
}

// Large convolutions run im2col in bands of output rows; force tiny bands.
func TestConv2dBands(t *testing.T) {
	old := maxCol
	defer func() { maxCol = old }()
	rng := rand.New(rand.NewPCG(21, 22))
	x, w, b := randT(rng, 2, 3, 11, 9), randT(rng, 4, 3, 3, 3), randT(rng, 4)
	for _, band := range []int{1, 2, 5} {
		maxCol = 27 * 9 * band // C·kh·kw · OW · rows
		for _, s := range []int{1, 2} {
			got := Conv2d(x, w, b, s, 1)
			want, _, _ := refConv(x, w, b, s, 1)
			closeTo(t, "Conv2d banded", got.Data, want, 1e-5, 1e-5)
		}
	}
}

func TestAvgPool2dRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	cases := []struct{ n, c, h, w, k, s, p int }{
		{1, 2, 64, 64, 3, 2, 1}, // AI-SAM classifier pooling
		{2, 3, 9, 7, 3, 2, 1},
		{1, 1, 8, 10, 2, 2, 0},
		{1, 2, 7, 5, 3, 1, 1},
		{1, 1, 6, 6, 4, 3, 2},
	}
	for _, c := range cases {
		x := randT(rng, c.n, c.c, c.h, c.w)
		got := AvgPool2d(x, c.k, c.s, c.p)
		oh, ow := (c.h+2*c.p-c.k)/c.s+1, (c.w+2*c.p-c.k)/c.s+1
		shapeIs(t, "AvgPool2d", got, c.n, c.c, oh, ow)
		var want []float64
		forIndex([]int{c.n, c.c, oh, ow}, func(i []int) {
			var s float64
			cnt := 0
			for u := range c.k {
				for v := range c.k {
					y, xx := i[2]*c.s-c.p+u, i[3]*c.s-c.p+v
					if y >= 0 && y < c.h && xx >= 0 && xx < c.w {
						s += float64(x.At(i[0], i[1], y, xx))
						cnt++
					}
				}
			}
			want = append(want, s/float64(cnt)) // count_include_pad=False
		})
		closeTo(t, "AvgPool2d", got.Data, want, 1e-6, 1e-6)
	}
}

// Each in-place variant equals its allocating counterpart.
func TestInPlaceVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	x, y, row := randT(rng, 5, 33), randT(rng, 5, 33), randT(rng, 33)
	mask := New(5, 33)
	for i := range mask.Data {
		mask.Data[i] = float32(rng.IntN(2))
	}
	cases := []struct {
		name    string
		inplace func(d *Tensor)
		want    *Tensor
	}{
		{"AddInPlace", func(d *Tensor) { AddInPlace(d, row) }, Add(x, row)},
		{"SubInPlace", func(d *Tensor) { SubInPlace(d, y) }, Sub(x, y)},
		{"MulInPlace", func(d *Tensor) { MulInPlace(d, row) }, Mul(x, row)},
		{"ScaleInPlace", func(d *Tensor) { ScaleInPlace(d, 0.3) }, Scale(x, 0.3)},
		{"ReLUInPlace", func(d *Tensor) { ReLUInPlace(d) }, ReLU(x)},
		{"GELUInPlace", func(d *Tensor) { GELUInPlace(d) }, GELU(x)},
		{"SoftmaxInPlace", func(d *Tensor) { SoftmaxInPlace(d, nil) }, Softmax(x, nil)},
		{"SoftmaxInPlace mask", func(d *Tensor) { SoftmaxInPlace(d, mask) }, Softmax(x, mask)},
		{"LayerNormInPlace", func(d *Tensor) { LayerNormInPlace(d, row, row, 1e-5) }, LayerNorm(x, row, row, 1e-5)},
	}
	for _, c := range cases {
		d := x.Clone()
		c.inplace(d)
		closeTo(t, c.name, d.Data, f64(c.want.Data), 0, 0)
	}
}

func TestLinearGELU(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	x, w, b := randT(rng, 3, 4, 9), randT(rng, 6, 9), randT(rng, 6)
	got := LinearGELU(x, w, b)
	// The bias is added inside the GELU pass rather than before the GEMM's accumulation,
	// so the rounding differs slightly from GELU(Linear(...)).
	closeTo(t, "LinearGELU", got.Data, f64(GELU(Linear(x, w, b)).Data), 1e-6, 1e-6)
	closeTo(t, "LinearGELU nil bias", LinearGELU(x, w, nil).Data, f64(GELU(Linear(x, w, nil)).Data), 0, 0)
}

func TestConv2dWinograd(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	cases := []struct{ n, c, h, w, o, p int }{
		{1, 16, 8, 8, 16, 1},
		{2, 17, 9, 11, 19, 1}, // odd output sizes: partial tiles
		{1, 16, 7, 6, 16, 0},
		{1, 20, 5, 9, 16, 2},
		{1, 32, 16, 16, 24, 1},
	}
	for _, c := range cases {
		x, w := randT(rng, c.n, c.c, c.h, c.w), randT(rng, c.o, c.c, 3, 3)
		oh, ow := c.h+2*c.p-2, c.w+2*c.p-2
		if !useWinograd(c.c, c.o, 3, 3, 1, oh, ow) {
			t.Fatalf("case %+v does not take the Winograd path", c)
		}
		for _, b := range []*Tensor{nil, randT(rng, c.o)} {
			got := Conv2d(x, w, b, 1, c.p)
			want, _, _ := refConv(x, w, b, 1, c.p)
			shapeIs(t, "Winograd", got, c.n, c.o, oh, ow)
			// Relative to the size of the terms summed (sqrt(9C) for unit normals).
			closeTo(t, "Winograd", got.Data, want, 2e-5*math.Sqrt(float64(9*c.c)), 0)
			winograd = false
			im2 := Conv2d(x, w, b, 1, c.p)
			winograd = true
			closeTo(t, "Winograd vs im2col", got.Data, f64(im2.Data), 4e-5*math.Sqrt(float64(9*c.c)), 0)
		}
	}
}

// SumTo over many rows takes the blocked path; compare with a float64 loop.
func TestSumToLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	g := randT(rng, 3, 700, 64)
	for _, shape := range [][]int{{64}, {3, 1, 64}, {700, 1}, {1}} {
		got := SumTo(g, shape...)
		want := make([]float64, numel(shape))
		forIndex(g.Shape(), func(idx []int) {
			off := 0
			for i, d := range shape {
				j := idx[len(idx)-len(shape)+i]
				if d == 1 {
					j = 0
				}
				off = off*d + j
			}
			want[off] += at(g, idx)
		})
		closeTo(t, "SumTo large", got.Data, want, 1e-5, 1e-6)
	}
}

// Reductions over a leading axis with wide rows run in column bands.
func TestReduceWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	a := randT(rng, 2, 7, 1100)
	for _, axis := range []int{0, 1} {
		sum, mx := Sum(a, axis, false), Max(a, axis, true)
		var ws, wx []float64
		rs := append([]int(nil), a.Shape()...)
		rs[axis] = 1
		forIndex(rs, func(idx []int) {
			j := append([]int(nil), idx...)
			var s float64
			m := math.Inf(-1)
			for k := range a.Dim(axis) {
				j[axis] = k
				s += at(a, j)
				m = math.Max(m, at(a, j))
			}
			ws, wx = append(ws, s), append(wx, m)
		})
		closeTo(t, "Sum wide", sum.Data, ws, 1e-6, 1e-6)
		closeTo(t, "Max wide", mx.Data, wx, 0, 0)
	}
}
