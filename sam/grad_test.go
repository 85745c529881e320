package sam

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// TestDecoderGradients is the train-through check: the recorded path's gradient of
// L = ⟨R, masks⟩ + ⟨S, iou⟩ with respect to prompt-encoder and decoder parameters must
// match central differences of L along a random direction, the losses evaluated in
// float64 on the inference path (an independent implementation of the same function).
func TestDecoderGradients(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	emb := m.Encoder.Forward(nil, v.get("encoder_input_1x3xSxS"))
	pe := m.Prompt.DensePE()
	points := &Points{Coords: tensor.FromSlice([]float32{70, 60, 150, 100, 30, 20}, 1, 3, 2), Labels: [][]int{{1, 0, -1}}}
	box := tensor.FromSlice([]float32{40, 30, 120, 110}, 1, 4)
	mask := v.get("points2_box_mask__mask_input").Reshape(1, 1, 64, 64)
	r := rand.New(rand.NewPCG(5, 6))
	R := tensor.New(1, 1, 64, 64)
	for i := range R.Data {
		R.Data[i] = float32(r.NormFloat64())
	}
	S := tensor.FromSlice([]float32{0.7}, 1, 1)
	loss64 := func() float64 {
		sp, de := m.Prompt.Forward(nil, points, box, mask)
		mk, iou := m.Decoder.Forward(nil, emb, pe, sp, de, false)
		l := 0.0
		for i, x := range mk.Data {
			l += float64(x) * float64(R.Data[i])
		}
		return l + float64(iou.Data[0])*float64(S.Data[0])
	}
	names := []string{
		"mask_decoder.iou_token.weight",
		"mask_decoder.mask_tokens.weight",
		"mask_decoder.transformer.layers.0.self_attn.q_proj.weight",
		"mask_decoder.transformer.layers.1.cross_attn_image_to_token.v_proj.bias",
		"mask_decoder.transformer.final_attn_token_to_image.k_proj.weight",
		"mask_decoder.transformer.layers.0.norm4.weight",
		"mask_decoder.output_upscaling.0.weight",
		"mask_decoder.output_upscaling.1.bias",
		"mask_decoder.output_hypernetworks_mlps.0.layers.2.weight",
		"mask_decoder.iou_prediction_head.layers.0.bias",
		"prompt_encoder.point_embeddings.0.weight",
		"prompt_encoder.point_embeddings.1.weight",
		"prompt_encoder.point_embeddings.3.weight",
		"prompt_encoder.not_a_point_embed.weight",
		"prompt_encoder.mask_downscaling.3.weight",
	}
	tp := ag.NewTape()
	for _, n := range names {
		tp.Watch(m.Params.Get(n).T)
	}
	sp, de := m.Prompt.Forward(tp, points, box, mask)
	mk, iou := m.Decoder.Forward(tp, emb, pe, sp, de, false)
	l := tp.Add(tp.Sum(tp.Reshape(tp.Mul(mk, R), -1), 0, false), tp.Reshape(tp.Mul(iou, S), 1))
	tp.Backward(l)
	for _, n := range names {
		p := m.Params.Get(n).T
		g := tp.Grad(p)
		if g == nil {
			t.Errorf("%s: no gradient", n)
			continue
		}
		dir := make([]float64, p.Numel())
		norm := 0.0
		for i := range dir {
			dir[i] = r.NormFloat64()
			norm += dir[i] * dir[i]
		}
		analytic := 0.0
		for i := range dir {
			dir[i] /= math.Sqrt(norm)
			analytic += dir[i] * float64(g.Data[i])
		}
		orig := append([]float32(nil), p.Data...)
		const eps = 1e-2 // float32 forward noise dominates below ~3e-3
		set := func(s float64) {
			for i := range p.Data {
				p.Data[i] = orig[i] + float32(s*dir[i])
			}
		}
		set(eps)
		lp := loss64()
		set(-eps)
		lm := loss64()
		copy(p.Data, orig)
		numeric := (lp - lm) / (2 * eps)
		if numeric == 0 {
			t.Errorf("%s: the loss does not depend on it", n)
		}
		if d := math.Abs(analytic - numeric); d > 2e-2*math.Abs(numeric)+2e-4 {
			t.Errorf("%s: directional derivative %g, finite difference %g", n, analytic, numeric)
		} else {
			t.Logf("%-70s %12.6g %12.6g", n, analytic, numeric)
		}
	}
}
