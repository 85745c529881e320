package sam

import "github.com/aisam/aisam/tensor"

// PreprocessShape returns the size of an oldH x oldW image whose longest side is resized to
// longSide, as the official ResizeLongestSide.get_preprocess_shape (int(x*scale + 0.5)).
func PreprocessShape(oldH, oldW, longSide int) (newH, newW int) {
	scale := float64(longSide) / float64(max(oldH, oldW))
	newH = int(float64(oldH)*scale + 0.5)
	newW = int(float64(oldW)*scale + 0.5)
	return newH, newW
}

// ApplyCoords maps points [x0, y0, x1, y1, ...] in an origH x origW image into the
// resized frame: x by newW/origW and y by newH/origH (per axis, as the official code),
// computed in float64 like NumPy and rounded to float32 at the end.
func ApplyCoords(xy []float64, origH, origW, longSide int) []float32 {
	newH, newW := PreprocessShape(origH, origW, longSide)
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

// ApplyBoxes maps boxes [x0, y0, x1, y1, ...] like ApplyCoords (each corner is a point).
func ApplyBoxes(boxes []float64, origH, origW, longSide int) []float32 {
	return ApplyCoords(boxes, origH, origW, longSide)
}

// CoordsTensor maps points (x, y pairs) to a [1, N, 2] tensor in the resized frame.
func CoordsTensor(xy []float64, origH, origW, longSide int) *tensor.Tensor {
	return tensor.FromSlice(ApplyCoords(xy, origH, origW, longSide), 1, len(xy)/2, 2)
}
