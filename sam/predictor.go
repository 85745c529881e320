package sam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"

	"github.com/aisam/aisam/tensor"
)

// ErrNoImage is returned by Predict before SetImage succeeded.
var ErrNoImage = errors.New("sam: no image set")

// MaskThreshold is the logit above which a pixel belongs to the mask.
const MaskThreshold = 0

// Predictor is the official SamPredictor: SetImage computes and caches the image
// embedding; Predict turns prompts into masks cheaply. Predict may be called concurrently
// (also while SetImage runs: it then uses the previous image).
type Predictor struct {
	Model *Model

	mu    sync.RWMutex
	state *imageState
	pe    *tensor.Tensor // dense PE, computed once
	peMu  sync.Once
}

// imageState is everything Predict needs about the current image; it is immutable once set.
type imageState struct {
	emb            *tensor.Tensor // [1, C, h, w]
	origH, origW   int
	inputH, inputW int
}

// NewPredictor returns a predictor for m.
func NewPredictor(m *Model) *Predictor { return &Predictor{Model: m} }

// RGB is an 8-bit RGB image in HWC order (the official set_image input).
type RGB struct {
	H, W int
	Pix  []uint8 // len H*W*3
}

// RGBFromImage converts any image.Image to RGB (alpha is dropped).
func RGBFromImage(img image.Image) RGB {
	b := img.Bounds()
	out := RGB{H: b.Dy(), W: b.Dx(), Pix: make([]uint8, b.Dx()*b.Dy()*3)}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
			i += 3
		}
	}
	return out
}

func (im RGB) validate() error {
	if im.H <= 0 || im.W <= 0 || len(im.Pix) != im.H*im.W*3 {
		return fmt.Errorf("sam: image %dx%d with %d bytes, want H*W*3 > 0", im.H, im.W, len(im.Pix))
	}
	return nil
}

// Preprocess normalises a resized RGB image with PixelMean/PixelStd and zero-pads it
// bottom/right to size x size: the encoder input [1, 3, size, size].
func Preprocess(im RGB, size int) (*tensor.Tensor, error) {
	if err := im.validate(); err != nil {
		return nil, err
	}
	if im.H > size || im.W > size {
		return nil, fmt.Errorf("sam: image %dx%d larger than the encoder input %d", im.H, im.W, size)
	}
	x := tensor.New(1, 3, size, size)
	for c := range 3 {
		plane := x.Data[c*size*size:]
		for y := range im.H {
			for xx := range im.W {
				plane[y*size+xx] = (float32(im.Pix[(y*im.W+xx)*3+c]) - PixelMean[c]) / PixelStd[c]
			}
		}
	}
	return x, nil
}

// SetImage resizes, normalises and encodes im (HWC RGB) and caches its embedding. It
// returns ctx.Err() if cancelled (checked between encoder blocks); the previous image
// then stays set.
func (p *Predictor) SetImage(ctx context.Context, im RGB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sam: set image %dx%d: %v", im.H, im.W, r)
		}
	}()
	if err := im.validate(); err != nil {
		return err
	}
	size := p.Model.Config.Encoder.ImgSize
	r := ResizeLongestSide(im, size)
	x, err := Preprocess(r, size)
	if err != nil {
		return err
	}
	return p.setInput(ctx, x, im.H, im.W, r.H, r.W)
}

// SetEncoderInput encodes an already resized, normalised and padded input
// [1, 3, S, S] for an original image origH x origW (the official set_torch_image).
func (p *Predictor) SetEncoderInput(ctx context.Context, x *tensor.Tensor, origH, origW int) error {
	s := p.Model.Config.Encoder.ImgSize
	if x == nil || !tensor.EqualShape(x.Shape(), []int{1, p.Model.Config.Encoder.InChans, s, s}) {
		return fmt.Errorf("sam: encoder input must be [1 %d %d %d]", p.Model.Config.Encoder.InChans, s, s)
	}
	if origH <= 0 || origW <= 0 {
		return fmt.Errorf("sam: original size %dx%d must be positive", origH, origW)
	}
	ih, iw := InputShape(origH, origW, s)
	return p.setInput(ctx, x, origH, origW, ih, iw)
}

func (p *Predictor) setInput(ctx context.Context, x *tensor.Tensor, origH, origW, inH, inW int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sam: encoding failed: %v", r)
		}
	}()
	emb, err := p.Model.Encoder.ForwardContext(ctx, x)
	if err != nil {
		return err
	}
	st := &imageState{emb: emb, origH: origH, origW: origW, inputH: inH, inputW: inW}
	p.mu.Lock()
	p.state = st
	p.mu.Unlock()
	return nil
}

// SetEmbedding installs a precomputed embedding [1, C, h, w] for an original image size.
func (p *Predictor) SetEmbedding(emb *tensor.Tensor, origH, origW int) error {
	c := p.Model.Config
	g := c.Prompt.ImageEmbeddingSize
	if emb == nil || !tensor.EqualShape(emb.Shape(), []int{1, c.Prompt.EmbedDim, g, g}) {
		return fmt.Errorf("sam: embedding must be [1 %d %d %d]", c.Prompt.EmbedDim, g, g)
	}
	if origH <= 0 || origW <= 0 {
		return fmt.Errorf("sam: original size %dx%d must be positive", origH, origW)
	}
	ih, iw := InputShape(origH, origW, c.Encoder.ImgSize)
	p.mu.Lock()
	p.state = &imageState{emb: emb, origH: origH, origW: origW, inputH: ih, inputW: iw}
	p.mu.Unlock()
	return nil
}

// Embedding returns the cached embedding [1, C, h, w] (nil before SetImage). Do not modify it.
func (p *Predictor) Embedding() *tensor.Tensor {
	st := p.current()
	if st == nil {
		return nil
	}
	return st.emb
}

// OriginalSize and InputSize return the current image's sizes (0 before SetImage).
func (p *Predictor) OriginalSize() (h, w int) {
	if st := p.current(); st != nil {
		return st.origH, st.origW
	}
	return 0, 0
}

// InputSize returns the size of the resized image inside the encoder input.
func (p *Predictor) InputSize() (h, w int) {
	if st := p.current(); st != nil {
		return st.inputH, st.inputW
	}
	return 0, 0
}

func (p *Predictor) current() *imageState {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.state
}

// DensePE returns the prompt encoder's dense positional encoding (cached).
func (p *Predictor) DensePE() *tensor.Tensor {
	p.peMu.Do(func() { p.pe = p.Model.Prompt.DensePE() })
	return p.pe
}

// Prompt is one prompt in original-image pixel coordinates.
type Prompt struct {
	Points [][2]float64 // (x, y)
	Labels []int        // 1 foreground, 0 background, -1 ignored; one per point
	Box    *[4]float64  // x0, y0, x1, y1, or nil
	// MaskInput is low-res mask logits [1, 4h, 4w] (or [1, 1, 4h, 4w]) from an earlier
	// prediction, or nil.
	MaskInput *tensor.Tensor
	Multimask bool
}

// Prediction is Predict's result.
type Prediction struct {
	Logits *tensor.Tensor // [M, H, W] mask logits at the original size
	Masks  [][]bool       // M masks, H*W row-major, Logits > MaskThreshold
	IoU    []float32      // predicted IoU per mask
	LowRes *tensor.Tensor // [M, 4h, 4w] low-res logits (feed back as MaskInput)
}

// Predict runs the prompt encoder and mask decoder on the cached embedding.
func (p *Predictor) Predict(pr Prompt) (res *Prediction, err error) {
	st := p.current()
	if st == nil {
		return nil, ErrNoImage
	}
	c := p.Model.Config
	if len(pr.Points) != len(pr.Labels) {
		return nil, fmt.Errorf("sam: %d points but %d labels", len(pr.Points), len(pr.Labels))
	}
	if len(pr.Points) == 0 && pr.Box == nil && pr.MaskInput == nil {
		return nil, fmt.Errorf("sam: empty prompt (give points, a box or a mask input)")
	}
	var points *Points
	if len(pr.Points) > 0 {
		xy := make([]float64, 0, 2*len(pr.Points))
		for i, pt := range pr.Points {
			if !finite(pt[0]) || !finite(pt[1]) {
				return nil, fmt.Errorf("sam: point %d (%g, %g) is not finite", i, pt[0], pt[1])
			}
			if l := pr.Labels[i]; l < -1 || l > 1 {
				return nil, fmt.Errorf("sam: point %d has label %d (want -1, 0 or 1)", i, l)
			}
			xy = append(xy, pt[0], pt[1])
		}
		points = &Points{Coords: tensor.FromSlice(ScaleCoords(xy, st.origH, st.origW, st.inputH, st.inputW), 1, len(xy)/2, 2), Labels: [][]int{append([]int(nil), pr.Labels...)}}
	}
	var box *tensor.Tensor
	if pr.Box != nil {
		for _, v := range pr.Box {
			if !finite(v) {
				return nil, fmt.Errorf("sam: box %v is not finite", *pr.Box)
			}
		}
		box = tensor.FromSlice(ScaleCoords(pr.Box[:], st.origH, st.origW, st.inputH, st.inputW), 1, 4)
	}
	var mask *tensor.Tensor
	if pr.MaskInput != nil {
		m := 4 * c.Prompt.ImageEmbeddingSize
		n := pr.MaskInput.Numel()
		if n != m*m || (pr.MaskInput.Rank() != 3 && pr.MaskInput.Rank() != 4) || pr.MaskInput.Dim(-1) != m {
			return nil, fmt.Errorf("sam: mask input %v, want [1 %d %d]", pr.MaskInput.Shape(), m, m)
		}
		mask = pr.MaskInput.Reshape(1, 1, m, m)
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("sam: predict failed: %v", r)
		}
	}()
	low, iou := p.predictInput(st, points, box, mask, pr.Multimask)
	nm := low.Dim(1)
	logits := PostprocessMasks(nil, low, c.Encoder.ImgSize, st.inputH, st.inputW, st.origH, st.origW)
	res = &Prediction{
		Logits: logits.Reshape(nm, st.origH, st.origW),
		IoU:    append([]float32(nil), iou.Data...),
		LowRes: low.Reshape(nm, low.Dim(2), low.Dim(3)),
	}
	hw := st.origH * st.origW
	for i := range nm {
		b := make([]bool, hw)
		for j, v := range logits.Data[i*hw : (i+1)*hw] {
			b[j] = v > MaskThreshold
		}
		res.Masks = append(res.Masks, b)
	}
	return res, nil
}

// PredictInput runs the prompt encoder and decoder on prompts already in the encoder-input
// frame (a batch of B prompts sharing the image): it returns low-res logits [B, M, 4h, 4w]
// and IoU [B, M]. This is the official predict_torch without postprocessing.
func (p *Predictor) PredictInput(points *Points, boxes, masks *tensor.Tensor, multimask bool) (low, iou *tensor.Tensor, err error) {
	st := p.current()
	if st == nil {
		return nil, nil, ErrNoImage
	}
	defer func() {
		if r := recover(); r != nil {
			low, iou, err = nil, nil, fmt.Errorf("sam: predict failed: %v", r)
		}
	}()
	low, iou = p.predictInput(st, points, boxes, masks, multimask)
	return low, iou, nil
}

func (p *Predictor) predictInput(st *imageState, points *Points, boxes, masks *tensor.Tensor, multimask bool) (*tensor.Tensor, *tensor.Tensor) {
	m := p.Model
	sparse, dense := m.Prompt.Forward(nil, points, boxes, masks)
	return m.Decoder.Forward(nil, st.emb, p.DensePE(), sparse, dense, multimask)
}

// Postprocess upsamples low-res logits [B, M, 4h, 4w] of the current image to its original
// size [B, M, H, W].
func (p *Predictor) Postprocess(low *tensor.Tensor) (*tensor.Tensor, error) {
	st := p.current()
	if st == nil {
		return nil, ErrNoImage
	}
	return PostprocessMasks(nil, low, p.Model.Config.Encoder.ImgSize, st.inputH, st.inputW, st.origH, st.origW), nil
}

func finite(v float64) bool { return v == v && v-v == 0 }
