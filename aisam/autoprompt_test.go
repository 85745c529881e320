package aisam

import (
	"fmt"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// TestAutoPromptParity checks AutoPrompt against the official code's outputs (run1).
// Under -short (CI) only the box variant runs (~1.6 s): it checks the -999 box masking
// of the heatmap logits, which no other short test does.
func TestAutoPromptParity(t *testing.T) {
	ap := refAutoPrompt(t)
	z := refFile(t, "run1_autoprompt.npz")
	image := refTensor(t, z, "in/image_embedding")
	pe := refTensor(t, z, "in/image_pe")
	types := refTensor(t, z, "in/points_type") // not_a_point, negative, positive
	neg := tensor.Slice(types, 0, 1, 2)
	pos := tensor.Slice(types, 0, 2, 3)
	boxes := refTensor(t, z, "in/bbox_masks")
	keep := tensor.ResizeNearest(boxes, 64, 64, true).Reshape(1, 3, 64*64)
	// "tape" runs the training path (a tape that records nothing), the others the
	// inference path.
	variants := []string{"nobbox", "bbox", "tape"}
	if testing.Short() {
		variants = []string{"bbox"}
	}
	for _, v := range variants {
		t.Run(v, func(t *testing.T) {
			var k *tensor.Tensor
			var tp *ag.Tape
			switch v {
			case "bbox":
				k = keep
			case "tape":
				tp = ag.NewTape()
				v = "nobbox"
			}
			out := ap.Forward(tp, image, pe, pos, neg, k, SoftPoints, nil)
			for i, p := range out.Prompts {
				checkClose(t, fmt.Sprintf("auto_prompt_list/%d", i), p, refTensor(t, z, fmt.Sprintf("out/%s/auto_prompt_list/%d", v, i)), 1e-4)
			}
			checkClose(t, "class_features", out.ClassLogits, refTensor(t, z, "out/"+v+"/class_features"), 1e-5)
			checkClose(t, "attn_logits", out.Logits, refTensor(t, z, "dbg/"+v+"/attn_logits"), 1e-5)
			checkClose(t, "final_attn_weight_list", out.Attn, refTensor(t, z, "out/"+v+"/final_attn_weight_list"), 1e-4)
			checkClose(t, "feature_with_pe_list", out.FeatureWithPE, refTensor(t, z, "out/"+v+"/feature_with_pe_list"), 1e-4)
			checkClose(t, "tokens_out", out.Tokens, refTensor(t, z, "dbg/"+v+"/tokens_out"), 1e-5)
			if v == "nobbox" {
				checkClose(t, "feature_list/0", tensor.Slice(out.Features, 0, 0, 1), refTensor(t, z, "out/nobbox/feature_list/0"), 1e-5)
				for _, c := range []int{1, 2} {
					f := tensor.Slice(out.Features, 0, c, c+1).Reshape(512, 8, 256)
					sub := tensor.Slice(f, 1, 0, 1)
					checkClose(t, fmt.Sprintf("feature_list_sub8/%d", c), sub, refTensor(t, z, fmt.Sprintf("out/nobbox/feature_list_sub8/%d", c)), 1e-5)
				}
			}
		})
	}
}

// TestClassifierParity checks the classifier head's query outputs (run1 dbg).
func TestClassifierParity(t *testing.T) {
	ap := refAutoPrompt(t)
	z := refFile(t, "run1_autoprompt.npz")
	image := refTensor(t, z, "in/image_embedding")
	tok := ap.ClassifierClassEmb.Reshape(1, 3, 256)
	got := ap.Classifier.Forward(nil, image, tok)
	checkClose(t, "classifier_tokens_out", got, refTensor(t, z, "dbg/nobbox/classifier_tokens_out"), 1e-5)
}
