package ag_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	gc "github.com/aisam/aisam/internal/gradcheck"
	"github.com/aisam/aisam/tensor"
)

type T = tensor.Tensor
type A = gc.Array

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// mask returns a 0/1 tensor with about keep of the entries set.
func mask(r *rand.Rand, keep float64, shape ...int) *T {
	m := tensor.New(shape...)
	for i := range m.Data {
		if r.Float64() < keep {
			m.Data[i] = 1
		}
	}
	return m
}

func unary(name string, x *T, f func(tp *ag.Tape, x *T) *T, ref func(float64) float64) gc.Case {
	return gc.Case{
		Name: name, Inputs: []*T{x},
		F:   func(tp *ag.Tape, xs []*T) *T { return f(tp, xs[0]) },
		Ref: func(xs []*A) *A { return gc.Map(xs[0], ref) },
	}
}

func binary(name string, a, b *T, f func(tp *ag.Tape, a, b *T) *T, ref func(x, y float64) float64) gc.Case {
	return gc.Case{
		Name: name, Inputs: []*T{a, b},
		F:   func(tp *ag.Tape, xs []*T) *T { return f(tp, xs[0], xs[1]) },
		Ref: func(xs []*A) *A { return gc.Binary(xs[0], xs[1], ref) },
	}
}

func elementwiseCases() []gc.Case {
	r := rng(1)
	pos := gc.Rand(r, 0.5, 2, 3, 4)
	x := gc.Randn(r, 1, 3, 4)
	add := func(x, y float64) float64 { return x + y }
	sub := func(x, y float64) float64 { return x - y }
	mul := func(x, y float64) float64 { return x * y }
	div := func(x, y float64) float64 { return x / y }
	return []gc.Case{
		binary("Add", gc.Randn(r, 1, 2, 3, 4), gc.Randn(r, 1, 3, 1), (*ag.Tape).Add, add),
		binary("Sub", gc.Randn(r, 1, 2, 1, 4), gc.Randn(r, 1, 3, 4), (*ag.Tape).Sub, sub),
		binary("Mul", gc.Randn(r, 1, 2, 3, 4), gc.Randn(r, 1, 4), (*ag.Tape).Mul, mul),
		binary("MulSame", gc.Randn(r, 1, 5, 3), gc.Randn(r, 1, 5, 3), (*ag.Tape).Mul, mul),
		binary("Div", gc.Randn(r, 1, 2, 3, 4), gc.Rand(r, 0.5, 2, 2, 1, 4), (*ag.Tape).Div, div),
		unary("Scale", x, func(tp *ag.Tape, x *T) *T { return tp.Scale(x, -1.5) }, func(v float64) float64 { return -1.5 * v }),
		unary("AddScalar", x, func(tp *ag.Tape, x *T) *T { return tp.AddScalar(x, 0.25) }, func(v float64) float64 { return v + 0.25 }),
		unary("Exp", x, (*ag.Tape).Exp, math.Exp),
		unary("Log", pos, (*ag.Tape).Log, math.Log),
		unary("Sqrt", pos, (*ag.Tape).Sqrt, math.Sqrt),
		unary("Sin", x, (*ag.Tape).Sin, math.Sin),
		unary("Cos", x, (*ag.Tape).Cos, math.Cos),
		unary("ReLU", x, (*ag.Tape).ReLU, func(v float64) float64 { return math.Max(v, 0) }),
		unary("GELU", gc.Randn(r, 2, 4, 5), (*ag.Tape).GELU, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }),
		unary("Sigmoid", gc.Randn(r, 2, 4, 5), (*ag.Tape).Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }),
		unary("Neg", x, (*ag.Tape).Neg, func(v float64) float64 { return -v }),
		unary("Square", x, (*ag.Tape).Square, func(v float64) float64 { return v * v }),
		unary("Abs", x, (*ag.Tape).Abs, math.Abs),
		unary("Clamp", gc.Randn(r, 1, 4, 5), func(tp *ag.Tape, x *T) *T { return tp.Clamp(x, -0.5, 0.7) },
			func(v float64) float64 { return math.Min(math.Max(v, -0.5), 0.7) }),
	}
}

func reductionCases() []gc.Case {
	r := rng(2)
	x := gc.Randn(r, 1, 2, 3, 4)
	var cs []gc.Case
	for _, axis := range []int{0, 1, -1} {
		for _, keep := range []bool{false, true} {
			axis, keep := axis, keep
			cs = append(cs,
				gc.Case{Name: "Sum", Inputs: []*T{x},
					F:   func(tp *ag.Tape, xs []*T) *T { return tp.Sum(xs[0], axis, keep) },
					Ref: func(xs []*A) *A { return gc.Sum(xs[0], axis, keep) }},
				gc.Case{Name: "Mean", Inputs: []*T{x},
					F: func(tp *ag.Tape, xs []*T) *T { return tp.Mean(xs[0], axis, keep) },
					Ref: func(xs []*A) *A {
						s := gc.Sum(xs[0], axis, keep)
						n := float64(xs[0].Shape[(axis+3)%3])
						return gc.Map(s, func(v float64) float64 { return v / n })
					}},
				gc.Case{Name: "Max", Inputs: []*T{x},
					F: func(tp *ag.Tape, xs []*T) *T { return tp.Max(xs[0], axis, keep) },
					Ref: func(xs []*A) *A {
						return gc.Reduce(xs[0], axis, keep, math.Inf(-1), math.Max)
					}},
			)
		}
	}
	cs = append(cs,
		gc.Case{Name: "SumAll", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.SumAll(xs[0]) },
			Ref: func(xs []*A) *A { return gc.Scalar(gc.SumAll(xs[0])) }},
		gc.Case{Name: "MeanAll", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.MeanAll(xs[0]) },
			Ref: func(xs []*A) *A { return gc.Scalar(gc.SumAll(xs[0]) / 24) }},
	)
	return cs
}

// TestMaxTiesFirst checks that a tie sends the whole gradient to the first maximum, as torch.max(dim) does.
func TestMaxTiesFirst(t *testing.T) {
	x := tensor.FromSlice([]float32{1, 3, 3, 2, 5, 5, 5, 0}, 2, 4)
	tp := ag.NewTape()
	tp.Watch(x)
	tp.Backward(tp.SumAll(tp.Max(x, 1, false)))
	want := []float32{0, 1, 0, 0, 1, 0, 0, 0}
	for i, v := range tp.Grad(x).Data {
		if v != want[i] {
			t.Fatalf("grad %v, want %v", tp.Grad(x).Data, want)
		}
	}
}

func shapeCases() []gc.Case {
	r := rng(3)
	x := gc.Randn(r, 1, 2, 3, 4)
	y := gc.Randn(r, 1, 2, 2, 4)
	z := gc.Randn(r, 1, 2, 3, 4)
	return []gc.Case{
		{Name: "Reshape", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Scale(tp.Reshape(xs[0], 6, -1), 2) },
			Ref: func(xs []*A) *A { return gc.Map(gc.Reshape(xs[0], 6, 4), func(v float64) float64 { return 2 * v }) }},
		{Name: "Permute", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Permute(xs[0], 2, 0, 1) },
			Ref: func(xs []*A) *A { return gc.Permute(xs[0], 2, 0, 1) }},
		{Name: "Transpose", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Transpose(xs[0], 0, 2) },
			Ref: func(xs []*A) *A { return gc.Permute(xs[0], 2, 1, 0) }},
		{Name: "Slice", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Slice(xs[0], 2, 1, 3) },
			Ref: func(xs []*A) *A { return gc.Slice(xs[0], 2, 1, 3) }},
		{Name: "SliceNeg", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Slice(xs[0], -2, 1, 2) },
			Ref: func(xs []*A) *A { return gc.Slice(xs[0], 1, 1, 2) }},
		{Name: "Concat", Inputs: []*T{x, y, z},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Concat(1, xs...) },
			Ref: func(xs []*A) *A { return gc.Concat(1, xs...) }},
		{Name: "ConcatSame", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Concat(-1, xs[0], xs[0]) },
			Ref: func(xs []*A) *A { return gc.Concat(2, xs[0], xs[0]) }},
		{Name: "Stack", Inputs: []*T{x, z},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.Stack(1, xs...) },
			Ref: func(xs []*A) *A {
				return gc.Concat(1, gc.Reshape(xs[0], 2, 1, 3, 4), gc.Reshape(xs[1], 2, 1, 3, 4))
			}},
		{Name: "Pad", Inputs: []*T{x},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.Pad(xs[0], []int{0, 1, 2}, []int{1, 0, 3}, 0.5) },
			Ref: func(xs []*A) *A {
				return gc.Pad(xs[0], []int{0, 1, 2}, []int{1, 0, 3}, 0.5)
			}},
		{Name: "IndexSelect", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.IndexSelect(xs[0], 1, []int{2, 0, 2, 2}) },
			Ref: func(xs []*A) *A { return gc.IndexSelect(xs[0], 1, []int{2, 0, 2, 2}) }},
		{Name: "BroadcastTo", Inputs: []*T{gc.Randn(r, 1, 3, 1)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.BroadcastTo(xs[0], 2, 3, 4) },
			Ref: func(xs []*A) *A { return gc.BroadcastTo(xs[0], 2, 3, 4) }},
	}
}

func linalgCases() []gc.Case {
	r := rng(4)
	var cs []gc.Case
	shapes := []struct {
		a, b []int
	}{
		{[]int{3, 4}, []int{4, 5}},
		{[]int{2, 3, 4}, []int{4, 5}},    // b shared by batches
		{[]int{2, 3, 4}, []int{2, 4, 5}}, // batched
		{[]int{2, 1, 3, 4}, []int{3, 4, 5}},
		{[]int{3, 4}, []int{2, 4, 5}}, // a shared
	}
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				as, bs := append([]int(nil), s.a...), append([]int(nil), s.b...)
				if ta {
					as[len(as)-1], as[len(as)-2] = as[len(as)-2], as[len(as)-1]
				}
				if tb {
					bs[len(bs)-1], bs[len(bs)-2] = bs[len(bs)-2], bs[len(bs)-1]
				}
				ta, tb := ta, tb
				cs = append(cs, gc.Case{Name: "MatMul", Inputs: []*T{gc.Randn(r, 1, as...), gc.Randn(r, 1, bs...)},
					F:   func(tp *ag.Tape, xs []*T) *T { return tp.MatMul(xs[0], xs[1], ta, tb) },
					Ref: func(xs []*A) *A { return gc.MatMul(xs[0], xs[1], ta, tb) }})
			}
		}
	}
	cs = append(cs,
		gc.Case{Name: "Linear", Inputs: []*T{gc.Randn(r, 1, 2, 3, 5), gc.Randn(r, 1, 4, 5), gc.Randn(r, 1, 4)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Linear(xs[0], xs[1], xs[2]) },
			Ref: func(xs []*A) *A { return gc.Linear(xs[0], xs[1], xs[2]) }},
		gc.Case{Name: "LinearNoBias", Inputs: []*T{gc.Randn(r, 1, 7, 5), gc.Randn(r, 1, 4, 5)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Linear(xs[0], xs[1], nil) },
			Ref: func(xs []*A) *A { return gc.Linear(xs[0], xs[1], nil) }},
		gc.Case{Name: "LinearWeightOnly", Inputs: []*T{gc.Randn(r, 1, 7, 5), gc.Randn(r, 1, 4, 5), gc.Randn(r, 1, 4)}, Wrt: []int{1},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Linear(xs[0], xs[1], xs[2]) },
			Ref: func(xs []*A) *A { return gc.Linear(xs[0], xs[1], xs[2]) }},
	)
	return cs
}

func convCases() []gc.Case {
	r := rng(5)
	conv := func(name string, x, w, b *T, stride, pad int) gc.Case {
		ins := []*T{x, w}
		if b != nil {
			ins = append(ins, b)
		}
		return gc.Case{Name: name, Inputs: ins,
			F: func(tp *ag.Tape, xs []*T) *T {
				var b *T
				if len(xs) > 2 {
					b = xs[2]
				}
				return tp.Conv2d(xs[0], xs[1], b, stride, pad)
			},
			Ref: func(xs []*A) *A {
				var b *A
				if len(xs) > 2 {
					b = xs[2]
				}
				return gc.Conv2d(xs[0], xs[1], b, stride, pad)
			}}
	}
	convT := func(name string, x, w, b *T, stride int) gc.Case {
		return gc.Case{Name: name, Inputs: []*T{x, w, b},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.ConvTranspose2d(xs[0], xs[1], xs[2], stride) },
			Ref: func(xs []*A) *A { return gc.ConvTranspose2d(xs[0], xs[1], xs[2], stride) }}
	}
	return []gc.Case{
		conv("Conv3x3p1", gc.Randn(r, 1, 2, 3, 6, 5), gc.Randn(r, 0.5, 4, 3, 3, 3), gc.Randn(r, 1, 4), 1, 1),
		conv("Conv1x1", gc.Randn(r, 1, 1, 5, 4, 4), gc.Randn(r, 0.5, 3, 5, 1, 1), gc.Randn(r, 1, 3), 1, 0),
		conv("Conv3x3s2p1", gc.Randn(r, 1, 1, 2, 7, 8), gc.Randn(r, 0.5, 3, 2, 3, 3), nil, 2, 1),
		conv("Conv2x2s2", gc.Randn(r, 1, 2, 1, 8, 6), gc.Randn(r, 0.5, 4, 1, 2, 2), gc.Randn(r, 1, 4), 2, 0),
		conv("Conv4x4s4", gc.Randn(r, 1, 1, 3, 8, 12), gc.Randn(r, 0.5, 2, 3, 4, 4), gc.Randn(r, 1, 2), 4, 0),
		conv("Conv16x16s16", gc.Randn(r, 1, 1, 2, 32, 16), gc.Randn(r, 0.2, 3, 2, 16, 16), gc.Randn(r, 1, 3), 16, 0),
		convT("ConvT2x2s2", gc.Randn(r, 1, 2, 3, 3, 4), gc.Randn(r, 0.5, 3, 2, 2, 2), gc.Randn(r, 1, 2), 2),
		convT("ConvT4x4s4", gc.Randn(r, 1, 1, 2, 2, 3), gc.Randn(r, 0.5, 2, 3, 4, 4), gc.Randn(r, 1, 3), 4),
	}
}

func normCases() []gc.Case {
	r := rng(6)
	// Shifted, scaled inputs exercise the mean and variance terms.
	x := gc.Randn(r, 2, 3, 4, 6)
	for i := range x.Data {
		x.Data[i] += 1
	}
	x2d := gc.Randn(r, 1.5, 2, 5, 3, 4)
	for i := range x2d.Data {
		x2d.Data[i] -= 0.5
	}
	return []gc.Case{
		{Name: "LayerNorm", Inputs: []*T{x, gc.Randn(r, 1, 6), gc.Randn(r, 1, 6)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm(xs[0], xs[1], xs[2], 1e-5) },
			Ref: func(xs []*A) *A { return gc.LayerNorm(xs[0], xs[1], xs[2], 1e-5) }},
		{Name: "LayerNormNoAffine", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm(xs[0], nil, nil, 1e-5) },
			Ref: func(xs []*A) *A { return gc.LayerNorm(xs[0], nil, nil, 1e-5) }},
		{Name: "LayerNormBiasOnly", Inputs: []*T{x, gc.Randn(r, 1, 6)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm(xs[0], nil, xs[1], 1e-5) },
			Ref: func(xs []*A) *A { return gc.LayerNorm(xs[0], nil, xs[1], 1e-5) }},
		{Name: "LayerNorm2dNoAffine", Inputs: []*T{x2d},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm2d(xs[0], nil, nil, 1e-6) },
			Ref: func(xs []*A) *A {
				return gc.LayerNorm2d(xs[0], gc.FromTensor(tensor.Full(1, 5)), gc.FromTensor(tensor.New(5)), 1e-6)
			}},
		// 17x17 = 289 pixels: two of the backward kernel's 256-pixel tiles.
		{Name: "LayerNorm2dTiles", Inputs: []*T{gc.Randn(r, 1, 1, 3, 17, 17), gc.Randn(r, 1, 3), gc.Randn(r, 1, 3)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6) },
			Ref: func(xs []*A) *A { return gc.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6) }},
		{Name: "LayerNorm2d", Inputs: []*T{x2d, gc.Randn(r, 1, 5), gc.Randn(r, 1, 5)},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6) },
			Ref: func(xs []*A) *A { return gc.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6) }},
	}
}

func softmaxCases() []gc.Case {
	r := rng(7)
	x := gc.Randn(r, 2, 2, 3, 7)
	m := mask(r, 0.6, 2, 1, 7)
	m.Data[0], m.Data[1] = 1, 1 // some kept cells in every row
	m.Data[7] = 1
	full := mask(r, 0.5, 2, 3, 7)
	for i := 0; i < 7; i++ {
		full.Data[i] = 0 // an empty row: all zeros and no gradient
	}
	return []gc.Case{
		{Name: "Softmax", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Softmax(xs[0], nil) },
			Ref: func(xs []*A) *A { return gc.Softmax(xs[0], nil) }},
		{Name: "SoftmaxMaskBroadcast", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Softmax(xs[0], m) },
			Ref: func(xs []*A) *A { return gc.Softmax(xs[0], gc.FromTensor(m)) }},
		{Name: "SoftmaxMaskFull", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Softmax(xs[0], full) },
			Ref: func(xs []*A) *A { return gc.Softmax(xs[0], gc.FromTensor(full)) }},
		{Name: "MaskedFill", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.MaskedFill(xs[0], m, -999) },
			Ref: func(xs []*A) *A { return gc.MaskedFill(xs[0], gc.FromTensor(m), -999) }},
		{Name: "MaskedFillThenSoftmax", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.Softmax(tp.MaskedFill(xs[0], m, -999), nil) },
			Ref: func(xs []*A) *A { return gc.Softmax(gc.MaskedFill(xs[0], gc.FromTensor(m), -999), nil) }},
		{Name: "Where", Inputs: []*T{x, gc.Randn(r, 1, 2, 3, 7)},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.Where(m, xs[0], xs[1]) },
			Ref: func(xs []*A) *A {
				mm := gc.BroadcastTo(gc.FromTensor(m), 2, 3, 7)
				return gc.Build(xs[0].Shape, func(idx []int) float64 {
					if mm.At(idx...) != 0 {
						return xs[0].At(idx...)
					}
					return xs[1].At(idx...)
				})
			}},
		{Name: "LogSoftmax", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.LogSoftmax(xs[0]) },
			Ref: func(xs []*A) *A { return gc.LogSoftmax(xs[0], -1) }},
		{Name: "L2NormalizeLast", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.L2Normalize(xs[0], -1, 1e-12) },
			Ref: func(xs []*A) *A { return gc.L2Normalize(xs[0], -1, 1e-12) }},
		{Name: "L2NormalizeMid", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.L2Normalize(xs[0], 1, 1e-12) },
			Ref: func(xs []*A) *A { return gc.L2Normalize(xs[0], 1, 1e-12) }},
	}
}

func poolResizeCases() []gc.Case {
	r := rng(8)
	x := gc.Randn(r, 1, 2, 3, 7, 6)
	var cs []gc.Case
	for _, p := range []struct{ k, s, pad int }{{3, 2, 1}, {2, 2, 0}, {3, 1, 1}} {
		p := p
		cs = append(cs, gc.Case{Name: "AvgPool2d", Inputs: []*T{x},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.AvgPool2d(xs[0], p.k, p.s, p.pad) },
			Ref: func(xs []*A) *A { return gc.AvgPool2d(xs[0], p.k, p.s, p.pad) }})
	}
	for _, sz := range [][2]int{{14, 12}, {4, 3}, {7, 6}, {10, 1}, {1, 9}, {13, 17}} {
		for _, ac := range []bool{false, true} {
			sz, ac := sz, ac
			cs = append(cs, gc.Case{Name: "ResizeBilinear", Inputs: []*T{x},
				F:   func(tp *ag.Tape, xs []*T) *T { return tp.ResizeBilinear(xs[0], sz[0], sz[1], ac) },
				Ref: func(xs []*A) *A { return gc.ResizeBilinear(xs[0], sz[0], sz[1], ac) }})
		}
		for _, ex := range []bool{false, true} {
			sz, ex := sz, ex
			cs = append(cs, gc.Case{Name: "ResizeNearest", Inputs: []*T{x},
				F:   func(tp *ag.Tape, xs []*T) *T { return tp.ResizeNearest(xs[0], sz[0], sz[1], ex) },
				Ref: func(xs []*A) *A { return gc.ResizeNearest(xs[0], sz[0], sz[1], ex) }})
		}
	}
	return cs
}

func lossCases() []gc.Case {
	r := rng(9)
	logits := gc.Randn(r, 2, 2, 4, 3, 5) // N=2, C=4, 3x5
	labels := make([]int, 2*3*5)
	for i := range labels {
		labels[i] = r.IntN(4)
	}
	labels[3] = ag.IgnoreIndex
	target := tensor.New(2, 4, 3, 5)
	for i := range target.Data {
		target.Data[i] = float32(r.Float64())
	}
	bx, bt := gc.Randn(r, 3, 3, 4), tensor.New(3, 4)
	for i := range bt.Data {
		bt.Data[i] = float32(r.IntN(2))
	}
	bt.Data[0] = 0.3 // soft targets are allowed
	ce := func(xs []*A) *A {
		lp := gc.LogSoftmax(xs[0], 1)
		var s float64
		n := 0
		for i, y := range labels {
			if y == ag.IgnoreIndex {
				continue
			}
			b, p := i/15, i%15
			s -= lp.At(b, y, p/5, p%5)
			n++
		}
		return gc.Scalar(s / float64(n))
	}
	return []gc.Case{
		{Name: "CrossEntropy", Inputs: []*T{logits},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.CrossEntropy(xs[0], labels) },
			Ref: ce},
		{Name: "CrossEntropy2D", Inputs: []*T{gc.Randn(r, 1, 5, 3)},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.CrossEntropy(xs[0], []int{0, 2, 1, 1, 0}) },
			Ref: func(xs []*A) *A {
				lp := gc.LogSoftmax(xs[0], 1)
				return gc.Scalar(-(lp.At(0, 0) + lp.At(1, 2) + lp.At(2, 1) + lp.At(3, 1) + lp.At(4, 0)) / 5)
			}},
		{Name: "SoftCrossEntropy", Inputs: []*T{logits},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.SoftCrossEntropy(xs[0], target) },
			Ref: func(xs []*A) *A {
				lp := gc.LogSoftmax(xs[0], 1)
				t := gc.FromTensor(target)
				var s float64
				for i := range lp.Data {
					s -= t.Data[i] * lp.Data[i]
				}
				return gc.Scalar(s / 30)
			}},
		{Name: "BCEWithLogits", Inputs: []*T{bx},
			F: func(tp *ag.Tape, xs []*T) *T { return tp.BCEWithLogits(xs[0], bt) },
			Ref: func(xs []*A) *A {
				var s float64
				for i, x := range xs[0].Data {
					p := 1 / (1 + math.Exp(-x))
					t := float64(bt.Data[i])
					s -= t*math.Log(p) + (1-t)*math.Log(1-p)
				}
				return gc.Scalar(s / 12)
			}},
	}
}

func gumbelCases() []gc.Case {
	r := rng(10)
	logits := gc.Randn(r, 2, 2, 3, 6)
	noise := tensor.New(2, 3, 6)
	for i := range noise.Data {
		noise.Data[i] = -float32(math.Log(r.ExpFloat64()))
	}
	soft := func(tau float64) func(xs []*A) *A {
		return func(xs []*A) *A {
			z := gc.Binary(xs[0], gc.FromTensor(noise), func(a, b float64) float64 { return (a + b) / tau })
			return gc.Softmax(z, nil)
		}
	}
	return []gc.Case{
		{Name: "GumbelSoft", Inputs: []*T{logits},
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.GumbelSoftmaxNoise(xs[0], noise, 0.5, false) },
			Ref: soft(0.5)},
		// The straight-through value is a one-hot; its gradient is the soft one's.
		{Name: "GumbelHardST", Inputs: []*T{logits}, FwdTol: -1,
			F:   func(tp *ag.Tape, xs []*T) *T { return tp.GumbelSoftmaxNoise(xs[0], noise, 1, true) },
			Ref: soft(1)},
	}
}

func TestGradients(t *testing.T) {
	groups := map[string][]gc.Case{
		"elementwise": elementwiseCases(),
		"reductions":  reductionCases(),
		"shape":       shapeCases(),
		"linalg":      linalgCases(),
		"conv":        convCases(),
		"norm":        normCases(),
		"softmax":     softmaxCases(),
		"pool":        poolResizeCases(),
		"loss":        lossCases(),
		"gumbel":      gumbelCases(),
	}
	for g, cs := range groups {
		t.Run(g, func(t *testing.T) {
			for i, c := range cs {
				c.Seed = uint64(i)
				res := gc.Check(t, c)
				if testing.Verbose() {
					t.Logf("%-22s fwd %.2g grad %.2g", c.Name, res.Forward, res.Grad)
				}
			}
		})
	}
}

// TestBroadcastGradientsRandomShapes draws random broadcast-compatible shape pairs
// (dropped leading axes, size-1 axes on either side) for the four binary ops.
func TestBroadcastGradientsRandomShapes(t *testing.T) {
	r := rng(13)
	ops := []struct {
		name string
		f    func(tp *ag.Tape, a, b *T) *T
		ref  func(x, y float64) float64
	}{
		{"Add", (*ag.Tape).Add, func(x, y float64) float64 { return x + y }},
		{"Sub", (*ag.Tape).Sub, func(x, y float64) float64 { return x - y }},
		{"Mul", (*ag.Tape).Mul, func(x, y float64) float64 { return x * y }},
		{"Div", (*ag.Tape).Div, func(x, y float64) float64 { return x / y }},
	}
	for trial := 0; trial < 40; trial++ {
		rank := 1 + r.IntN(4)
		full := make([]int, rank)
		for i := range full {
			full[i] = 1 + r.IntN(3)
		}
		pick := func() []int {
			s := append([]int(nil), full[r.IntN(rank):]...)
			for i := range s {
				if r.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		as, bs := pick(), pick()
		op := ops[trial%4]
		b := gc.Rand(r, 0.5, 2, bs...) // away from 0 for Div
		if r.IntN(2) == 0 {
			for i := range b.Data {
				b.Data[i] = -b.Data[i]
			}
		}
		c := binary(op.name, gc.Randn(r, 1, as...), b, op.f, op.ref)
		c.Seed = uint64(trial)
		if _, err := gc.Run(c); err != nil {
			t.Errorf("%s %v with %v: %v", op.name, as, bs, err)
		}
	}
}

// TestCompositeConvMLP chains the ops of AI-SAM's conv_mlp residual and classifier pooling
// (conv3x3, LayerNorm2d, GELU, conv1x1, residual, AvgPool2d(3,2,1)), then a masked point
// softmax over the flattened map, and checks gradients for every input at once.
func TestCompositeConvMLP(t *testing.T) {
	r := rng(14)
	x := gc.Randn(r, 1, 1, 4, 8, 8)
	w1, b1 := gc.Randn(r, 0.3, 4, 4, 3, 3), gc.Randn(r, 0.1, 4)
	lw, lb := gc.Randn(r, 1, 4), gc.Randn(r, 1, 4)
	w2, b2 := gc.Randn(r, 0.3, 4, 4, 1, 1), gc.Randn(r, 0.1, 4)
	m := mask(r, 0.7, 1, 1, 16)
	m.Data[0] = 1
	gelu := func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
	gc.Check(t, gc.Case{Name: "ConvMLP", Inputs: []*T{x, w1, b1, lw, lb, w2, b2},
		F: func(tp *ag.Tape, xs []*T) *T {
			h := tp.Conv2d(xs[0], xs[1], xs[2], 1, 1)
			h = tp.GELU(tp.LayerNorm2d(h, xs[3], xs[4], 1e-6))
			h = tp.Add(xs[0], tp.Conv2d(h, xs[5], xs[6], 1, 0))
			h = tp.AvgPool2d(h, 3, 2, 1) // 1x4x4x4
			return tp.Softmax(tp.Reshape(h, 1, 4, 16), m)
		},
		Ref: func(xs []*A) *A {
			h := gc.Conv2d(xs[0], xs[1], xs[2], 1, 1)
			h = gc.Map(gc.LayerNorm2d(h, xs[3], xs[4], 1e-6), gelu)
			h = gc.Binary(xs[0], gc.Conv2d(h, xs[5], xs[6], 1, 0), func(a, b float64) float64 { return a + b })
			h = gc.AvgPool2d(h, 3, 2, 1)
			return gc.Softmax(gc.Reshape(h, 1, 4, 16), gc.FromTensor(m))
		}})
}
