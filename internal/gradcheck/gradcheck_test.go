package gradcheck

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// The harness must reject wrong gradients, wrong values and mutated inputs, or the
// gradient tests that use it prove nothing.
func TestRunDetectsErrors(t *testing.T) {
	x := Randn(rand.New(rand.NewPCG(1, 2)), 1, 3, 4)
	sin := func(xs []*Array) *Array { return Map(xs[0], math.Sin) }
	cases := []struct {
		name string
		c    Case
		want string // "" means the case must pass
	}{
		{"correct", Case{F: func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Sin(xs[0]) }, Ref: sin}, ""},
		{"wrong value", Case{F: func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Cos(xs[0]) }, Ref: sin}, "forward"},
		{"wrong gradient", Case{
			// value 2x, but half of it is detached so the tape's gradient is 1, not 2
			F:   func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Add(xs[0], tp.Detach(xs[0])) },
			Ref: func(xs []*Array) *Array { return Map(xs[0], func(v float64) float64 { return 2 * v }) }}, "gradient"},
		{"not recorded", Case{
			F:   func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tensor.Scale(xs[0], 2) },
			Ref: func(xs []*Array) *Array { return Map(xs[0], func(v float64) float64 { return 2 * v }) }}, "recorded"},
		{"mutates input", Case{
			F: func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
				y := tp.Scale(xs[0], 1)
				if tp != nil {
					xs[0].Data[0]++
				}
				return y
			},
			Ref: func(xs []*Array) *Array { return Map(xs[0], func(v float64) float64 { return v }) }}, "modified"},
	}
	for _, tc := range cases {
		tc.c.Name = tc.name
		tc.c.Inputs = []*tensor.Tensor{x.Clone()}
		_, err := Run(tc.c)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestReferenceOpsByHand(t *testing.T) {
	a := &Array{Data: []float64{1, 2, 3, 4, 5, 6}, Shape: []int{2, 3}}
	b := &Array{Data: []float64{1, 0, 0, 1, 1, 1}, Shape: []int{3, 2}}
	got := MatMul(a, b, false, false).Data
	want := []float64{1 + 3, 2 + 3, 4 + 6, 5 + 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MatMul %v, want %v", got, want)
		}
	}
	if p := Permute(a, 1, 0); p.At(2, 1) != 6 || p.At(0, 1) != 4 {
		t.Fatalf("Permute %v", p.Data)
	}
	// torch: F.interpolate(arange(4.).view(1,1,1,4), size=(1,8), mode="bilinear") gives
	// 0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3
	x := &Array{Data: []float64{0, 1, 2, 3}, Shape: []int{1, 1, 1, 4}}
	r := ResizeBilinear(x, 1, 8, false).Data
	wr := []float64{0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3}
	for i := range wr {
		if !(math.Abs(r[i]-wr[i]) <= 1e-12) {
			t.Fatalf("bilinear %v, want %v", r, wr)
		}
	}
	// avg_pool2d(k3, s2, p1, count_include_pad=False) of arange(16).view(1,1,4,4): the
	// corner window holds 0,1,4,5 -> 2.5
	y := Build([]int{1, 1, 4, 4}, func(idx []int) float64 { return float64(idx[2]*4 + idx[3]) })
	if v := AvgPool2d(y, 3, 2, 1).At(0, 0, 0, 0); v != 2.5 {
		t.Fatalf("avg pool corner %v, want 2.5", v)
	}
}
