package aisam

import (
	"fmt"
	"testing"

	"github.com/aisam/aisam/tensor"
)

// Fast parity checks that also run under -short (CI): one class of the AutoPrompt (run1),
// and the decoder with box gating fed the official sparse prompts (run2).

func TestAutoPromptOneClassParity(t *testing.T) {
	ap := refAutoPrompt(t)
	z := refFile(t, "run1_autoprompt.npz")
	image := refTensor(t, z, "in/image_embedding")
	tok, feat := ap.Encode(nil, image, []int{2})
	wantTok := tensor.Slice(refTensor(t, z, "dbg/nobbox/tokens_out"), 1, 2, 3)
	checkClose(t, "tokens_out[2]", tok, wantTok, 1e-5)
	sub := tensor.Slice(feat.Reshape(512, 8, 256), 1, 0, 1)
	checkClose(t, "feature_list_sub8/2", sub, refTensor(t, z, "out/nobbox/feature_list_sub8/2"), 1e-5)
	logits := ap.Heatmaps(nil, tok, feat)
	checkClose(t, "attn_logits[2]", logits, tensor.Slice(refTensor(t, z, "dbg/nobbox/attn_logits"), 1, 2, 3), 1e-5)
}

func TestDecodeOfficialPromptsParity(t *testing.T) {
	m := refModel(t)
	z := refFile(t, "run2_aisam.npz")
	emb := refTensor(t, z, "dbg/image_embedding")
	for _, v := range []string{"points", "bbox"} {
		t.Run(v, func(t *testing.T) {
			sparse := make([]*tensor.Tensor, 3)
			for i := range sparse {
				sparse[i] = refTensor(t, z, fmt.Sprintf("dbg/%s/sparse_embeddings/%d", v, i))
			}
			masks, iou := m.decode(nil, emb, sparse)
			if v == "bbox" {
				masks = gateMasks(nil, masks, refTensor(t, z, "in/bbox_masks"))
			}
			checkMasks(t, masks, refTensor(t, z, "out/"+v+"/masks"))
			checkClose(t, "iou_pred", iou, refTensor(t, z, "dbg/"+v+"/iou_pred"), 1e-4)
			// The session's path: the single mask alone (final attention for one token).
			masks = m.decodeMasks(emb, sparse)
			if v == "bbox" {
				masks = gateMasks(nil, masks, refTensor(t, z, "in/bbox_masks"))
			}
			checkMasks(t, masks, refTensor(t, z, "out/"+v+"/masks"))
		})
	}
}
