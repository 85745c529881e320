package optim_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/optim"
	"github.com/aisam/aisam/tensor"
)

// adamW64 is AdamW as printed in torch's documentation, in float64:
// θ ← θ - γλθ; m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²; θ ← θ - γ m̂ / (√v̂ + ε).
type adamW64 struct {
	lr, b1, b2, eps, wd float64
	m, v                []float64
	t                   int
}

func (a *adamW64) step(p, g []float64) {
	if a.m == nil {
		a.m, a.v = make([]float64, len(p)), make([]float64, len(p))
	}
	a.t++
	for i := range p {
		p[i] -= a.lr * a.wd * p[i]
		a.m[i] = a.b1*a.m[i] + (1-a.b1)*g[i]
		a.v[i] = a.b2*a.v[i] + (1-a.b2)*g[i]*g[i]
		mh := a.m[i] / (1 - math.Pow(a.b1, float64(a.t)))
		vh := a.v[i] / (1 - math.Pow(a.b2, float64(a.t)))
		p[i] -= a.lr * mh / (math.Sqrt(vh) + a.eps)
	}
}

func TestAdamWMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 50
	p := tensor.New(n)
	p64 := make([]float64, n)
	for i := range p.Data {
		p.Data[i] = float32(r.NormFloat64())
		p64[i] = float64(p.Data[i])
	}
	opt := optim.NewAdamW(1e-2, 0.1)
	ref := &adamW64{lr: 1e-2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1}
	for step := 0; step < 20; step++ {
		g := tensor.New(n)
		g64 := make([]float64, n)
		for i := range g.Data {
			// gradients of a quadratic, with a few tiny ones where eps matters
			g.Data[i] = float32(0.5*p64[i] + 0.1*r.NormFloat64())
			if i%10 == 0 {
				g.Data[i] = float32(1e-9 * r.NormFloat64())
			}
			g64[i] = float64(g.Data[i])
		}
		if err := opt.Step([]*tensor.Tensor{p}, []*tensor.Tensor{g}); err != nil {
			t.Fatal(err)
		}
		ref.step(p64, g64)
		for i := range p64 {
			if d := math.Abs(float64(p.Data[i]) - p64[i]); !(d <= 1e-6*math.Max(1, math.Abs(p64[i]))) {
				t.Fatalf("step %d param %d: %v, float64 reference %v", step, i, p.Data[i], p64[i])
			}
		}
	}
}

// TestAdamWFirstStepByHand: after one step m̂ = g and v̂ = g², so the update is
// lr·g/(|g|+eps) on top of the decay.
func TestAdamWFirstStepByHand(t *testing.T) {
	p := tensor.FromSlice([]float32{1, -2, 0.5}, 3)
	g := tensor.FromSlice([]float32{0.3, -4, 0}, 3)
	opt := optim.NewAdamW(0.1, 0.01)
	if err := opt.Step([]*tensor.Tensor{p}, []*tensor.Tensor{g}); err != nil {
		t.Fatal(err)
	}
	want := []float64{1*(1-0.001) - 0.1*0.3/(0.3+1e-8), -2*(1-0.001) + 0.1*4/(4+1e-8), 0.5 * (1 - 0.001)}
	for i, w := range want {
		if !(math.Abs(float64(p.Data[i])-w) <= 1e-6) {
			t.Fatalf("param %d = %v, want %v", i, p.Data[i], w)
		}
	}
}

func TestAdamWSkipsNilAndChecks(t *testing.T) {
	a, b := tensor.FromSlice([]float32{1, 2}, 2), tensor.FromSlice([]float32{3}, 1)
	opt := optim.NewAdamW(0.1, 0.5)
	if err := opt.Step([]*tensor.Tensor{a, b}, []*tensor.Tensor{nil, tensor.FromSlice([]float32{1}, 1)}); err != nil {
		t.Fatal(err)
	}
	if a.Data[0] != 1 || a.Data[1] != 2 {
		t.Fatalf("parameter without gradient changed: %v", a.Data)
	}
	if err := opt.Step([]*tensor.Tensor{a}, []*tensor.Tensor{tensor.New(3)}); !errors.Is(err, optim.ErrMismatch) {
		t.Fatalf("shape mismatch: err %v", err)
	}
	if err := opt.Step([]*tensor.Tensor{a, b}, nil); !errors.Is(err, optim.ErrMismatch) {
		t.Fatalf("count mismatch: err %v", err)
	}
}

func TestClipGradNorm(t *testing.T) {
	tests := []struct {
		max   float64
		scale float64
	}{
		{1, 1 / (13 + 1e-6)},
		{6.5, 6.5 / (13 + 1e-6)},
		{13.5, 1},
		{100, 1},
	}
	for _, tc := range tests {
		a := tensor.FromSlice([]float32{3, 4}, 2)
		b := tensor.FromSlice([]float32{12}, 1)
		norm := optim.ClipGradNorm([]*tensor.Tensor{a, nil, b}, tc.max)
		if !(math.Abs(norm-13) <= 1e-9) {
			t.Fatalf("norm %v, want 13", norm)
		}
		for i, want := range []float64{3, 4} {
			if !(math.Abs(float64(a.Data[i])-want*tc.scale) <= 1e-6) {
				t.Fatalf("max %v: a = %v, want %v", tc.max, a.Data, want*tc.scale)
			}
		}
		if !(math.Abs(float64(b.Data[0])-12*tc.scale) <= 1e-6) {
			t.Fatalf("max %v: b = %v", tc.max, b.Data)
		}
	}
}

func TestSchedules(t *testing.T) {
	wp := optim.WarmupPoly{Base: 5e-3, Warmup: 250, Total: 1000, Power: 7}
	wc := optim.WarmupCosine{Base: 1e-3, Min: 1e-5, Warmup: 10, Total: 110}
	tests := []struct {
		name string
		s    optim.Schedule
		iter int
		want float64
	}{
		{"poly first", wp, 0, 5e-3 / 250},
		{"poly mid warm-up", wp, 124, 5e-3 * 125 / 250},
		{"poly end of warm-up", wp, 249, 5e-3},
		{"poly start of decay", wp, 250, 5e-3},
		{"poly half", wp, 750, 5e-3 * math.Pow(0.5, 7)},
		{"poly past total", wp, 1300, 0},
		{"poly zero total", optim.WarmupPoly{Base: 1, Power: 0.9}, 0, 0}, // 0/0 gave a NaN rate
		{"poly no warm-up", optim.WarmupPoly{Base: 1, Total: 10, Power: 0.9}, 3, math.Pow(0.7, 0.9)},
		{"cosine warm-up", wc, 4, 1e-3 * 5 / 10},
		{"cosine start", wc, 10, 1e-3},
		{"cosine middle", wc, 60, (1e-3 + 1e-5) / 2},
		{"cosine end", wc, 110, 1e-5},
		{"constant", optim.Constant(0.3), 99, 0.3},
	}
	for _, tc := range tests {
		if got := tc.s.LR(tc.iter); !(math.Abs(got-tc.want) <= 1e-12) { // NaN fails too
			t.Errorf("%s: LR(%d) = %v, want %v", tc.name, tc.iter, got, tc.want)
		}
	}
}

// TestFitTinyMLP trains an MLP with the tape, AdamW, clipping and a warm-up schedule on a
// smooth 2-D regression and requires the loss to fall by a large factor.
func TestFitTinyMLP(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 64
	x := tensor.New(n, 2)
	y := tensor.New(n, 1)
	for i := 0; i < n; i++ {
		a, b := r.Float64()*2-1, r.Float64()*2-1
		x.Data[2*i], x.Data[2*i+1] = float32(a), float32(b)
		y.Data[i] = float32(math.Sin(2*a) + b*b)
	}
	ps := nn.NewParams(1)
	mlp := nn.NewMLP(ps.Root().Sub("mlp"), 2, 32, 1, 3, nn.GELU)
	params := ps.Trainable()
	opt := optim.NewAdamW(0, 1e-4)
	sched := optim.WarmupPoly{Base: 1e-2, Warmup: 20, Total: 400, Power: 0.9}
	var first, last float64
	for it := 0; it < 400; it++ {
		tp := ag.NewTape()
		tp.Watch(params...)
		d := tp.Sub(mlp.Forward(tp, x), y)
		loss := tp.MeanAll(tp.Square(d))
		tp.Backward(loss)
		grads := tp.Grads(params...)
		optim.ClipGradNorm(grads, 1)
		opt.LR = sched.LR(it)
		if err := opt.Step(params, grads); err != nil {
			t.Fatal(err)
		}
		if it == 0 {
			first = float64(loss.Data[0])
		}
		last = float64(loss.Data[0])
	}
	if !(last < first/50) {
		t.Fatalf("loss fell from %.4g to %.4g, want a factor of 50", first, last)
	}
	t.Logf("loss %.4g -> %.4g", first, last)
}

// TestAdamWStateRoundTrip: stopping after 3 steps, saving, and resuming in a new
// optimiser must give exactly the parameters of an uninterrupted run.
func TestAdamWStateRoundTrip(t *testing.T) {
	run := func(resume bool) []float32 {
		p := tensor.FromSlice([]float32{1, -2, 3}, 3)
		names := map[*tensor.Tensor]string{p: "w"}
		opt := optim.NewAdamW(0.05, 0.1)
		for i := 0; i < 6; i++ {
			if resume && i == 3 {
				st := opt.State(names)
				opt = optim.NewAdamW(0.05, 0.1)
				if err := opt.LoadState(names, st); err != nil {
					t.Fatal(err)
				}
			}
			g := tensor.FromSlice([]float32{p.Data[0] * 2, float32(i), -p.Data[2]}, 3)
			if err := opt.Step([]*tensor.Tensor{p}, []*tensor.Tensor{g}); err != nil {
				t.Fatal(err)
			}
		}
		return p.Data
	}
	a, b := run(false), run(true)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("resumed %v, uninterrupted %v", b, a)
		}
	}
	p := tensor.New(3)
	bad := map[string]*tensor.Tensor{"w.exp_avg": tensor.New(2), "w.exp_avg_sq": tensor.New(3), "w.step": tensor.Full(1, 1)}
	if err := optim.NewAdamW(1, 0).LoadState(map[*tensor.Tensor]string{p: "w"}, bad); !errors.Is(err, optim.ErrMismatch) {
		t.Fatalf("mis-sized state: %v", err)
	}
}
