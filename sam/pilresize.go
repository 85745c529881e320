package sam

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/internal/par"
)

// ResampleFilter is one of Pillow's resampling filters.
type ResampleFilter int

// The filters SAM (bilinear) and MedSAM (bicubic) resize with.
const (
	Bilinear ResampleFilter = iota
	Bicubic
)

// String returns the filter's Pillow name.
func (f ResampleFilter) String() string {
	switch f {
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("ResampleFilter(%d)", int(f))
}

// pilPrecisionBits is Pillow's fixed-point precision for 8-bit images: 32 bits minus 8 for
// the pixel value and 2 for the sign and the overshoot of negative-lobed filters.
const pilPrecisionBits = 32 - 8 - 2

func (f ResampleFilter) support() float64 {
	if f == Bicubic {
		return 2
	}
	return 1
}

// weight evaluates the filter kernel. Products are wrapped in float64() so that the Go
// compiler cannot fuse them into FMAs: Pillow (built without FMA) rounds every step, and a
// single differently rounded coefficient can move an output pixel by one grey level.
func (f ResampleFilter) weight(x float64) float64 {
	if x < 0 {
		x = -x
	}
	switch f {
	case Bilinear:
		if x < 1 {
			return 1 - x
		}
	case Bicubic:
		const a = -0.5
		if x < 1 {
			return float64(float64(float64((a+2)*x)-(a+3))*x)*x + 1
		}
		if x < 2 {
			return float64(float64(float64(float64(x-5)*x)+8)*x-4) * a
		}
	}
	return 0
}

// pilCoeffs are the fixed-point weights of one resampling pass: output pixel i reads input
// pixels start[i] .. start[i]+n[i]-1 with weights k[i*ksize : i*ksize+n[i]].
type pilCoeffs struct {
	ksize    int
	start, n []int
	k        []int32
}

// pilPrecompute follows Pillow 9.4's precompute_coeffs and normalize_coeffs_8bpc for the
// whole input range [0, inSize): the support widens with the downscaling factor (that is
// the antialiasing), each window's weights are normalised to sum 1 in float64, then
// rounded half away from zero to PRECISION_BITS fixed point.
func pilPrecompute(inSize, outSize int, f ResampleFilter) pilCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := f.support() * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := pilCoeffs{ksize: ksize, start: make([]int, outSize), n: make([]int, outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := range outSize {
		center := float64(float64(float64(xx)+0.5) * scale)
		xmin := int(center - support + 0.5) // truncation toward zero, as C's (int)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := range xmax {
			w[x] = f.weight(float64((float64(x+xmin) - center + 0.5) * ss))
			ww += w[x]
		}
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			fx := float64(v * (1 << pilPrecisionBits))
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + fx)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + fx)
			}
		}
		c.start[xx], c.n[xx] = xmin, xmax
	}
	return c
}

// pilClip8 converts a fixed-point sum to a byte, as Pillow's clip8.
func pilClip8(v int32) uint8 {
	if v >= 1<<pilPrecisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> pilPrecisionBits)
}

// PILResize resizes an 8-bit h x w image with ch interleaved channels (HWC) to nh x nw
// exactly as Pillow 9.4's Image.resize with BILINEAR or BICUBIC: a horizontal pass into an
// 8-bit intermediate image, then a vertical pass, each with fixed-point weights; a pass
// whose size does not change is skipped (it would be the identity).
func PILResize(pix []uint8, h, w, ch, nh, nw int, f ResampleFilter) ([]uint8, error) {
	switch {
	case h <= 0 || w <= 0 || ch <= 0 || nh <= 0 || nw <= 0:
		return nil, fmt.Errorf("sam: resize %dx%d (%d channels) to %dx%d: sizes must be positive", h, w, ch, nh, nw)
	case len(pix) != h*w*ch:
		return nil, fmt.Errorf("sam: resize: %d bytes for a %dx%dx%d image", len(pix), h, w, ch)
	case f != Bilinear && f != Bicubic:
		return nil, fmt.Errorf("sam: resize: unknown filter %v", f)
	case nh > 1<<16 || nw > 1<<16:
		return nil, fmt.Errorf("sam: resize to %dx%d: too large", nh, nw)
	}
	src := pix
	if nw != w {
		src = pilHorizontal(src, h, w, ch, nw, pilPrecompute(w, nw, f))
	} else {
		src = append([]uint8(nil), src...)
	}
	if nh != h {
		src = pilVertical(src, h, nw, ch, nh, pilPrecompute(h, nh, f))
	}
	return src, nil
}

func pilHorizontal(src []uint8, h, w, ch, nw int, c pilCoeffs) []uint8 {
	out := make([]uint8, h*nw*ch)
	par.For(h, 16, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row := src[y*w*ch : (y+1)*w*ch]
			orow := out[y*nw*ch : (y+1)*nw*ch]
			for xx := range nw {
				k := c.k[xx*c.ksize : xx*c.ksize+c.n[xx]]
				in := row[c.start[xx]*ch:]
				for b := range ch {
					ss := int32(1 << (pilPrecisionBits - 1))
					for x, kv := range k {
						ss += int32(in[x*ch+b]) * kv
					}
					orow[xx*ch+b] = pilClip8(ss)
				}
			}
		}
	})
	return out
}

func pilVertical(src []uint8, h, w, ch, nh int, c pilCoeffs) []uint8 {
	stride := w * ch
	out := make([]uint8, nh*stride)
	par.For(nh, 16, func(lo, hi int) {
		acc := make([]int32, stride)
		for yy := lo; yy < hi; yy++ {
			for i := range acc {
				acc[i] = 1 << (pilPrecisionBits - 1)
			}
			k := c.k[yy*c.ksize : yy*c.ksize+c.n[yy]]
			for y, kv := range k {
				row := src[(c.start[yy]+y)*stride : (c.start[yy]+y+1)*stride]
				for i, v := range row {
					acc[i] += int32(v) * kv
				}
			}
			orow := out[yy*stride : (yy+1)*stride]
			for i, v := range acc {
				orow[i] = pilClip8(v)
			}
		}
	})
	return out
}

// ResizeRGB resizes im to nh x nw with Pillow's exact filter f.
func ResizeRGB(im RGB, nh, nw int, f ResampleFilter) (RGB, error) {
	if err := im.validate(); err != nil {
		return RGB{}, err
	}
	if nh == im.H && nw == im.W {
		return RGB{H: im.H, W: im.W, Pix: append([]uint8(nil), im.Pix...)}, nil
	}
	pix, err := PILResize(im.Pix, im.H, im.W, 3, nh, nw, f)
	if err != nil {
		return RGB{}, err
	}
	return RGB{H: nh, W: nw, Pix: pix}, nil
}
