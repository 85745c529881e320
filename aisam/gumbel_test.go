package aisam

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// TestGumbelPoints checks the hard Gumbel points: each sample is one-hot, argmax frequencies
// follow softmax(logits) (the Gumbel-max property), and the straight-through gradient is
// the softmax Jacobian of the perturbed logits.
func TestGumbelPoints(t *testing.T) {
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	logits := tensor.New(1, 4)
	for i, p := range probs {
		logits.Data[i] = float32(math.Log(p))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 40000
	counts := make([]int, 4)
	for k := 0; k < n; k++ {
		y := gumbelHard(nil, logits, rng)
		hot := -1
		for i, v := range y.Data {
			switch v {
			case 1:
				if hot >= 0 {
					t.Fatal("two ones")
				}
				hot = i
			case 0:
			default:
				t.Fatalf("value %g in a hard sample", v)
			}
		}
		counts[hot]++
	}
	for i, p := range probs {
		f := float64(counts[i]) / n
		if math.Abs(f-p) > 4*math.Sqrt(p*(1-p)/n) {
			t.Errorf("class %d drawn %.4f of the time, want %.4f", i, f, p)
		}
	}
	// Gradient: replay the same noise to get the perturbed logits, then compare with the
	// softmax Jacobian computed in float64.
	x := tensor.FromSlice([]float32{0.3, -1, 2, 0.5, 0.1}, 1, 5)
	up := []float64{1, -2, 0.5, 3, -1}
	r1, r2 := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	tp := ag.NewTape()
	tp.Watch(x)
	y := gumbelHard(tp, x, r1)
	g := tensor.New(1, 5)
	for i, v := range up {
		g.Data[i] = float32(v)
	}
	tp.BackwardWith(y, g)
	z := make([]float64, 5)
	var mx float64 = math.Inf(-1)
	for i := range z {
		z[i] = float64(x.Data[i]) - math.Log(r2.ExpFloat64())
		mx = math.Max(mx, z[i])
	}
	var se float64
	for i := range z {
		z[i] = math.Exp(z[i] - mx)
		se += z[i]
	}
	var dot float64
	for i := range z {
		z[i] /= se
		dot += z[i] * up[i]
	}
	for i := range z {
		want := z[i] * (up[i] - dot)
		if got := float64(tp.Grad(x).Data[i]); math.Abs(got-want) > 1e-5 {
			t.Errorf("d/dx[%d] = %g, want %g", i, got, want)
		}
	}
}
