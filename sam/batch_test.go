package sam

import (
	"math"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// TestBatchedPromptsMatchSingle checks that B prompts decoded together (one shared
// embedding, as the official repeat_interleave) give each prompt's single result, on the
// fast path and on the recorded path.
func TestBatchedPromptsMatchSingle(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	emb := m.Encoder.Forward(nil, v.get("encoder_input_1x3xSxS"))
	pe := m.Prompt.DensePE()
	coords := [][2]float32{{70, 60}, {150, 100}, {20, 200}}
	labels := []int{1, 0, 1}
	b := len(coords)
	all := tensor.New(b, 1, 2)
	for i, c := range coords {
		all.Data[2*i], all.Data[2*i+1] = c[0], c[1]
	}
	lab := make([][]int, b)
	for i := range lab {
		lab[i] = []int{labels[i]}
	}
	for _, tp := range []*ag.Tape{nil, ag.NewTape()} {
		sparse, dense := m.Prompt.Forward(tp, &Points{Coords: all, Labels: lab}, nil, nil)
		masks, iou := m.Decoder.Forward(tp, emb, pe, sparse, dense, true)
		if !tensor.EqualShape(masks.Shape(), []int{b, 3, 64, 64}) || !tensor.EqualShape(iou.Shape(), []int{b, 3}) {
			t.Fatalf("shapes %v %v", masks.Shape(), iou.Shape())
		}
		for i := range b {
			one := tensor.FromSlice([]float32{coords[i][0], coords[i][1]}, 1, 1, 2)
			s1, d1 := m.Prompt.Forward(nil, &Points{Coords: one, Labels: [][]int{{labels[i]}}}, nil, nil)
			m1, i1 := m.Decoder.Forward(nil, emb, pe, s1, d1, true)
			n := m1.Numel()
			for j, x := range m1.Data {
				if d := math.Abs(float64(masks.Data[i*n+j] - x)); d > 1e-5 {
					t.Fatalf("tape=%v prompt %d mask value %d: batched %g, single %g", tp != nil, i, j, masks.Data[i*n+j], x)
				}
			}
			for j, x := range i1.Data {
				if d := math.Abs(float64(iou.Data[i*3+j] - x)); d > 1e-5 {
					t.Fatalf("tape=%v prompt %d iou %d: batched %g, single %g", tp != nil, i, j, iou.Data[i*3+j], x)
				}
			}
		}
	}
}

// TestEncoderBatch encodes two images at once: each must equal its single encoding, on
// the fast path and on the recorded path.
func TestEncoderBatch(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	a := v.get("encoder_input_1x3xSxS")
	b := a.Clone()
	for i := range b.Data {
		b.Data[i] = -b.Data[i] * 0.5
	}
	both := tensor.Concat(0, a, b)
	ea, eb := m.Encoder.Forward(nil, a), m.Encoder.Forward(nil, b)
	for _, tp := range []*ag.Tape{nil, ag.NewTape()} {
		got := m.Encoder.Forward(tp, both)
		n := ea.Numel()
		for i := range n {
			if math.Abs(float64(got.Data[i]-ea.Data[i])) > 1e-5 || math.Abs(float64(got.Data[n+i]-eb.Data[i])) > 1e-5 {
				t.Fatalf("tape=%v: element %d: batched %g/%g, single %g/%g", tp != nil, i, got.Data[i], got.Data[n+i], ea.Data[i], eb.Data[i])
			}
		}
	}
}

// TestDecoderCacheFollowsInPlaceChanges modifies the embedding in place between two
// decoder calls: the second must equal a call on a fresh copy of the modified embedding
// (the NHWC cache must not serve stale values).
func TestDecoderCacheFollowsInPlaceChanges(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	emb := v.get("image_embedding")
	pe := m.Prompt.DensePE()
	pts := &Points{Coords: tensor.FromSlice([]float32{70, 60}, 1, 1, 2), Labels: [][]int{{1}}}
	sp, de := m.Prompt.Forward(nil, pts, nil, nil)
	first, _ := m.Decoder.Forward(nil, emb, pe, sp, de, false)
	emb.Data[123] += 0.5
	second, _ := m.Decoder.Forward(nil, emb, pe, sp, de, false)
	fresh, _ := m.Decoder.Forward(nil, emb.Clone(), pe, sp, de, false)
	same := true
	for i := range second.Data {
		if second.Data[i] != fresh.Data[i] {
			t.Fatalf("value %d: %g after the in-place change, %g on a fresh copy", i, second.Data[i], fresh.Data[i])
		}
		same = same && second.Data[i] == first.Data[i]
	}
	if same {
		t.Error("changing the embedding changed nothing")
	}
}

// TestPerPromptEmbeddings gives each prompt its own embedding ([B, C, h, w], as AI-SAM
// does per image): each result must equal that prompt decoded alone on its embedding.
func TestPerPromptEmbeddings(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	e0 := v.get("image_embedding")
	e1 := e0.Clone()
	for i := range e1.Data {
		e1.Data[i] = e1.Data[i]*0.7 + 0.05
	}
	both := tensor.Concat(0, e0, e1)
	pe := m.Prompt.DensePE()
	coords := tensor.FromSlice([]float32{70, 60, 150, 100}, 2, 1, 2)
	sp, de := m.Prompt.Forward(nil, &Points{Coords: coords, Labels: [][]int{{1}, {1}}}, nil, nil)
	masks, _ := m.Decoder.Forward(nil, both, pe, sp, de, false)
	for i, e := range []*tensor.Tensor{e0, e1} {
		s1, d1 := m.Prompt.Forward(nil, &Points{Coords: tensor.FromSlice(coords.Data[2*i:2*i+2], 1, 1, 2), Labels: [][]int{{1}}}, nil, nil)
		one, _ := m.Decoder.Forward(nil, e, pe, s1, d1, false)
		n := one.Numel()
		for j, x := range one.Data {
			if math.Abs(float64(masks.Data[i*n+j]-x)) > 1e-5 {
				t.Fatalf("prompt %d value %d: %g batched, %g alone", i, j, masks.Data[i*n+j], x)
			}
		}
	}
}
