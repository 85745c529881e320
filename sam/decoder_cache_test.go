package sam

import (
	"math"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// TestDecoderCacheInvalidation: the fast decoder caches work derived from the embedding, the dense PE and the upscaling
// weights, keyed by a checksum. Edits made in place (a caller reusing its buffer, a
// training step) must invalidate the cache: after each one the fast path must still equal
// the tape path, which caches nothing. A checksum that dropped bits once served stale
// masks 0.019 away after negating one embedding value.
func TestDecoderCacheInvalidation(t *testing.T) {
	d := DecoderConfig{TransformerDim: 32, Depth: 2, Heads: 4, MLPDim: 48, AttnDownsample: 2, NumMultimaskOutputs: 3, IoUHeadDepth: 2, IoUHeadHidden: 24}
	pc := PromptConfig{EmbedDim: 32, ImageEmbeddingSize: 8, InputImageSize: 128, MaskInChans: 8}
	ps := nn.NewParams(3)
	pe := NewPromptEncoder(ps.Root().Sub("prompt_encoder"), pc)
	dec := NewMaskDecoder(ps.Root().Sub("mask_decoder"), d)
	emb := tensor.New(1, 32, 8, 8)
	for i := range emb.Data {
		emb.Data[i] = float32(math.Cos(float64(i) * 0.11))
	}
	pts := &Points{Coords: tensor.FromSlice([]float32{10, 20, 90, 40}, 1, 2, 2), Labels: [][]int{{1, 0}}}
	run := func(tp *ag.Tape) *tensor.Tensor {
		sp, de := pe.Forward(tp, pts, nil, nil)
		return dec.ForwardAll(tp, emb, pe.DensePE(), sp, de).Masks
	}
	for _, step := range []struct {
		name   string
		change func()
	}{
		{"fresh", func() {}},
		{"repeat", func() {}},
		{"negate one embedding value", func() { emb.Data[3] = -emb.Data[3] }},
		{"add 2 to one embedding value", func() { emb.Data[5] += 2 }},
		{"add 2 again", func() { emb.Data[5] += 2 }},
		{"scale an upscaling weight", func() { dec.Upscale0.Weight.Data[7] *= 3 }},
		{"shift the upscaling LayerNorm", func() { dec.Upscale1.Bias.Data[1] += 0.5 }},
	} {
		step.change()
		fast, ref := run(nil), run(ag.NewTape())
		var worst float64
		for i := range fast.Data {
			if d := math.Abs(float64(fast.Data[i] - ref.Data[i])); !(d <= worst) {
				worst = d
			}
		}
		if !(worst <= 1e-5) {
			t.Errorf("%s: fast path differs from the tape path by %g", step.name, worst)
		}
	}
}
