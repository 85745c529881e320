package aisam

import (
	"fmt"
	"math"
	"testing"

	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

// refConfig is the vectors' model: a tiny ViT (embed 64, depth 2) with SAM's real prompt
// encoder and decoder, and an AutoPrompt built with vit_b's dead image_proj width.
func refConfig() Config {
	sc := sam.Config{
		Type: "custom",
		Encoder: sam.EncoderConfig{
			ImgSize: 1024, PatchSize: 16, InChans: 3, EmbedDim: 64, Depth: 2, Heads: 2, MLPRatio: 4,
			OutChans: 256, WindowSize: 14, GlobalAttnIndexes: []int{1}, UseAbsPos: true, UseRelPos: true,
		},
		Prompt: sam.PromptConfig{EmbedDim: 256, ImageEmbeddingSize: 64, InputImageSize: 1024, MaskInChans: 16},
		Decoder: sam.DecoderConfig{
			TransformerDim: 256, Depth: 2, Heads: 8, MLPDim: 2048, AttnDownsample: 2,
			NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 256,
		},
	}
	return Config{
		SAM:        sc,
		AutoPrompt: AutoPromptConfig{NumClasses: 3, NumClassTokens: 4, NumPoints: 4, Dim: 256, EncoderDim: 768, Classifier: true},
		Classes:    []string{"background", "a", "b"},
		Preprocess: DefaultPreprocess,
	}
}

func refModel(t *testing.T) *Model {
	t.Helper()
	m, err := New(refConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Params.Load(loadRefWeights(t), true); err != nil {
		t.Fatal(err)
	}
	m.ResetCaches()
	return m
}

// TestModelParity checks the full AISAM.forward (run2): automatic, with user points
// (including the dropped (0,0) point) and with box masks. Under -short (CI) only the
// user-points variant runs, from the official image embedding (the encoder at 1024 and
// the other two AutoPrompt passes are the slow part).
func TestModelParity(t *testing.T) {
	m := refModel(t)
	z := refFile(t, "run2_aisam.npz")
	variants := []string{"auto", "points", "bbox"}
	emb := refTensor(t, z, "dbg/image_embedding")
	if testing.Short() {
		variants = []string{"points"}
	} else {
		emb = m.ImageEncoder.Forward(nil, refTensor(t, z, "in/image"))
		checkClose(t, "image_embedding", emb, refTensor(t, z, "dbg/image_embedding"), 1e-5)
	}
	pts := refTensor(t, z, "in/points") // [1, 3, 1, 2]
	points := make([][][2]float64, 3)
	for c := range points {
		points[c] = [][2]float64{{float64(pts.Data[2*c]), float64(pts.Data[2*c+1])}}
	}
	boxes := refTensor(t, z, "in/bbox_masks")
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			var bm *tensor.Tensor
			var p [][][2]float64
			switch v {
			case "points":
				p = points
			case "bbox":
				bm = boxes
			}
			out := m.ForwardEmbedding(nil, emb, bm, p, SoftPoints, nil)
			for i := 0; i < 3; i++ {
				checkClose(t, fmt.Sprintf("auto_prompt_list/%d", i), out.Prompt.Prompts[i], refTensor(t, z, fmt.Sprintf("dbg/%s/auto_prompt_list/%d", v, i)), 1e-4)
				checkClose(t, fmt.Sprintf("sparse_embeddings/%d", i), out.Sparse[i], refTensor(t, z, fmt.Sprintf("dbg/%s/sparse_embeddings/%d", v, i)), 1e-4)
			}
			checkClose(t, "class_features", out.ClassLogits, refTensor(t, z, "out/"+v+"/class_features"), 1e-5)
			checkClose(t, "final_attn_weight_list", out.Prompt.Attn, refTensor(t, z, "out/"+v+"/final_attn_weight_list"), 1e-4)
			checkClose(t, "feature_with_pe_list", out.Prompt.FeatureWithPE, refTensor(t, z, "out/"+v+"/feature_with_pe_list"), 1e-4)
			checkClose(t, "iou_pred", out.IoU, refTensor(t, z, "dbg/"+v+"/iou_pred"), 1e-4)
			want := refTensor(t, z, "out/"+v+"/masks")
			checkMasks(t, out.Masks, want)
		})
	}
}

// checkMasks compares logits where both are finite (the -inf patterns must agree exactly).
func checkMasks(t *testing.T, got, want *tensor.Tensor) {
	t.Helper()
	if got.Numel() != want.Numel() {
		t.Fatalf("masks: shape %v, want %v", got.Shape(), want.Shape())
	}
	var g, w []float32
	ninf := 0
	for i, x := range want.Data {
		if math.IsInf(float64(x), -1) {
			ninf++
			if !math.IsInf(float64(got.Data[i]), -1) {
				t.Fatalf("masks: value %g at %d, want -inf", got.Data[i], i)
			}
			continue
		}
		g = append(g, got.Data[i])
		w = append(w, x)
	}
	e := relErr(g, w)
	if e > 1e-4 {
		t.Errorf("masks: relative error %.3g (%d -inf)", e, ninf)
	} else {
		t.Logf("masks: relative error %.3g (%d -inf)", e, ninf)
	}
}
