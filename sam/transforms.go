package sam

import (
	"context"
	"fmt"

	"github.com/aisam/aisam/tensor"
)

// InputShape is the size of an h x w image inside the encoder input: PreprocessShape with
// each side kept at least one pixel. The official formula rounds the short side of a very
// elongated image (1x3000 to a 256 side: 0.085) down to 0, and the official code then fails
// inside PIL; one pixel keeps such images segmentable and changes no other size.
func InputShape(h, w, longSide int) (newH, newW int) {
	nh, nw := PreprocessShape(h, w, longSide)
	return max(nh, 1), max(nw, 1)
}

// ResizeLongestSide is the official ResizeLongestSide.apply_image: im resized with PIL's
// exact bilinear filter so that its longest side is longSide (sizes by InputShape, so
// the short side is never 0). It returns im itself when the size does not change, and
// panics on an invalid image (callers validate first).
func ResizeLongestSide(im RGB, longSide int) RGB {
	nh, nw := InputShape(im.H, im.W, longSide)
	if nh == im.H && nw == im.W {
		return im
	}
	r, err := ResizeRGB(im, nh, nw, Bilinear)
	if err != nil {
		panic(err)
	}
	return r
}

// ScaleCoords maps points [x0, y0, x1, y1, ...] from an origH x origW image to a
// newH x newW one, per axis (x by newW/origW, y by newH/origH) in float64 as NumPy,
// rounded to float32 at the end. This is the official apply_coords for any target size
// (MedSAM's 1024x1024 as well as the longest-side size).
func ScaleCoords(xy []float64, origH, origW, newH, newW int) []float32 {
	sx := float64(newW) / float64(origW)
	sy := float64(newH) / float64(origH)
	out := make([]float32, len(xy))
	for i, v := range xy {
		if i%2 == 0 {
			out[i] = float32(v * sx)
		} else {
			out[i] = float32(v * sy)
		}
	}
	return out
}

// PreprocessMedSAM is MedSAM's inference input: im resized to size x size (no aspect
// ratio kept, no padding) with Pillow's bicubic filter, then min-max scaled to [0, 1]
// over all channels (no mean/std). MedSAM's own script resizes with skimage (order 3,
// anti-aliased); Pillow's bicubic is close but not byte-identical to it.
func PreprocessMedSAM(im RGB, size int) (*tensor.Tensor, error) {
	if err := im.validate(); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("sam: MedSAM input size %d must be positive", size)
	}
	r, err := ResizeRGB(im, size, size, Bicubic)
	if err != nil {
		return nil, err
	}
	lo, hi := uint8(255), uint8(0)
	for _, v := range r.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	rng := max(float32(hi)-float32(lo), 1e-8)
	x := tensor.New(1, 3, size, size)
	n := size * size
	for i := range n {
		for c := range 3 {
			x.Data[c*n+i] = (float32(r.Pix[3*i+c]) - float32(lo)) / rng
		}
	}
	return x, nil
}

// SetImageMedSAM encodes im the MedSAM way (PreprocessMedSAM). Prompts are then scaled
// per axis to the square input, and masks come back through the same postprocessing
// (the input fills the whole encoder frame, so nothing is cropped).
func (p *Predictor) SetImageMedSAM(ctx context.Context, im RGB) error {
	size := p.Model.Config.Encoder.ImgSize
	x, err := PreprocessMedSAM(im, size)
	if err != nil {
		return err
	}
	return p.setInput(ctx, x, im.H, im.W, size, size)
}

// MedSAMMasks is MedSAM's mask postprocessing: low-res logits [M, h, w] (or [1, M, h, w])
// go through a sigmoid, are resized bilinearly (align_corners=False) straight to the
// original size, and thresholded at 0.5. (The sigmoid comes before the interpolation, so
// this differs slightly from SAM's logits > 0 at the edges.)
func MedSAMMasks(low *tensor.Tensor, origH, origW int) ([][]bool, error) {
	if low == nil || (low.Rank() != 3 && !(low.Rank() == 4 && low.Dim(0) == 1)) || origH <= 0 || origW <= 0 {
		return nil, fmt.Errorf("sam: MedSAM masks from low-res logits %v to %dx%d: want [M h w] and a positive size", shapeOrNil(low), origH, origW)
	}
	m, h, w := low.Dim(-3), low.Dim(-2), low.Dim(-1)
	x := tensor.ResizeBilinear(tensor.Sigmoid(low.Reshape(1, m, h, w)), origH, origW, false)
	hw := origH * origW
	out := make([][]bool, m)
	for i := range out {
		out[i] = make([]bool, hw)
		for j, v := range x.Data[i*hw : (i+1)*hw] {
			out[i][j] = v > 0.5
		}
	}
	return out, nil
}

func shapeOrNil(t *tensor.Tensor) any {
	if t == nil {
		return nil
	}
	return t.Shape()
}
