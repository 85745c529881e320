package dataset

import "math"

// ResizeBilinear resizes an [h, w] image to [oh, ow] with bilinear interpolation and
// half-pixel centres (PyTorch's align_corners=False, no antialiasing; cv2.INTER_LINEAR).
// Sizes must be positive and len(src) = h·w (a kernel: violations panic).
func ResizeBilinear(src []float32, h, w, oh, ow int) []float32 {
	out := make([]float32, oh*ow)
	xs := make([]int, 2*ow)
	xl := make([]float32, ow)
	sx := float32(w) / float32(ow)
	for x := range ow {
		f := max((float32(x)+0.5)*sx-0.5, 0)
		x0 := min(int(f), w-1)
		xs[2*x], xs[2*x+1] = x0, min(x0+1, w-1)
		xl[x] = f - float32(x0)
	}
	sy := float32(h) / float32(oh)
	for y := range oh {
		f := max((float32(y)+0.5)*sy-0.5, 0)
		y0 := min(int(f), h-1)
		y1 := min(y0+1, h-1)
		ly := f - float32(y0)
		r0, r1 := src[y0*w:(y0+1)*w], src[y1*w:(y1+1)*w]
		o := out[y*ow : (y+1)*ow]
		for x := range ow {
			a, b := xs[2*x], xs[2*x+1]
			lx := xl[x]
			top := r0[a] + (r0[b]-r0[a])*lx
			bot := r1[a] + (r1[b]-r1[a])*lx
			o[x] = top + (bot-top)*ly
		}
	}
	return out
}

// ResizeNearest resizes a label map with PyTorch's legacy mode="nearest": source index
// floor(d·in/out).
func ResizeNearest(src []int32, h, w, oh, ow int) []int32 {
	return resizeIdx(src, w, nearestIdx(h, oh, false), nearestIdx(w, ow, false))
}

// ResizeNearestExact resizes a label map with PyTorch's mode="nearest-exact", the rule
// AI-SAM evaluates with: source index min(floor((d + 0.5)·in/out), in − 1) in float32,
// i.e. 2d + 1 when halving.
func ResizeNearestExact(src []int32, h, w, oh, ow int) []int32 {
	return resizeIdx(src, w, nearestIdx(h, oh, true), nearestIdx(w, ow, true))
}

func nearestIdx(in, out int, exact bool) []int {
	scale := float32(in) / float32(out)
	idx := make([]int, out)
	for d := range out {
		var f float32
		if exact {
			f = (float32(d) + 0.5) * scale
		} else {
			f = float32(d) * scale
		}
		idx[d] = min(int(math.Floor(float64(f))), in-1)
	}
	return idx
}

func resizeIdx(src []int32, w int, ys, xs []int) []int32 {
	out := make([]int32, len(ys)*len(xs))
	for y, sy := range ys {
		row := src[sy*w : (sy+1)*w]
		o := out[y*len(xs) : (y+1)*len(xs)]
		for x, sx := range xs {
			o[x] = row[sx]
		}
	}
	return out
}

// Resize returns the slice resized to [oh, ow]: image bilinear, label nearest.
func (s *Slice) Resize(oh, ow int) *Slice {
	if oh == s.H && ow == s.W {
		return s.Clone()
	}
	out := &Slice{Name: s.Name, H: oh, W: ow, Image: ResizeBilinear(s.Image, s.H, s.W, oh, ow)}
	if s.Label != nil {
		out.Label = ResizeNearest(s.Label, s.H, s.W, oh, ow)
	}
	return out
}

// Clone returns a deep copy.
func (s *Slice) Clone() *Slice {
	c := *s
	c.Image = append([]float32(nil), s.Image...)
	if s.Label != nil {
		c.Label = append([]int32(nil), s.Label...)
	}
	return &c
}

// ResizeLabels returns the volume's labels resized slice by slice to [oh, ow] with
// nearest-exact, the grid AI-SAM evaluates on (512 → 256 keeps the odd rows and
// columns). The slice count is kept.
func (v *Volume) ResizeLabels(oh, ow int) []int32 {
	out := make([]int32, 0, v.D*oh*ow)
	n := v.H * v.W
	for z := range v.D {
		out = append(out, ResizeNearestExact(v.Label[z*n:(z+1)*n], v.H, v.W, oh, ow)...)
	}
	return out
}
