// Package gradcheck tests reverse-mode gradients against central finite differences of
// an independent float64 reference forward.
//
// A Case gives the op twice: F, on an *ag.Tape in float32 (the code under test), and Ref,
// a plain float64 implementation written from the op's definition. Check verifies that
// F's value matches Ref, that a nil tape (inference) gives the same value as a recording
// one, that inputs are left unchanged, and that the tape's gradient of ⟨r, F(x)⟩ for a
// random projection r matches the central difference of ⟨r, Ref(x)⟩ in float64, where
// truncation and rounding errors are far below float32 resolution.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// Case is one op under test.
type Case struct {
	Name   string
	Inputs []*tensor.Tensor
	// Wrt lists the inputs to differentiate; nil means all of them.
	Wrt []int
	// F computes the op on a tape (nil for inference).
	F func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor
	// Ref computes the same function in float64.
	Ref func(xs []*Array) *Array
	// FwdTol bounds max|F-Ref| / max|Ref| (0: 1e-5; negative: skip the value check, for
	// ops whose value is not the function differentiated, such as straight-through ones).
	FwdTol float64
	// GradTol bounds max|analytic-numeric| / max|numeric| per input (0: 2e-5; float32
	// backward kernels measure about 1e-7). The denominator is at least 1% of the largest
	// numeric gradient over all inputs, so that an input whose true gradient is tiny is
	// judged against the rounding of the whole computation.
	GradTol float64
	// Step is the finite-difference step (0: 1e-6).
	Step float64
	// Seed selects the random projection.
	Seed uint64
}

// Result reports the worst relative errors that Check measured.
type Result struct {
	Forward float64
	Grad    []float64 // per entry of Wrt
}

// Check runs the case and reports failures on t.
func Check(t testing.TB, c Case) Result {
	t.Helper()
	res, err := Run(c)
	if err != nil {
		t.Errorf("%s: %v", c.Name, err)
	}
	return res
}

// Run runs the case and returns the measured errors, or an error describing the first
// violated check.
func Run(c Case) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	fwdTol, gradTol, h := c.FwdTol, c.GradTol, c.Step
	if fwdTol == 0 {
		fwdTol = 1e-5
	}
	if gradTol == 0 {
		gradTol = 2e-5
	}
	if h == 0 {
		h = 1e-6
	}
	wrt := c.Wrt
	if wrt == nil {
		for i := range c.Inputs {
			wrt = append(wrt, i)
		}
	}
	orig := make([]*tensor.Tensor, len(c.Inputs))
	for i, x := range c.Inputs {
		orig[i] = x.Clone()
	}

	yInf := c.F(nil, c.Inputs)
	tp := ag.NewTape()
	for _, i := range wrt {
		tp.Watch(c.Inputs[i])
	}
	y := c.F(tp, c.Inputs)
	if !tensor.SameShape(y, yInf) {
		return res, fmt.Errorf("inference shape %v, training shape %v", yInf.Shape(), y.Shape())
	}
	for i := range y.Data {
		if !same(y.Data[i], yInf.Data[i]) {
			return res, fmt.Errorf("inference and training values differ at %d: %g vs %g", i, yInf.Data[i], y.Data[i])
		}
	}
	if tp.Len() == 0 {
		return res, fmt.Errorf("nothing was recorded on the tape")
	}

	xs := make([]*Array, len(c.Inputs))
	for i, x := range orig {
		xs[i] = FromTensor(x)
	}
	ref := c.Ref(xs)
	if !tensor.EqualShape(ref.Shape, y.Shape()) {
		return res, fmt.Errorf("reference shape %v, op shape %v", ref.Shape, y.Shape())
	}
	if fwdTol > 0 {
		res.Forward = relErr(toF64(y.Data), ref.Data, 0)
		if !(res.Forward <= fwdTol) {
			return res, fmt.Errorf("forward differs from the float64 reference: relative error %.3g > %.3g", res.Forward, fwdTol)
		}
	}

	rng := rand.New(rand.NewPCG(c.Seed, 99))
	r := tensor.New(y.Shape()...)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	r64 := toF64(r.Data)
	tp.BackwardWith(y, r)

	nums := make([][]float64, len(wrt))
	var global float64
	for w, i := range wrt {
		x := xs[i]
		num := make([]float64, len(x.Data))
		for j := range x.Data {
			v := x.Data[j]
			x.Data[j] = v + h
			fp := dot(r64, c.Ref(xs).Data)
			x.Data[j] = v - h
			fm := dot(r64, c.Ref(xs).Data)
			x.Data[j] = v
			num[j] = (fp - fm) / (2 * h)
			global = math.Max(global, math.Abs(num[j]))
		}
		nums[w] = num
	}
	for w, i := range wrt {
		num := nums[w]
		g := tp.Grad(c.Inputs[i])
		ana := make([]float64, len(num))
		if g != nil {
			if !tensor.EqualShape(g.Shape(), c.Inputs[i].Shape()) {
				return res, fmt.Errorf("input %d: gradient shape %v for shape %v", i, g.Shape(), c.Inputs[i].Shape())
			}
			ana = toF64(g.Data)
		}
		e := relErr(ana, num, 1e-2*global)
		res.Grad = append(res.Grad, e)
		if !(e <= gradTol) {
			j := worst(ana, num)
			return res, fmt.Errorf("input %d %v: gradient relative error %.3g > %.3g (worst at %d: tape %g, finite difference %g)",
				i, c.Inputs[i].Shape(), e, gradTol, j, ana[j], num[j])
		}
	}
	for i, x := range c.Inputs {
		for j := range x.Data {
			if !same(x.Data[j], orig[i].Data[j]) {
				return res, fmt.Errorf("input %d was modified at %d", i, j)
			}
		}
	}
	return res, nil
}

func same(a, b float32) bool { return a == b || (a != a && b != b) }

func toF64(d []float32) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		if v != 0 {
			s += v * b[i]
		}
	}
	return s
}

// relErr returns max|a-b| / max(max|b|, floor) (max|a-b| when that is zero).
func relErr(a, b []float64, floor float64) float64 {
	var d, m float64
	for i := range b {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		m = math.Max(m, math.Abs(b[i]))
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) {
			return math.Inf(1)
		}
	}
	m = math.Max(m, floor)
	if m == 0 {
		return d
	}
	return d / m
}

func worst(a, b []float64) int {
	j, d := 0, -1.0
	for i := range a {
		if e := math.Abs(a[i] - b[i]); e > d {
			j, d = i, e
		}
	}
	return j
}

// Rand returns a tensor of the given shape with values uniform in [lo, hi).
func Rand(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return t
}

// Randn returns a tensor of the given shape with values from N(0, std²).
func Randn(rng *rand.Rand, std float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(std * rng.NormFloat64())
	}
	return t
}
