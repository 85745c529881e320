package sam

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// TestSingleMaskManyTokens checks the decoder's projected attentions (chosen for long
// prompts, as AI-SAM's) and SingleMask's one-token final attention against the recorded
// path, with one shared embedding (first-layer projections shared and cached) and with a
// per-prompt embedding batch (nothing shared).
func TestSingleMaskManyTokens(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	emb := m.Encoder.Forward(nil, v.get("encoder_input_1x3xSxS"))
	pe := m.Prompt.DensePE()
	const b, n = 2, 40
	r := rand.New(rand.NewPCG(3, 4))
	coords := tensor.New(b, n, 2)
	for i := range coords.Data {
		coords.Data[i] = float32(r.Float64() * float64(m.Prompt.Config.InputImageSize))
	}
	labels := make([][]int, b)
	for i := range labels {
		for j := range n {
			labels[i] = append(labels[i], j%2)
		}
	}
	sparse, dense := m.Prompt.Forward(nil, &Points{Coords: coords, Labels: labels}, nil, nil)
	nt := 1 + m.Decoder.numMaskToken + sparse.Dim(1)
	if p := m.Decoder.planAttn(nt, b, true); !p.t2i || !p.i2t || !p.t2i0 || !p.i2t0 {
		t.Fatalf("plan %+v for %d tokens: want every attention projected", p, nt)
	}
	tp := ag.NewTape()
	want, _ := m.Decoder.Forward(tp, emb, pe, sparse, dense, false)
	embB := tensor.Concat(0, emb, emb)
	for _, tc := range []struct {
		name string
		emb  *tensor.Tensor
	}{{"shared", emb}, {"shared-cached", emb}, {"batch", embB}} {
		got := m.Decoder.SingleMask(tc.emb, pe, sparse, dense)
		all, _ := m.Decoder.Forward(nil, tc.emb, pe, sparse, dense, false)
		for _, g := range []*tensor.Tensor{got, all} {
			if !tensor.EqualShape(g.Shape(), want.Shape()) {
				t.Fatalf("%s: shape %v, want %v", tc.name, g.Shape(), want.Shape())
			}
			var worst float64
			for i, x := range want.Data {
				worst = math.Max(worst, math.Abs(float64(g.Data[i]-x))/(1+math.Abs(float64(x))))
			}
			if worst > 1e-4 {
				t.Fatalf("%s: masks differ from the recorded path by %g (relative)", tc.name, worst)
			}
		}
	}
}
