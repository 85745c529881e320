package aisam

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/tensor"
)

// Image is one 2-D input: 8-bit pixels (PNG/JPEG: Channels 1, 3 or 4, HWC) or raw
// intensities of one channel (a NIfTI slice: Values, H*W, row-major).
type Image struct {
	H, W     int
	Channels int
	Pix      []uint8
	Values   []float32
}

// Validate reports an image that cannot be segmented.
func (im *Image) Validate() error {
	if im == nil {
		return fmt.Errorf("aisam: no image")
	}
	if im.H <= 0 || im.W <= 0 {
		return fmt.Errorf("aisam: image size %dx%d", im.W, im.H)
	}
	// Results hold C full-size logit maps: bound the pixel count (32 Mpixel).
	if im.H > 1<<15 || im.W > 1<<15 || im.H*im.W > 1<<25 {
		return fmt.Errorf("aisam: image %dx%d is too large (at most 2^25 pixels)", im.W, im.H)
	}
	switch {
	case im.Values != nil:
		if len(im.Values) != im.H*im.W {
			return fmt.Errorf("aisam: %d intensities for a %dx%d image", len(im.Values), im.W, im.H)
		}
	case im.Pix != nil:
		if im.Channels != 1 && im.Channels != 3 && im.Channels != 4 {
			return fmt.Errorf("aisam: %d channels (want 1, 3 or 4)", im.Channels)
		}
		if len(im.Pix) != im.H*im.W*im.Channels {
			return fmt.Errorf("aisam: %d bytes for a %dx%dx%d image", len(im.Pix), im.W, im.H, im.Channels)
		}
	default:
		return fmt.Errorf("aisam: image has no pixels")
	}
	return nil
}

// geometry maps between input-image pixels and the encoder frame (S x S).
type geometry struct {
	OrigH, OrigW   int // input image
	InputH, InputW int // resized image inside the S x S encoder input
	S              int
}

func (g geometry) sx() float64 { return float64(g.InputW) / float64(g.OrigW) }
func (g geometry) sy() float64 { return float64(g.InputH) / float64(g.OrigH) }

// toEncoder maps image pixel coordinates to encoder pixels (per axis, as SAM does).
func (g geometry) toEncoder(x, y float64) (float64, float64) { return x * g.sx(), y * g.sy() }

// toImage maps encoder pixels back to image pixels.
func (g geometry) toImage(x, y float64) (float64, float64) { return x / g.sx(), y / g.sy() }

// preprocess turns im into the encoder input [1, 3, S, S] as cfg says.
func (c Config) preprocess(im *Image) (*tensor.Tensor, geometry, error) {
	if err := im.Validate(); err != nil {
		return nil, geometry{}, err
	}
	p := c.Preprocess
	s := c.SAM.Encoder.ImgSize
	g := geometry{OrigH: im.H, OrigW: im.W, S: s}
	switch p.Resize {
	case "longest":
		scale := float64(s) / float64(max(im.H, im.W))
		g.InputH = int(float64(im.H)*scale + 0.5)
		g.InputW = int(float64(im.W)*scale + 0.5)
	default:
		g.InputH, g.InputW = s, s
	}
	// Intensities in [0, 1], one plane per channel.
	x := tensor.New(1, 3, im.H, im.W)
	hw := im.H * im.W
	if im.Values != nil {
		lo, hi := 0.0, 0.0
		if p.Window != nil {
			lo, hi = p.Window[0], p.Window[1]
		} else {
			lo, hi = math.Inf(1), math.Inf(-1)
			for _, v := range im.Values {
				if !math.IsNaN(float64(v)) {
					lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
				}
			}
		}
		span := hi - lo
		for i, v := range im.Values {
			f := 0.0
			if span > 0 && !math.IsNaN(float64(v)) {
				f = (math.Min(math.Max(float64(v), lo), hi) - lo) / span
			}
			for ch := 0; ch < 3; ch++ {
				x.Data[ch*hw+i] = float32(f)
			}
		}
	} else {
		for i := 0; i < hw; i++ {
			for ch := 0; ch < 3; ch++ {
				src := ch
				if im.Channels == 1 {
					src = 0
				}
				x.Data[ch*hw+i] = float32(im.Pix[i*im.Channels+src]) / 255
			}
		}
	}
	if g.InputH != im.H || g.InputW != im.W {
		x = tensor.ResizeBilinear(x, g.InputH, g.InputW, false)
	}
	n := g.InputH * g.InputW
	for ch := 0; ch < 3; ch++ {
		a, b := float32(p.Scale), float32(p.Offset)
		mean, std := float32(p.Mean[ch]), float32(p.Std[ch])
		plane := x.Data[ch*n : (ch+1)*n]
		for i, v := range plane {
			plane[i] = (v*a + b - mean) / std
		}
	}
	if g.InputH < s || g.InputW < s {
		x = tensor.Pad(x, []int{0, 0, 0, 0}, []int{0, 0, s - g.InputH, s - g.InputW}, 0)
	}
	return x, g, nil
}
