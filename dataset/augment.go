package dataset

import (
	"math"
	"math/rand/v2"
)

// Augmenter draws AI-SAM's training augmentations, each applied with probability P:
// a random rot90 (k = 0..3) followed by a flip of a random axis; a rotation by an angle
// uniform in [−MaxAngle, MaxAngle] degrees about the centre (image bilinear, label
// nearest, outside filled with 0); a random crop keeping a uniform 70–100% (MinCrop–1)
// of each axis. The draws depend only on (Seed, epoch, index), so a sample's
// augmentation is reproducible whatever order or goroutine processes it.
type Augmenter struct {
	Seed     uint64
	P        float64 // probability of each transform
	MaxAngle float64 // degrees
	MinCrop  float64 // smallest kept fraction of an axis
}

// NewAugmenter returns AI-SAM's settings: p = 0.5, ±20°, crops of 70–100%.
func NewAugmenter(seed uint64) Augmenter {
	return Augmenter{Seed: seed, P: 0.5, MaxAngle: 20, MinCrop: 0.7}
}

// AugParams is one drawn augmentation.
type AugParams struct {
	Rot90  int     // quarter turns counter-clockwise (np.rot90), 0..3
	Flip   int     // -1 none, 0 flip rows (upside down), 1 flip columns
	Angle  float64 // degrees counter-clockwise; 0 none
	Crop   bool
	CropY0 int // crop window in the rotated slice's coordinates
	CropX0 int
	CropH  int
	CropW  int
}

// Sample draws the augmentation of sample index in epoch for an [h, w] slice.
func (a Augmenter) Sample(h, w, epoch, index int) AugParams {
	// SplitMix-style mixing so nearby (epoch, index) pairs give unrelated streams.
	s2 := uint64(epoch)*0x9E3779B97F4A7C15 ^ uint64(index)*0xBF58476D1CE4E5B9
	rng := rand.New(rand.NewPCG(a.Seed, s2))
	p := AugParams{Flip: -1}
	if rng.Float64() < a.P {
		p.Rot90 = rng.IntN(4)
		p.Flip = rng.IntN(2)
		if p.Rot90%2 == 1 {
			h, w = w, h
		}
	}
	if rng.Float64() < a.P {
		p.Angle = (2*rng.Float64() - 1) * a.MaxAngle
	}
	if rng.Float64() < a.P {
		p.Crop = true
		lo := min(max(a.MinCrop, 0), 1)
		p.CropH = max(1, int(math.Round(float64(h)*(lo+(1-lo)*rng.Float64()))))
		p.CropW = max(1, int(math.Round(float64(w)*(lo+(1-lo)*rng.Float64()))))
		p.CropY0 = rng.IntN(h - p.CropH + 1)
		p.CropX0 = rng.IntN(w - p.CropW + 1)
	}
	return p
}

// Apply returns the augmented copy of s for sample index in epoch. A crop makes the
// slice smaller; the model's preprocessing resizes it to its input size afterwards.
// s must be well formed (len(Image) = H·W, Label nil or as long), as the readers
// return them.
func (a Augmenter) Apply(s *Slice, epoch, index int) *Slice {
	return ApplyAug(s, a.Sample(s.H, s.W, epoch, index))
}

// ApplyAug applies drawn parameters: rot90 and flip, then the rotation, then the crop.
func ApplyAug(s *Slice, p AugParams) *Slice {
	out := s.Clone()
	if p.Rot90 != 0 || p.Flip >= 0 {
		out = rot90Flip(out, p.Rot90, p.Flip)
	}
	if p.Angle != 0 {
		out = Rotate(out, p.Angle)
	}
	if p.Crop {
		out = crop(out, p.CropY0, p.CropX0, p.CropH, p.CropW)
	}
	return out
}

// rot90Flip rotates by k quarter turns counter-clockwise as numpy.rot90 (out[i][j] =
// in[j][W−1−i] for k = 1), then flips the given axis (−1: none).
func rot90Flip(s *Slice, k, flip int) *Slice {
	k = ((k % 4) + 4) % 4
	h, w := s.H, s.W
	oh, ow := h, w
	if k%2 == 1 {
		oh, ow = w, h
	}
	// src maps an output position to the input position.
	src := func(i, j int) (int, int) {
		switch k {
		case 1:
			return j, w - 1 - i
		case 2:
			return h - 1 - i, w - 1 - j
		case 3:
			return h - 1 - j, i
		}
		return i, j
	}
	out := &Slice{Name: s.Name, H: oh, W: ow, Image: make([]float32, oh*ow)}
	if s.Label != nil {
		out.Label = make([]int32, oh*ow)
	}
	for i := range oh {
		for j := range ow {
			fi, fj := i, j
			switch flip {
			case 0:
				fi = oh - 1 - i
			case 1:
				fj = ow - 1 - j
			}
			y, x := src(fi, fj)
			out.Image[i*ow+j] = s.Image[y*w+x]
			if s.Label != nil {
				out.Label[i*ow+j] = s.Label[y*w+x]
			}
		}
	}
	return out
}

// Rotate turns the slice by deg degrees counter-clockwise (as displayed, rows down)
// about its centre, keeping its size: the image is sampled bilinearly, the label with
// the nearest pixel, and both are 0 where the source falls outside. Image and label
// use the same support (source within half a pixel of the grid), so they stay aligned.
func Rotate(s *Slice, deg float64) *Slice {
	h, w := s.H, s.W
	th := deg * math.Pi / 180
	c, sn := math.Cos(th), math.Sin(th)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	out := &Slice{Name: s.Name, H: h, W: w, Image: make([]float32, h*w)}
	if s.Label != nil {
		out.Label = make([]int32, h*w)
	}
	for i := range h {
		dy := float64(i) - cy
		for j := range w {
			dx := float64(j) - cx
			// Inverse map: the source of an output offset is that offset turned back
			// by deg (with rows pointing down, y flips the sign of the sine terms).
			sy := cy + c*dy + sn*dx
			sx := cx + c*dx - sn*dy
			if sy < -0.5 || sy >= float64(h)-0.5 || sx < -0.5 || sx >= float64(w)-0.5 {
				continue
			}
			if s.Label != nil {
				ny, nx := int(math.Floor(sy+0.5)), int(math.Floor(sx+0.5))
				out.Label[i*w+j] = s.Label[ny*w+nx]
			}
			fy := min(max(sy, 0), float64(h-1))
			fx := min(max(sx, 0), float64(w-1))
			y0, x0 := int(fy), int(fx)
			y1, x1 := min(y0+1, h-1), min(x0+1, w-1)
			ly, lx := float32(fy-float64(y0)), float32(fx-float64(x0))
			a, b := s.Image[y0*w+x0], s.Image[y0*w+x1]
			cc, d := s.Image[y1*w+x0], s.Image[y1*w+x1]
			top := a + (b-a)*lx
			bot := cc + (d-cc)*lx
			out.Image[i*w+j] = top + (bot-top)*ly
		}
	}
	return out
}

func crop(s *Slice, y0, x0, ch, cw int) *Slice {
	out := &Slice{Name: s.Name, H: ch, W: cw, Image: make([]float32, ch*cw)}
	if s.Label != nil {
		out.Label = make([]int32, ch*cw)
	}
	for i := range ch {
		copy(out.Image[i*cw:(i+1)*cw], s.Image[(y0+i)*s.W+x0:])
		if s.Label != nil {
			copy(out.Label[i*cw:(i+1)*cw], s.Label[(y0+i)*s.W+x0:])
		}
	}
	return out
}
