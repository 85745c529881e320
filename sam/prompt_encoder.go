package sam

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// Points is a batch of point prompts.
type Points struct {
	// Coords [B, N, 2] holds x, y in encoder-input pixels (after ResizeLongestSide).
	Coords *tensor.Tensor
	// Labels[b][n] is 1 (foreground), 0 (background) or -1 (not a point: ignored).
	Labels [][]int
}

// Validate checks that Coords is [B, N, 2] with one label list of length N per batch
// entry, each label -1, 0 or 1.
func (p *Points) Validate() error {
	c := p.Coords
	if c == nil || c.Rank() != 3 || c.Dim(2) != 2 {
		var sh []int
		if c != nil {
			sh = c.Shape()
		}
		return fmt.Errorf("sam: point coords %v, want [B N 2]", sh)
	}
	if len(p.Labels) != c.Dim(0) {
		return fmt.Errorf("sam: %d label lists for %d point sets", len(p.Labels), c.Dim(0))
	}
	for i, l := range p.Labels {
		if len(l) != c.Dim(1) {
			return fmt.Errorf("sam: point set %d has %d labels for %d points", i, len(l), c.Dim(1))
		}
		for _, v := range l {
			if v < -1 || v > 1 {
				return fmt.Errorf("sam: point label %d (want -1, 0 or 1)", v)
			}
		}
	}
	return nil
}

// PromptEncoder is the official PromptEncoder.
type PromptEncoder struct {
	Config PromptConfig
	// PointEmbeddings are point_embeddings.0..3: negative point, positive point, box
	// top-left, box bottom-right.
	PointEmbeddings []*nn.Embedding
	NotAPointEmbed  *nn.Embedding // not_a_point_embed
	NoMaskEmbed     *nn.Embedding // no_mask_embed
	// Gaussian is the buffer pe_layer.positional_encoding_gaussian_matrix [2, EmbedDim/2].
	Gaussian *tensor.Tensor
	// MaskDownscaling holds mask_downscaling.{0,1,3,4,6}.
	MaskConv1 *nn.Conv2d
	MaskNorm1 *nn.LayerNorm2d
	MaskConv2 *nn.Conv2d
	MaskNorm2 *nn.LayerNorm2d
	MaskConv3 *nn.Conv2d
}

// NewPromptEncoder builds the prompt encoder's parameters in s (normally "prompt_encoder").
func NewPromptEncoder(s nn.Scope, c PromptConfig) *PromptEncoder {
	p := &PromptEncoder{Config: c}
	p.Gaussian = s.Sub("pe_layer").Buffer("positional_encoding_gaussian_matrix", 2, c.EmbedDim/2)
	r := s.Rand()
	for i := range p.Gaussian.Data {
		p.Gaussian.Data[i] = float32(r.NormFloat64())
	}
	for i := range 4 {
		p.PointEmbeddings = append(p.PointEmbeddings, nn.NewEmbedding(s.Sub("point_embeddings").Index(i), 1, c.EmbedDim))
	}
	p.NotAPointEmbed = nn.NewEmbedding(s.Sub("not_a_point_embed"), 1, c.EmbedDim)
	ms := s.Sub("mask_downscaling")
	q := c.MaskInChans / 4
	p.MaskConv1 = nn.NewConv2d(ms.Index(0), 1, q, 2, 2, 0, true)
	p.MaskNorm1 = nn.NewLayerNorm2d(ms.Index(1), q, 1e-6)
	p.MaskConv2 = nn.NewConv2d(ms.Index(3), q, c.MaskInChans, 2, 2, 0, true)
	p.MaskNorm2 = nn.NewLayerNorm2d(ms.Index(4), c.MaskInChans, 1e-6)
	p.MaskConv3 = nn.NewConv2d(ms.Index(6), c.MaskInChans, c.EmbedDim, 1, 1, 0, true)
	p.NoMaskEmbed = nn.NewEmbedding(s.Sub("no_mask_embed"), 1, c.EmbedDim)
	return p
}

// EncodeCoords is the random Fourier positional encoding of coords [..., 2] already
// normalised to [0, 1]: [sin(2π(2c-1)G), cos(2π(2c-1)G)], [..., EmbedDim].
func (p *PromptEncoder) EncodeCoords(tp *ag.Tape, coords *tensor.Tensor) *tensor.Tensor {
	x := tp.AddScalar(tp.Scale(coords, 2), -1)
	x = tp.MatMul(x, p.Gaussian, false, false)
	x = tp.Scale(x, float32(2*math.Pi))
	return tp.Concat(x.Rank()-1, tp.Sin(x), tp.Cos(x))
}

// DensePE returns the positional encoding of the embedding grid [1, EmbedDim, h, w], the
// cell centres being at ((j+0.5)/w, (i+0.5)/h).
func (p *PromptEncoder) DensePE() *tensor.Tensor {
	h, w := p.Config.ImageEmbeddingSize, p.Config.ImageEmbeddingSize
	g := tensor.New(h, w, 2)
	for i := range h {
		for j := range w {
			// The official grid is cumsum(ones) - 0.5, then divided by the size.
			g.Data[(i*w+j)*2] = (float32(j+1) - 0.5) / float32(w)
			g.Data[(i*w+j)*2+1] = (float32(i+1) - 0.5) / float32(h)
		}
	}
	pe := p.EncodeCoords(nil, g) // h w C
	return tensor.Permute(pe, 2, 0, 1).Reshape(1, p.Config.EmbedDim, h, w)
}

// embedPoints returns [B, N(+1), C] for points with labels, padding one "not a point" when pad.
func (p *PromptEncoder) embedPoints(tp *ag.Tape, pts *Points, pad bool) *tensor.Tensor {
	if err := pts.Validate(); err != nil {
		panic(err)
	}
	b, n := pts.Coords.Dim(0), pts.Coords.Dim(1)
	coords := tp.AddScalar(pts.Coords, 0.5)
	labels := make([][]int, b)
	for i := range b {
		labels[i] = append([]int(nil), pts.Labels[i]...)
	}
	if pad {
		// The padding point is appended after the +0.5 shift: it sits at (0, 0).
		coords = tp.Concat(1, coords, tensor.New(b, 1, 2))
		for i := range labels {
			labels[i] = append(labels[i], -1)
		}
		n++
	}
	norm := tp.Scale(coords, 1/float32(p.Config.InputImageSize))
	pe := p.EncodeCoords(tp, norm) // B N C
	c := p.Config.EmbedDim
	// Per point: keep the PE (label 0/1) or zero it (-1), then add the label's embedding,
	// gathered from the table [not_a_point; point_embeddings.0; point_embeddings.1].
	keep := tensor.New(b, n, 1)
	idx := make([]int, 0, b*n)
	for i := range b {
		for j := range n {
			l := labels[i][j]
			if l < -1 || l > 1 {
				panic(fmt.Sprintf("sam: point label %d (want -1, 0 or 1)", l))
			}
			if l != -1 {
				keep.Data[i*n+j] = 1
			}
			idx = append(idx, l+1)
		}
	}
	table := tp.Concat(0, p.NotAPointEmbed.Weight, p.PointEmbeddings[0].Weight, p.PointEmbeddings[1].Weight)
	add := tp.Reshape(tp.IndexSelect(table, 0, idx), b, n, c)
	return tp.Add(tp.Mul(pe, keep), add)
}

// embedBoxes returns [B, 2, C] for boxes [B, 4] (x0 y0 x1 y1 in input pixels).
func (p *PromptEncoder) embedBoxes(tp *ag.Tape, boxes *tensor.Tensor) *tensor.Tensor {
	b := boxes.Dim(0)
	coords := tp.Reshape(tp.AddScalar(boxes, 0.5), b, 2, 2)
	pe := p.EncodeCoords(tp, tp.Scale(coords, 1/float32(p.Config.InputImageSize)))
	corners := tp.Concat(0, p.PointEmbeddings[2].Weight, p.PointEmbeddings[3].Weight) // 2 C
	return tp.Add(pe, tp.Reshape(corners, 1, 2, p.Config.EmbedDim))
}

// EmbedMasks downscales mask logits [B, 1, 4h, 4w] to dense embeddings [B, C, h, w].
func (p *PromptEncoder) EmbedMasks(tp *ag.Tape, masks *tensor.Tensor) *tensor.Tensor {
	x := p.MaskConv1.Forward(tp, masks)
	x = tp.GELU(p.MaskNorm1.Forward(tp, x))
	x = p.MaskConv2.Forward(tp, x)
	x = tp.GELU(p.MaskNorm2.Forward(tp, x))
	return p.MaskConv3.Forward(tp, x)
}

// Forward embeds the prompts: sparse [B, N, C] (points then box corners; a padding point
// is added iff boxes is nil) and dense [B, C, h, w] (mask input or no_mask_embed). All
// arguments may be nil; the batch size is that of the first non-nil one (1 if none).
func (p *PromptEncoder) Forward(tp *ag.Tape, points *Points, boxes, masks *tensor.Tensor) (sparse, dense *tensor.Tensor) {
	bs := 1
	switch {
	case points != nil:
		bs = points.Coords.Dim(0)
	case boxes != nil:
		bs = boxes.Dim(0)
	case masks != nil:
		bs = masks.Dim(0)
	}
	c := p.Config.EmbedDim
	sparse = tensor.New(bs, 0, c)
	var parts []*tensor.Tensor
	if points != nil {
		parts = append(parts, p.embedPoints(tp, points, boxes == nil))
	}
	if boxes != nil {
		parts = append(parts, p.embedBoxes(tp, boxes))
	}
	switch len(parts) {
	case 1:
		sparse = parts[0]
	case 2:
		sparse = tp.Concat(1, parts...)
	}
	if masks != nil {
		dense = p.EmbedMasks(tp, masks)
	} else {
		s := p.Config.ImageEmbeddingSize
		if tp.Recording(p.NoMaskEmbed.Weight) {
			dense = tp.Reshape(p.NoMaskEmbed.Weight, 1, c, 1, 1)
			dense = tp.Add(dense, tensor.New(bs, c, s, s)) // broadcast with a gradient path
		} else {
			dense = tensor.New(bs, c, s, s)
			for i := range bs * c {
				v := p.NoMaskEmbed.Weight.Data[i%c]
				plane := dense.Data[i*s*s : (i+1)*s*s]
				for j := range plane {
					plane[j] = v
				}
			}
		}
	}
	return sparse, dense
}
