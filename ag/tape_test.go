package ag_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	gc "github.com/aisam/aisam/internal/gradcheck"
	"github.com/aisam/aisam/tensor"
)

func TestNilTapeRecordsNothing(t *testing.T) {
	var tp *ag.Tape
	x := tensor.FromSlice([]float32{1, -2, 3}, 3)
	y := tp.ReLU(tp.Mul(x, x))
	if y.Data[1] != 4 || tp.Len() != 0 || tp.Grad(x) != nil {
		t.Fatalf("nil tape: y %v, len %d", y.Data, tp.Len())
	}
	tp.Watch(x)
	tp.BackwardWith(y, y) // no-op, no panic
}

func TestUnwatchedInputsAreNotRecorded(t *testing.T) {
	tp := ag.NewTape()
	w := tensor.FromSlice([]float32{1, 2}, 2)
	x := tensor.FromSlice([]float32{3, 4}, 2)
	frozen := tp.Mul(x, x) // nothing live yet
	if tp.Len() != 0 {
		t.Fatalf("recorded %d ops over unwatched inputs", tp.Len())
	}
	tp.Watch(w)
	loss := tp.SumAll(tp.Mul(frozen, w))
	if tp.Len() != 2 {
		t.Fatalf("recorded %d ops, want 2", tp.Len())
	}
	tp.Backward(loss)
	if g := tp.Grad(w); g.Data[0] != 9 || g.Data[1] != 16 {
		t.Fatalf("grad w %v, want [9 16]", g.Data)
	}
	if tp.Grad(x) != nil {
		t.Fatal("unwatched input got a gradient")
	}
}

func TestReuseAccumulatesAndRetain(t *testing.T) {
	tp := ag.NewTape()
	x := tensor.FromSlice([]float32{1, 2, 3}, 3)
	tp.Watch(x)
	h := tp.Mul(x, x) // x used twice in one op
	tp.Retain(h)
	u := tp.Add(h, x) // and again later
	tp.Backward(tp.SumAll(u))
	for i, v := range tp.Grad(x).Data {
		if want := 2*x.Data[i] + 1; v != want {
			t.Fatalf("grad x[%d] = %v, want %v", i, v, want)
		}
	}
	if g := tp.Grad(h); g == nil || g.Data[0] != 1 {
		t.Fatalf("retained grad of h = %v", g)
	}
	if tp.Grad(u) != nil {
		t.Fatal("intermediate gradient kept without Retain")
	}
	if tp.Len() != 0 {
		t.Fatal("ops kept after Backward")
	}
}

func TestBackwardNeedsScalar(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Backward on a vector did not panic")
		}
	}()
	tp := ag.NewTape()
	x := tensor.New(3)
	tp.Watch(x)
	tp.Backward(tp.Scale(x, 2))
}

// TestGumbelHardIsOneHotOfArgmax checks the straight-through value: exactly one entry per
// row, at the argmax of logits+noise, equal to 1 (to the rounding of torch's
// (onehot-soft)+soft), and zeros elsewhere.
func TestGumbelHardIsOneHotOfArgmax(t *testing.T) {
	r := rng(11)
	logits := gc.Randn(r, 3, 5, 9)
	noise := tensor.New(5, 9)
	for i := range noise.Data {
		noise.Data[i] = -float32(math.Log(r.ExpFloat64()))
	}
	y := (*ag.Tape)(nil).GumbelSoftmaxNoise(logits, noise, 0.7, true)
	for row := 0; row < 5; row++ {
		best := 0
		for k := 1; k < 9; k++ {
			if logits.Data[row*9+k]+noise.Data[row*9+k] > logits.Data[row*9+best]+noise.Data[row*9+best] {
				best = k
			}
		}
		for k := 0; k < 9; k++ {
			v := y.Data[row*9+k]
			if k == best && !(math.Abs(float64(v)-1) <= 1e-6) || k != best && v != 0 {
				t.Fatalf("row %d: %v, want one-hot at %d", row, y.Data[row*9:row*9+9], best)
			}
		}
	}
}

// TestGumbelSamplesSoftmax checks the noise: argmax(logits + G) must be distributed as
// softmax(logits) (the Gumbel-max property), and a seeded source must repeat.
func TestGumbelSamplesSoftmax(t *testing.T) {
	logits := tensor.FromSlice([]float32{0.5, -1, 1.5, 0}, 1, 4)
	const n = 40000
	rows := tensor.New(n, 4)
	for i := 0; i < n; i++ {
		copy(rows.Data[i*4:], logits.Data)
	}
	src := rand.New(rand.NewPCG(5, 6))
	y := (*ag.Tape)(nil).GumbelSoftmaxST(rows, 1, true, src)
	counts := make([]float64, 4)
	for i := 0; i < n; i++ {
		for k := 0; k < 4; k++ {
			if y.Data[i*4+k] > 0.5 {
				counts[k]++
			}
		}
	}
	var z float64
	for _, v := range logits.Data {
		z += math.Exp(float64(v))
	}
	for k, v := range logits.Data {
		p := math.Exp(float64(v)) / z
		// 5 standard deviations of a binomial proportion
		if f := counts[k] / n; !(math.Abs(f-p) <= 5*math.Sqrt(p*(1-p)/n)) {
			t.Errorf("class %d chosen %.4f of the time, want %.4f", k, f, p)
		}
	}
	y2 := (*ag.Tape)(nil).GumbelSoftmaxST(rows, 1, true, rand.New(rand.NewPCG(5, 6)))
	for i := range y.Data {
		if y.Data[i] != y2.Data[i] {
			t.Fatal("the same seed gave different samples")
		}
	}
}

// TestInferenceAllocatesOnlyResults: on a nil tape each op allocates exactly what its
// tensor kernel allocates (no closures, no gradient buffers).
func TestInferenceAllocatesOnlyResults(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector (sync.Pool drops items)")
	}
	r := rng(12)
	x := gc.Randn(r, 1, 2, 4, 6, 6)
	w := gc.Randn(r, 1, 3, 4, 3, 3)
	b := gc.Randn(r, 1, 3)
	lw := gc.Randn(r, 1, 5, 6)
	var tp *ag.Tape
	cases := []struct {
		name      string
		tape, ref func()
	}{
		{"Exp", func() { tp.Exp(x) }, func() { tensor.Exp(x) }},
		{"Mul", func() { tp.Mul(x, x) }, func() { tensor.Mul(x, x) }},
		{"Mean", func() { tp.Mean(x, 1, false) }, func() { tensor.Mean(x, 1, false) }},
		{"Permute", func() { tp.Permute(x, 0, 2, 3, 1) }, func() { tensor.Permute(x, 0, 2, 3, 1) }},
		{"Slice", func() { tp.Slice(x, 1, 1, 3) }, func() { tensor.Slice(x, 1, 1, 3) }},
		{"IndexSelect", func() { tp.IndexSelect(x, 1, []int{0, 2}) }, func() { tensor.IndexSelect(x, 1, []int{0, 2}) }},
		{"Linear", func() { tp.Linear(x, lw, nil) }, func() { tensor.Linear(x, lw, nil) }},
		{"Conv2d", func() { tp.Conv2d(x, w, b, 1, 1) }, func() { tensor.Conv2d(x, w, b, 1, 1) }},
		{"Softmax", func() { tp.Softmax(x, nil) }, func() { tensor.Softmax(x, nil) }},
		{"ResizeBilinear", func() { tp.ResizeBilinear(x, 9, 9, false) }, func() { tensor.ResizeBilinear(x, 9, 9, false) }},
		{"AvgPool2d", func() { tp.AvgPool2d(x, 3, 2, 1) }, func() { tensor.AvgPool2d(x, 3, 2, 1) }},
	}
	for _, c := range cases {
		got, want := testing.AllocsPerRun(20, c.tape), testing.AllocsPerRun(20, c.ref)
		if got != want {
			t.Errorf("%s: nil tape allocates %v times, the kernel %v", c.name, got, want)
		}
	}
}
