package tensor

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/par"
)

func TestScalarsAndEmpty(t *testing.T) {
	s := Add(Scalar(2), Scalar(3))
	if s.Rank() != 0 || s.Data[0] != 5 {
		t.Errorf("Add of scalars = %v", s)
	}
	if v := Mul(Scalar(2), Full(1.5, 2, 2)); v.Data[3] != 3 || !EqualShape(v.Shape(), []int{2, 2}) {
		t.Errorf("scalar broadcast = %v", v)
	}
	if p := Permute(Scalar(7)); p.Data[0] != 7 {
		t.Errorf("Permute of scalar = %v", p)
	}
	if sm := Softmax(Scalar(-3), nil); sm.Data[0] != 1 {
		t.Errorf("Softmax of scalar = %v", sm)
	}
	e := New(0, 4)
	if SumAll(e) != 0 {
		t.Error("SumAll of empty != 0")
	}
	for name, got := range map[string]*Tensor{
		"Add":     Add(e, New(4)),
		"Exp":     Exp(e),
		"GELU":    GELU(e),
		"Sum0":    Sum(e, 1, false),
		"Softmax": Softmax(e, nil),
		"Permute": Permute(e, 1, 0),
		"Pad":     Pad(e, []int{0, 1}, []int{0, 1}, 9),
		"Linear":  Linear(e, New(3, 4), New(3)),
	} {
		if got.Numel() != 0 {
			t.Errorf("%s of empty has %d elements (shape %v)", name, got.Numel(), got.Shape())
		}
	}
	if s := Sum(e, 0, false); !EqualShape(s.Shape(), []int{4}) || s.Data[0] != 0 {
		t.Errorf("Sum over an empty axis = %v, want zeros of shape [4]", s)
	}
	if r := e.Reshape(-1, 2, 2); !EqualShape(r.Shape(), []int{0, 2, 2}) {
		t.Errorf("Reshape(-1, 2, 2) of shape [0 4] = %v, want shape [0 2 2]", r.Shape())
	}
	c := Concat(0, New(0, 3), Full(1, 2, 3))
	if !EqualShape(c.Shape(), []int{2, 3}) || c.Data[5] != 1 {
		t.Errorf("Concat with an empty piece = %v", c)
	}
	// Linear with no inputs is just the bias.
	lb := Linear(New(2, 0), New(3, 0), FromSlice([]float32{1, 2, 3}, 3))
	if lb.At(1, 2) != 3 {
		t.Errorf("Linear with in=0 = %v", lb)
	}
}

// Shape errors are programming errors: they panic naming the op and the shapes.
func TestShapeErrorsPanicWithOpName(t *testing.T) {
	cases := []struct {
		op string
		f  func()
	}{
		{"tensor.Add", func() { Add(New(2, 3), New(4)) }},
		{"tensor.AddInPlace", func() { AddInPlace(New(3), New(2, 3)) }},
		{"tensor.MatMul", func() { MatMul(New(2, 3), New(4, 5), false, false) }},
		{"tensor.Linear", func() { Linear(New(2, 3), New(4, 5), nil) }},
		{"tensor.Conv2d", func() { Conv2d(New(1, 3, 8, 8), New(4, 2, 3, 3), nil, 1, 1) }},
		{"tensor.Permute", func() { Permute(New(2, 3), 0, 0) }},
		{"tensor.Slice", func() { Slice(New(2, 3), 1, 2, 5) }},
		{"tensor.Concat", func() { Concat(0, New(2, 3), New(2, 4)) }},
		{"tensor.Softmax", func() { Softmax(New(2, 3), New(2)) }},
		{"tensor.LayerNorm", func() { LayerNorm(New(2, 3), New(4), nil, 1e-5) }},
		{"tensor.IndexSelect", func() { IndexSelect(New(2, 3), 1, []int{3}) }},
		{"tensor.Sum", func() { Sum(New(2, 3), 2, false) }},
		{"tensor.Reshape", func() { New(2, 3).Reshape(4, -1) }},
		{"tensor.Reshape", func() { New(4).Reshape(-2, -2) }},       // negative dims whose product matches
		{"tensor.Reshape", func() { New(0, 3).Reshape(0, -1) }},     // -1 is ambiguous with no elements
		{"tensor.Reshape", func() { New(2, 3).Reshape(-1, 3, -1) }}, // two inferred dims
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.Contains(msg, c.op) {
					t.Errorf("%s: recovered %v, want a panic naming the op", c.op, r)
				}
			}()
			c.f()
		}()
	}
}

// Results do not depend on the number of workers: every kernel splits work so that each
// output element is computed by the same sequence of operations.
func TestWorkerCountIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	x := randT(rng, 2, 16, 40, 40)
	w := randT(rng, 8, 16, 3, 3)
	row := randT(rng, 40)
	ops := map[string]func() *Tensor{
		"Conv2d":         func() *Tensor { return Conv2d(x, w, nil, 2, 1) },
		"LayerNorm2d":    func() *Tensor { return LayerNorm2d(x, nil, nil, 1e-6) },
		"LayerNorm":      func() *Tensor { return LayerNorm(x, row, row, 1e-6) },
		"Softmax":        func() *Tensor { return Softmax(x, nil) },
		"GELU":           func() *Tensor { return GELU(x) },
		"Sum":            func() *Tensor { return Sum(x, 1, false) },
		"SumAll":         func() *Tensor { return Scalar(float32(SumAll(x))) },
		"ResizeBilinear": func() *Tensor { return ResizeBilinear(x, 97, 61, false) },
		"Permute":        func() *Tensor { return Permute(x, 0, 2, 3, 1) },
		"SumTo":          func() *Tensor { return SumTo(x, 40) },
		"SumTo keep":     func() *Tensor { return SumTo(x, 2, 1, 40, 1) },
	}
	for name, f := range ops {
		old := par.SetWorkers(1)
		a := f()
		par.SetWorkers(2)
		b := f()
		par.SetWorkers(old)
		closeTo(t, name+" 1 vs 2 workers", a.Data, f64(b.Data), 0, 0)
	}
}
