package aisam

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

// tinyConfig is a small AI-SAM (8x8 embedding grid, width 32) for gradient checks.
func tinyConfig() Config {
	return Config{
		SAM: sam.Config{
			Type: "custom",
			Encoder: sam.EncoderConfig{ImgSize: 64, PatchSize: 8, InChans: 3, EmbedDim: 16, Depth: 1, Heads: 2, MLPRatio: 2,
				OutChans: 32, UseAbsPos: true, UseRelPos: true},
			Prompt: sam.PromptConfig{EmbedDim: 32, ImageEmbeddingSize: 8, InputImageSize: 64, MaskInChans: 8},
			Decoder: sam.DecoderConfig{TransformerDim: 32, Depth: 2, Heads: 8, MLPDim: 64, AttnDownsample: 2,
				NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 32},
		},
		AutoPrompt: AutoPromptConfig{NumClasses: 3, NumClassTokens: 2, NumPoints: 2, Dim: 32, EncoderDim: 16, Classifier: true},
		Classes:    []string{"bg", "a", "b"},
		Preprocess: DefaultPreprocess,
	}
}

// TestTrainingGradients checks the tape gradients of the model's training outputs (the
// masks, the heatmaps, feature_with_pe and the class logits, each weighted by a random
// tensor) through the decoder, the AutoPrompt, its heads and the classifier against
// central finite differences. (The prompt loss itself is checked against the official
// gradients; its stop-gradient makes finite differences of it disagree by design.)
func TestTrainingGradients(t *testing.T) {
	m, err := New(tinyConfig(), 5)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	randn := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	emb := randn(1, 32, 8, 8)
	rMask, rAttn, rFwp, rCls := randn(1, 3, 32, 32), randn(1, 3, 2, 64), randn(1, 3, 2, 32), randn(1, 3, 1)
	dot := func(tp *ag.Tape, a, r *tensor.Tensor) *tensor.Tensor {
		return tp.Sum(tp.Reshape(tp.Mul(a, r), -1), 0, false)
	}
	loss := func(tp *ag.Tape) *tensor.Tensor {
		out := m.ForwardEmbedding(tp, emb, nil, [][][2]float64{{{20, 30}}, {}, {{5, 50}}}, SoftPoints, nil)
		l := dot(tp, out.Masks, rMask)
		l = tp.Add(l, dot(tp, out.Prompt.Attn, rAttn))
		l = tp.Add(l, dot(tp, out.Prompt.FeatureWithPE, rFwp))
		return tp.Add(l, dot(tp, out.ClassLogits, rCls))
	}
	// The finite differences sum the same outputs in float64.
	dot64 := func(a, r *tensor.Tensor, s float64) float64 {
		var v float64
		for i, x := range a.Data {
			v += float64(x) * float64(r.Data[i])
		}
		return v * s
	}
	loss64 := func() float64 {
		out := m.ForwardEmbedding(nil, emb, nil, [][][2]float64{{{20, 30}}, {}, {{5, 50}}}, SoftPoints, nil)
		return dot64(out.Masks, rMask, 1) + dot64(out.Prompt.Attn, rAttn, 1) +
			dot64(out.Prompt.FeatureWithPE, rFwp, 1) + dot64(out.ClassLogits, rCls, 1)
	}
	tp := ag.NewTape()
	tp.Watch(m.Params.Trainable()...)
	tp.Backward(loss(tp))
	checks := []struct {
		name string
		idx  int
	}{
		{"auto_prompt.class_emb", 5},
		{"auto_prompt.prompt_emb", 40},
		{"auto_prompt.classifier_class_emb", 70},
		{"auto_prompt.auto_prompt_encoder.layers.1.conv_mlp.0.weight", 123},
		{"auto_prompt.auto_prompt_encoder.layers.2.cross_attn_token_to_image.v_proj.weight", 100},
		{"auto_prompt.auto_prompt_encoder.norm_final_attn.bias", 3},
		{"auto_prompt.point_loc_project_mlps.1.layers.0.weight", 77},
		{"auto_prompt.point_loc_project_norm.weight", 9},
		{"auto_prompt.classifier.layers.1.conv_mlp.0.weight", 500},
		{"auto_prompt.classifier_head.weight", 7},
		{"mask_decoder.transformer.layers.1.mlp.lin1.weight", 1001},
		{"mask_decoder.output_upscaling.0.weight", 200},
		{"mask_decoder.output_hypernetworks_mlps.0.layers.2.bias", 1},
	}
	for _, c := range checks {
		p := m.Params.Get(c.name)
		if p == nil {
			t.Fatalf("no parameter %s", c.name)
		}
		g := tp.Grad(p.T)
		if g == nil {
			t.Errorf("%s: no gradient", c.name)
			continue
		}
		fdAt := func(eps float32) float64 {
			orig := p.T.Data[c.idx]
			p.T.Data[c.idx] = orig + eps
			lp := loss64()
			p.T.Data[c.idx] = orig - eps
			lm := loss64()
			p.T.Data[c.idx] = orig
			return (lp - lm) / float64(2*eps)
		}
		// Small enough for the ReLU kinks, large enough for float32 rounding of a loss
		// of a few hundred.
		fd := fdAt(3e-3)
		got := float64(g.Data[c.idx])
		if math.Abs(fd-got) > 3e-2*math.Abs(fd)+2e-3 {
			t.Errorf("%s[%d]: tape %.6g, finite difference %.6g", c.name, c.idx, got, fd)
		} else {
			t.Logf("%s[%d]: tape %.6g, finite difference %.6g", c.name, c.idx, got, fd)
		}
	}
	// Frozen parts get no gradient.
	if g := tp.Grad(m.Params.Get("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix").T); g != nil {
		t.Error("the frozen prompt encoder got a gradient")
	}
}
