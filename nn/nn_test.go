package nn_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aisam/aisam/ag"
	gc "github.com/aisam/aisam/internal/gradcheck"
	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

type T = tensor.Tensor

// uniformStats checks that t looks like U(-bound, bound): within the bound, reaching close
// to it, centred, with standard deviation bound/√3.
func uniformStats(t *testing.T, name string, x *T, bound float64) {
	t.Helper()
	var mx, s, ss float64
	for _, v := range x.Data {
		f := float64(v)
		mx = math.Max(mx, math.Abs(f))
		s += f
		ss += f * f
	}
	n := float64(x.Numel())
	mean, std := s/n, math.Sqrt(ss/n-(s/n)*(s/n))
	if mx > bound*(1+1e-6) || mx < 0.97*bound {
		t.Errorf("%s: max |v| = %.5g, want just under the bound %.5g", name, mx, bound)
	}
	if !(math.Abs(mean) <= 4*bound/math.Sqrt(3*n)) {
		t.Errorf("%s: mean %.3g is not centred", name, mean)
	}
	if want := bound / math.Sqrt(3); !(math.Abs(std-want) <= 0.06*want) {
		t.Errorf("%s: std %.4g, want %.4g", name, std, want)
	}
}

// TestDefaultInit checks PyTorch's reset_parameters rules: kaiming_uniform(a=√5) weights
// and biases in ±1/√fan_in, with fan_in = in·k·k for Conv2d and weight.size(1)·k·k = out·k·k
// for ConvTranspose2d.
func TestDefaultInit(t *testing.T) {
	ps := nn.NewParams(42)
	s := ps.Root()
	lin := nn.NewLinear(s.Sub("lin"), 300, 200, true)
	conv := nn.NewConv2d(s.Sub("conv"), 16, 64, 3, 1, 1, true)
	convT := nn.NewConvTranspose2d(s.Sub("convT"), 64, 16, 2, true)
	uniformStats(t, "Linear.weight", lin.Weight, 1/math.Sqrt(300))
	uniformStats(t, "Linear.bias", lin.Bias, 1/math.Sqrt(300))
	uniformStats(t, "Conv2d.weight", conv.Weight, 1/math.Sqrt(16*9))
	uniformStats(t, "ConvTranspose2d.weight", convT.Weight, 1/math.Sqrt(16*4))
	// Biases share the weight's fan-in; too few values for the statistics, so bounds only.
	for _, c := range []struct {
		name  string
		b     *T
		bound float64
	}{{"Conv2d.bias", conv.Bias, 1 / math.Sqrt(16*9)}, {"ConvTranspose2d.bias", convT.Bias, 1 / math.Sqrt(16*4)}} {
		var mx float64
		for _, v := range c.b.Data {
			mx = math.Max(mx, math.Abs(float64(v)))
		}
		if mx > c.bound || mx < 0.5*c.bound {
			t.Errorf("%s: max |v| %.4g for bound %.4g", c.name, mx, c.bound)
		}
	}

	emb := nn.NewEmbedding(s.Sub("emb"), 100, 100)
	var sum, ss float64
	for _, v := range emb.Weight.Data {
		sum += float64(v)
		ss += float64(v) * float64(v)
	}
	if m, sd := sum/1e4, math.Sqrt(ss/1e4); !(math.Abs(m) <= 0.04) || !(math.Abs(sd-1) <= 0.03) {
		t.Errorf("Embedding ~ N(0,1): mean %.3g std %.3g", m, sd)
	}
	ln := nn.NewLayerNorm(s.Sub("ln"), 8, 1e-6)
	for i := range ln.Weight.Data {
		if ln.Weight.Data[i] != 1 || ln.Bias.Data[i] != 0 {
			t.Fatal("LayerNorm is not ones/zeros")
		}
	}

	// The same seed gives the same parameters.
	ps2 := nn.NewParams(42)
	lin2 := nn.NewLinear(ps2.Root().Sub("lin"), 300, 200, true)
	for i := range lin.Weight.Data {
		if lin.Weight.Data[i] != lin2.Weight.Data[i] {
			t.Fatal("initialisation is not reproducible")
		}
	}
}

// TestNamesMatchAISAMManifest builds layers the way SAM and AI-SAM name them and checks
// names and shapes against the state_dict listed by the official code (vectors/aisam).
func TestNamesMatchAISAMManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testref.Dir(t, "vectors/aisam"), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Shapes map[string][]int `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	ps := nn.NewParams(0)
	r := ps.Root()
	md := r.Sub("mask_decoder")
	l0 := md.Sub("transformer").Sub("layers").Index(0)
	nn.NewAttention(l0.Sub("self_attn"), 256, 8, 1)
	nn.NewAttention(l0.Sub("cross_attn_token_to_image"), 256, 8, 2)
	nn.NewLayerNorm(l0.Sub("norm1"), 256, 1e-5)
	nn.NewLinear(l0.Sub("mlp").Sub("lin1"), 256, 2048, true)
	nn.NewMLP(md.Sub("iou_prediction_head"), 256, 256, 4, 3, nn.ReLU)
	nn.NewEmbedding(md.Sub("mask_tokens"), 4, 256)
	up := md.Sub("output_upscaling")
	nn.NewConvTranspose2d(up.Index(0), 256, 64, 2, true)
	nn.NewLayerNorm2d(up.Index(1), 64, 1e-6)
	nn.NewConvTranspose2d(up.Index(3), 64, 32, 2, true)
	pe := r.Sub("prompt_encoder")
	nn.NewConv2d(pe.Sub("mask_downscaling").Index(0), 1, 4, 2, 2, 0, true)
	nn.NewConv2d(pe.Sub("mask_downscaling").Index(6), 16, 256, 1, 1, 0, true)
	nn.NewEmbedding(pe.Sub("point_embeddings").Index(1), 1, 256)
	pe.Sub("pe_layer").Buffer("positional_encoding_gaussian_matrix", 2, 128)
	ap := r.Sub("auto_prompt")
	nn.NewMLP(ap.Sub("point_loc_project_mlps").Index(2), 256, 256, 256, 3, nn.GELU)
	nn.NewLinear(ap.Sub("classifier_head"), 256, 1, true)
	enc := r.Sub("image_encoder")
	nn.NewConv2d(enc.Sub("patch_embed").Sub("proj"), 3, 64, 16, 16, 0, true)
	nn.NewConv2d(enc.Sub("neck").Index(0), 64, 256, 1, 1, 0, false)

	if len(ps.List()) < 40 {
		t.Fatalf("only %d parameters built", len(ps.List()))
	}
	for _, p := range ps.List() {
		want, ok := man.Shapes[p.Name]
		if !ok {
			t.Errorf("%s is not a key of AI-SAM's state_dict", p.Name)
			continue
		}
		if !tensor.EqualShape(want, p.T.Shape()) {
			t.Errorf("%s: shape %v, official %v", p.Name, p.T.Shape(), want)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	build := func() *nn.Params {
		ps := nn.NewParams(1)
		nn.NewLinear(ps.Root().Sub("a"), 3, 2, true)
		nn.NewLayerNorm(ps.Root().Sub("n"), 2, 1e-5)
		return ps
	}
	good := func() map[string]*T {
		return map[string]*T{
			"a.weight": tensor.Full(1, 2, 3), "a.bias": tensor.Full(2, 2),
			"n.weight": tensor.Full(3, 2), "n.bias": tensor.Full(4, 2),
		}
	}
	ps := build()
	if err := ps.Load(good(), true); err != nil {
		t.Fatal(err)
	}
	if ps.Get("a.weight").T.Data[5] != 1 || ps.Get("n.bias").T.Data[1] != 4 {
		t.Fatal("values not copied")
	}

	sd := good()
	delete(sd, "n.bias")
	sd["a.weight"] = tensor.New(3, 2)
	sd["extra.weight"] = tensor.New(1)
	sd["n.weight"] = nil
	ps = build()
	before := ps.Get("a.bias").T.Clone()
	err := ps.Load(sd, true)
	var le *nn.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err %v is not a *LoadError", err)
	}
	if strings.Join(le.Missing, ",") != "n.bias" || strings.Join(le.Unexpected, ",") != "extra.weight" || len(le.Mismatched) != 2 {
		t.Fatalf("missing %v unexpected %v mismatched %v", le.Missing, le.Unexpected, le.Mismatched)
	}
	for _, s := range []string{"n.bias", "extra.weight", "a.weight: checkpoint [3 2] vs model [2 3]", "n.weight"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not mention %q", err, s)
		}
	}
	if ps.Get("a.bias").T.Data[0] != before.Data[0] {
		t.Fatal("a failed Load copied values")
	}

	// Without strict, extra keys are fine but missing ones are not.
	sd = good()
	sd["extra"] = tensor.New(1)
	if err := build().Load(sd, false); err != nil {
		t.Fatalf("non-strict with an extra key: %v", err)
	}
	delete(sd, "a.bias")
	if err := build().Load(sd, false); !errors.As(err, &le) || len(le.Missing) != 1 {
		t.Fatalf("non-strict with a missing key: %v", err)
	}
}

func TestFreezeAndTrainable(t *testing.T) {
	ps := nn.NewParams(1)
	r := ps.Root()
	nn.NewLinear(r.Sub("image_encoder").Sub("x"), 2, 2, true)
	nn.NewLinear(r.Sub("mask_decoder").Sub("y"), 2, 2, true)
	r.Sub("pe").Buffer("g", 2)
	ps.Freeze("image_encoder.")
	var names []string
	for _, p := range ps.List() {
		if !p.Frozen && !p.Buffer {
			names = append(names, p.Name)
		}
	}
	if got := len(ps.Trainable()); got != 2 || strings.Join(names, ",") != "mask_decoder.y.weight,mask_decoder.y.bias" {
		t.Fatalf("trainable %d: %v", got, names)
	}
	if ps.Names()[ps.Get("pe.g").T] != "pe.g" {
		t.Fatal("Names does not map tensors to names")
	}
	ps.Unfreeze("image_encoder.x.bias")
	if len(ps.Trainable()) != 3 {
		t.Fatal("Unfreeze did not apply")
	}
}

// attention64 is SAM's Attention from its definition, in float64.
func attention64(q, k, v, wq, bq, wk, bk, wv, bv, wo, bo *gc.Array, heads int) *gc.Array {
	Q, K, V := gc.Linear(q, wq, bq), gc.Linear(k, wk, bk), gc.Linear(v, wv, bv)
	b, nq, c := Q.Shape[0], Q.Shape[1], Q.Shape[2]
	nk, d := K.Shape[1], c/heads
	out := gc.Build([]int{b, nq, c}, func(idx []int) float64 {
		bi, i, ch := idx[0], idx[1], idx[2]
		h := ch / d
		logits := make([]float64, nk)
		m := math.Inf(-1)
		for j := 0; j < nk; j++ {
			var s float64
			for e := 0; e < d; e++ {
				s += Q.At(bi, i, h*d+e) * K.At(bi, j, h*d+e)
			}
			logits[j] = s / math.Sqrt(float64(d))
			m = math.Max(m, logits[j])
		}
		var z, acc float64
		for j := range logits {
			w := math.Exp(logits[j] - m)
			z += w
			acc += w * V.At(bi, j, ch)
		}
		return acc / z
	})
	return gc.Linear(out, wo, bo)
}

func TestAttentionGradient(t *testing.T) {
	ps := nn.NewParams(3)
	a := nn.NewAttention(ps.Root(), 8, 2, 2)
	r := ps.Root().Rand()
	q, k, v := gc.Randn(r, 1, 2, 3, 8), gc.Randn(r, 1, 2, 5, 8), gc.Randn(r, 1, 2, 5, 8)
	for _, p := range ps.List() {
		for i := range p.T.Data {
			p.T.Data[i] = float32(r.NormFloat64() * 0.5) // non-zero biases too
		}
	}
	ins := []*T{q, k, v}
	for _, l := range []*nn.Linear{a.QProj, a.KProj, a.VProj, a.OutProj} {
		ins = append(ins, l.Weight, l.Bias)
	}
	// The key bias (input 6) only shifts every logit of a query by the same amount, so its
	// true gradient is 0; it is checked separately.
	gc.Check(t, gc.Case{Name: "Attention", Inputs: ins, Wrt: []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 10},
		F: func(tp *ag.Tape, xs []*T) *T { return a.Forward(tp, xs[0], xs[1], xs[2]) },
		Ref: func(xs []*gc.Array) *gc.Array {
			return attention64(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7], xs[8], xs[9], xs[10], 2)
		}})
	tp := ag.NewTape()
	tp.Watch(a.KProj.Bias)
	tp.Backward(tp.SumAll(tp.Square(a.Forward(tp, q, k, v))))
	for _, g := range tp.Grad(a.KProj.Bias).Data {
		if !(math.Abs(float64(g)) <= 1e-5) {
			t.Fatalf("key-bias gradient %v, want 0", tp.Grad(a.KProj.Bias).Data)
		}
	}
}

func TestMLPGradient(t *testing.T) {
	ps := nn.NewParams(4)
	m := nn.NewMLP(ps.Root(), 5, 7, 3, 3, nn.GELU)
	m.SigmoidOutput = true
	r := ps.Root().Rand()
	x := gc.Randn(r, 1, 4, 5)
	ins := []*T{x}
	for _, l := range m.Layers {
		ins = append(ins, l.Weight, l.Bias)
	}
	gelu := func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }
	gc.Check(t, gc.Case{Name: "MLP", Inputs: ins,
		F: func(tp *ag.Tape, xs []*T) *T { return m.Forward(tp, xs[0]) },
		Ref: func(xs []*gc.Array) *gc.Array {
			h := gc.Map(gc.Linear(xs[0], xs[1], xs[2]), gelu)
			h = gc.Map(gc.Linear(h, xs[3], xs[4]), gelu)
			return gc.Map(gc.Linear(h, xs[5], xs[6]), func(v float64) float64 { return 1 / (1 + math.Exp(-v)) })
		}})
}

func TestLoRAQKV(t *testing.T) {
	ps := nn.NewParams(5)
	s := ps.Root().Sub("image_encoder").Sub("blocks").Index(0).Sub("attn").Sub("qkv")
	l := nn.NewLoRAQKV(s, 6, 2, true)
	var names []string
	for _, p := range ps.List() {
		names = append(names, p.Name+":"+strings.Trim(strings.ReplaceAll(fmt.Sprint(p.T.Shape()), " ", "x"), "[]"))
	}
	sort.Strings(names)
	pre := "image_encoder.blocks.0.attn.qkv."
	want := []string{pre + "linear_a_q.weight:2x6", pre + "linear_a_v.weight:2x6", pre + "linear_b_q.weight:6x2",
		pre + "linear_b_v.weight:6x2", pre + "qkv.bias:18", pre + "qkv.weight:18x6"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("names\n%v\nwant\n%v", names, want)
	}
	for _, a := range []*T{l.Q.A, l.V.A} {
		for _, v := range a.Data {
			if v == 0 || !(math.Abs(float64(v)) <= 1/math.Sqrt(6)) {
				t.Fatalf("A value %v outside kaiming_uniform(a=√5)'s (0, 1/√in]", v)
			}
		}
	}
	for _, v := range l.Q.B.Data {
		if v != 0 {
			t.Fatal("B is not zero-initialised")
		}
	}
	r := ps.Root().Rand()
	x := gc.Randn(r, 1, 2, 3, 6)
	// A fresh adapter changes nothing.
	base := l.QKV.Forward(nil, x)
	y := l.Forward(nil, x)
	for i := range y.Data {
		if y.Data[i] != base.Data[i] {
			t.Fatal("zero-initialised LoRA changed the output")
		}
	}
	for _, b := range []*T{l.Q.B, l.V.B} {
		for i := range b.Data {
			b.Data[i] = float32(r.NormFloat64())
		}
	}
	lora := func(xs []*gc.Array) *gc.Array {
		out := gc.Linear(xs[0], xs[1], xs[2])
		dq := gc.Linear(gc.Linear(xs[0], xs[3], nil), xs[4], nil)
		dv := gc.Linear(gc.Linear(xs[0], xs[5], nil), xs[6], nil)
		return gc.Build(out.Shape, func(idx []int) float64 {
			c := idx[2]
			v := out.At(idx...)
			switch {
			case c < 6:
				v += dq.At(idx[0], idx[1], c)
			case c >= 12:
				v += dv.At(idx[0], idx[1], c-12)
			}
			return v
		})
	}
	// Frozen projection: only the adapters (and x) train.
	gc.Check(t, gc.Case{Name: "LoRAQKV", Inputs: []*T{x, l.QKV.Weight, l.QKV.Bias, l.Q.A, l.Q.B, l.V.A, l.V.B},
		Wrt: []int{0, 3, 4, 5, 6},
		F:   func(tp *ag.Tape, xs []*T) *T { return l.Forward(tp, xs[0]) },
		Ref: lora})
	before := l.Forward(nil, x)
	l.Merge()
	l.Merge() // idempotent
	after := l.Forward(nil, x)
	for i := range before.Data {
		if !(math.Abs(float64(before.Data[i]-after.Data[i])) <= 1e-5*(1+math.Abs(float64(before.Data[i])))) {
			t.Fatalf("merged output %v differs from unmerged %v at %d", after.Data[i], before.Data[i], i)
		}
	}
	keys := nn.SAMedLoRAKeys("image_encoder", 12)
	if len(keys) != 48 || keys["w_a_003"] != "image_encoder.blocks.1.attn.qkv.linear_a_v.weight" ||
		keys["w_b_022"] != "image_encoder.blocks.11.attn.qkv.linear_b_q.weight" {
		t.Fatalf("SAMed keys: %d, %q, %q", len(keys), keys["w_a_003"], keys["w_b_022"])
	}
}
