package sam

import (
	"fmt"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// PostprocessMasks is the official Sam.postprocess_masks: mask logits [B, M, h, w] are
// resized bilinearly (align_corners=False) to the encoder input (imgSize x imgSize),
// cropped to the resized image (inputH x inputW) and resized to the original size.
func PostprocessMasks(tp *ag.Tape, masks *tensor.Tensor, imgSize, inputH, inputW, origH, origW int) *tensor.Tensor {
	if masks.Rank() != 4 || inputH > imgSize || inputW > imgSize || inputH <= 0 || inputW <= 0 || origH <= 0 || origW <= 0 {
		panic(fmt.Sprintf("sam.PostprocessMasks: masks %v, input %dx%d in %d, original %dx%d", masks.Shape(), inputH, inputW, imgSize, origH, origW))
	}
	x := tp.ResizeBilinear(masks, imgSize, imgSize, false)
	if inputH < imgSize {
		x = tp.Slice(x, 2, 0, inputH)
	}
	if inputW < imgSize {
		x = tp.Slice(x, 3, 0, inputW)
	}
	return tp.ResizeBilinear(x, origH, origW, false)
}
