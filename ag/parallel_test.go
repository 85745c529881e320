package ag_test

import (
	"math"
	"testing"

	"github.com/aisam/aisam/ag"
	gc "github.com/aisam/aisam/internal/gradcheck"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// TestBackwardSameOnAnyWorkerCount runs backward kernels at sizes that split across
// workers (several LayerNorm2d pixel tiles, many rows, many planes) with 1, 2 and 3
// workers: the gradients must agree, which catches partitioning and race bugs that the
// small finite-difference cases cannot reach.
func TestBackwardSameOnAnyWorkerCount(t *testing.T) {
	r := rng(15)
	x4 := gc.Randn(r, 1, 2, 16, 40, 40)
	w16, b16 := gc.Randn(r, 1, 16), gc.Randn(r, 1, 16)
	rows := gc.Randn(r, 1, 3000, 24)
	w24, b24 := gc.Randn(r, 1, 24), gc.Randn(r, 1, 24)
	cw, cb := gc.Randn(r, 0.2, 8, 16, 3, 3), gc.Randn(r, 1, 8)
	tw, tb := gc.Randn(r, 0.2, 16, 4, 2, 2), gc.Randn(r, 1, 4)
	cases := []struct {
		name string
		ins  []*tensor.Tensor
		f    func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor
	}{
		{"LayerNorm2d", []*tensor.Tensor{x4, w16, b16}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6)
		}},
		{"LayerNorm", []*tensor.Tensor{rows, w24, b24}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.LayerNorm(xs[0], xs[1], xs[2], 1e-5)
		}},
		{"Softmax", []*tensor.Tensor{rows}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Softmax(xs[0], nil) }},
		{"L2Normalize", []*tensor.Tensor{rows}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.L2Normalize(xs[0], 0, 1e-12)
		}},
		{"Conv2d", []*tensor.Tensor{x4, cw, cb}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.Conv2d(xs[0], xs[1], xs[2], 2, 1)
		}},
		{"ConvTranspose2d", []*tensor.Tensor{x4, tw, tb}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.ConvTranspose2d(xs[0], xs[1], xs[2], 2)
		}},
		{"Pool+Resize", []*tensor.Tensor{x4}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.ResizeBilinear(tp.AvgPool2d(xs[0], 3, 2, 1), 57, 33, true)
		}},
		{"GELU", []*tensor.Tensor{x4}, func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.GELU(xs[0]) }},
	}
	grads := func(c int, workers int) [][]float32 {
		old := par.SetWorkers(workers)
		defer par.SetWorkers(old)
		tp := ag.NewTape()
		tp.Watch(cases[c].ins...)
		y := cases[c].f(tp, cases[c].ins)
		g := tensor.New(y.Shape()...)
		for i := range g.Data {
			g.Data[i] = float32(math.Sin(float64(i)))
		}
		tp.BackwardWith(y, g)
		var out [][]float32
		for _, x := range cases[c].ins {
			out = append(out, tp.Grad(x).Data)
		}
		return out
	}
	for c := range cases {
		ref := grads(c, 1)
		for _, w := range []int{2, 3} {
			got := grads(c, w)
			for i := range ref {
				var scale, diff float64
				for j := range ref[i] {
					scale = math.Max(scale, math.Abs(float64(ref[i][j])))
					diff = math.Max(diff, math.Abs(float64(ref[i][j]-got[i][j])))
				}
				if !(diff <= 1e-5*scale) {
					t.Errorf("%s input %d: %d workers differ from 1 by %.3g (scale %.3g)", cases[c].name, i, w, diff, scale)
				}
			}
		}
	}
}
