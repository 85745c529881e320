package dataset

// ModelInput turns a slice into AI-SAM's network input: the image resized to
// size×size (bilinear, half-pixel centres) and repeated into 3 channels, [3, size, size]
// row-major, intensities as given (the paper's evaluation applies no SAM mean/std).
func ModelInput(s *Slice, size int) []float32 {
	one := s.Image
	if s.H != size || s.W != size {
		one = ResizeBilinear(s.Image, s.H, s.W, size, size)
	}
	out := make([]float32, 3*size*size)
	for c := range 3 {
		copy(out[c*size*size:], one)
	}
	return out
}

// TargetLabels returns the slice's labels resized to size×size with nearest-neighbour
// sampling (legacy PyTorch "nearest", what the training recipe's resize of the target
// does); a copy when the size already matches.
func TargetLabels(s *Slice, size int) []int32 {
	if s.H == size && s.W == size {
		return append([]int32(nil), s.Label...)
	}
	return ResizeNearest(s.Label, s.H, s.W, size, size)
}
