package aisam

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

// Preprocess says how an input image becomes the encoder input. AI-SAM feeds the slice
// stretched to ImgSize x ImgSize with intensities in [0, 1] and no SAM mean/std.
type Preprocess struct {
	// Resize is "stretch" (resize to ImgSize x ImgSize, AI-SAM) or "longest" (SAM's
	// longest side to ImgSize, zero-padded bottom/right).
	Resize string `json:"resize"`
	// Window, if set, clips raw scanner values (NIfTI) to [lo, hi] before mapping them to
	// [0, 1] (Synapse CT: [-125, 275]); without it a volume slice is min-max scaled.
	// 8-bit images map to [0, 1] by /255.
	Window *[2]float64 `json:"window,omitempty"`
	// Scale and Offset then map [0, 1] to the training range (ACDC: 2, -1 for [-1, 1]).
	Scale  float64 `json:"scale"`
	Offset float64 `json:"offset"`
	// Mean and Std are applied last, per channel: (v - mean) / std.
	Mean [3]float64 `json:"mean"`
	Std  [3]float64 `json:"std"`
}

// DefaultPreprocess is AI-SAM's evaluation preprocessing.
var DefaultPreprocess = Preprocess{Resize: "stretch", Scale: 1, Mean: [3]float64{0, 0, 0}, Std: [3]float64{1, 1, 1}}

// Config describes a whole AI-SAM model; it is saved beside the weights.
type Config struct {
	SAM        sam.Config       `json:"sam"`
	AutoPrompt AutoPromptConfig `json:"auto_prompt"`
	// Classes names the C classes, background first.
	Classes    []string   `json:"classes"`
	Preprocess Preprocess `json:"preprocess"`
	// HardPoints selects Gumbel hard points in training (use_hard_points).
	HardPoints bool `json:"hard_points"`
}

// SynapseClasses and ACDCClasses are the class names of the paper's two datasets.
var (
	SynapseClasses = []string{"background", "spleen", "right_kidney", "left_kidney", "gallbladder", "liver", "stomach", "aorta", "pancreas"}
	ACDCClasses    = []string{"background", "RV", "Myo", "LV"}
)

// NewConfig returns the paper's configuration for SAM type ("vit_b", "vit_l", "vit_h")
// and the given class names (background first): 16 class tokens, 4 points, classifier.
func NewConfig(samType string, classes []string) (Config, error) {
	sc, err := sam.ConfigFor(samType)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		SAM: sc,
		AutoPrompt: AutoPromptConfig{
			NumClasses: len(classes), NumClassTokens: 16, NumPoints: 4,
			Dim: sc.Decoder.TransformerDim, EncoderDim: sc.Encoder.EmbedDim, Classifier: true,
		},
		Classes:    append([]string(nil), classes...),
		Preprocess: DefaultPreprocess,
	}
	return c, c.Validate()
}

// Validate checks that the configuration can be built.
func (c Config) Validate() error {
	if err := c.SAM.Validate(); err != nil {
		return err
	}
	if err := c.AutoPrompt.Validate(); err != nil {
		return err
	}
	if c.AutoPrompt.Dim != c.SAM.Decoder.TransformerDim {
		return fmt.Errorf("aisam: AutoPrompt width %d differs from SAM's %d", c.AutoPrompt.Dim, c.SAM.Decoder.TransformerDim)
	}
	if len(c.Classes) != c.AutoPrompt.NumClasses {
		return fmt.Errorf("aisam: %d class names for %d classes", len(c.Classes), c.AutoPrompt.NumClasses)
	}
	seen := map[string]bool{}
	for _, n := range c.Classes {
		if n == "" {
			return fmt.Errorf("aisam: empty class name")
		}
		if seen[n] {
			return fmt.Errorf("aisam: duplicate class name %q", n)
		}
		seen[n] = true
	}
	switch c.Preprocess.Resize {
	case "stretch", "longest":
	default:
		return fmt.Errorf("aisam: preprocess resize %q (want stretch or longest)", c.Preprocess.Resize)
	}
	if c.Preprocess.Scale == 0 || math.IsNaN(c.Preprocess.Scale) {
		return fmt.Errorf("aisam: preprocess scale is %g", c.Preprocess.Scale)
	}
	for i, s := range c.Preprocess.Std {
		if s == 0 || math.IsNaN(s) {
			return fmt.Errorf("aisam: preprocess std[%d] is %g", i, s)
		}
	}
	return nil
}

// Model is AI-SAM: SAM's three parts and the AutoPrompt, with parameters named as the
// official AISAM.state_dict() (without its "sam." aliases).
type Model struct {
	Cfg           Config
	Params        *nn.Params
	ImageEncoder  *sam.ImageEncoder
	PromptEncoder *sam.PromptEncoder
	MaskDecoder   *sam.MaskDecoder
	AutoPrompt    *AutoPrompt
	densePE       *tensor.Tensor
}

// New builds a randomly initialised model (seeded) of cfg.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps := nn.NewParams(seed)
	r := ps.Root()
	m := &Model{Cfg: cfg, Params: ps}
	m.ImageEncoder = sam.NewImageEncoder(r.Sub("image_encoder"), cfg.SAM.Encoder)
	m.PromptEncoder = sam.NewPromptEncoder(r.Sub("prompt_encoder"), cfg.SAM.Prompt)
	m.MaskDecoder = sam.NewMaskDecoder(r.Sub("mask_decoder"), cfg.SAM.Decoder)
	ap, err := NewAutoPrompt(r.Sub("auto_prompt"), cfg.AutoPrompt)
	if err != nil {
		return nil, err
	}
	m.AutoPrompt = ap
	// SAM's image encoder and prompt encoder are frozen in AI-SAM (LoRA aside).
	ps.Freeze("image_encoder.", "prompt_encoder.")
	return m, nil
}

// NumClasses returns C (background included).
func (m *Model) NumClasses() int { return m.Cfg.AutoPrompt.NumClasses }

// ClassIndex returns the index of a class name, or -1.
func (m *Model) ClassIndex(name string) int {
	for i, n := range m.Cfg.Classes {
		if n == name {
			return i
		}
	}
	return -1
}

// DensePE returns SAM's dense positional encoding [1, D, h, w] (cached; the Fourier
// matrix is a frozen buffer, so call ResetCaches after loading new weights).
func (m *Model) DensePE() *tensor.Tensor {
	if m.densePE == nil {
		m.densePE = m.PromptEncoder.DensePE()
	}
	return m.densePE
}

// ResetCaches drops values derived from the weights.
func (m *Model) ResetCaches() { m.densePE = nil }

// labelEmbeddings returns SAM's positive and negative point-label embeddings [1, D].
func (m *Model) labelEmbeddings() (pos, neg *tensor.Tensor) {
	return m.PromptEncoder.PointEmbeddings[1].Weight, m.PromptEncoder.PointEmbeddings[0].Weight
}

// densePrompt is no_mask_embed on the grid [1, D, h, w].
func (m *Model) densePrompt(tp *ag.Tape) *tensor.Tensor {
	d, s := m.Cfg.SAM.Prompt.EmbedDim, m.Cfg.SAM.Prompt.ImageEmbeddingSize
	return tp.Add(tp.Reshape(m.PromptEncoder.NoMaskEmbed.Weight, 1, d, 1, 1), tensor.New(1, d, s, s))
}

// PromptPoint is a point prompt in encoder-input pixels (the 1024 frame).
type PromptPoint struct {
	X, Y  float64
	Label int // 1 positive, 0 negative
}

// embedPoints is SAM's point encoding without padding: PE((x+0.5)/S, (y+0.5)/S) plus the
// label's embedding; [1, n, D].
func (m *Model) embedPoints(tp *ag.Tape, pts []PromptPoint) *tensor.Tensor {
	n, d := len(pts), m.Cfg.SAM.Prompt.EmbedDim
	s := float32(m.Cfg.SAM.Prompt.InputImageSize)
	coords := tensor.New(1, n, 2)
	for i, p := range pts {
		coords.Data[2*i] = (float32(p.X) + 0.5) / s
		coords.Data[2*i+1] = (float32(p.Y) + 0.5) / s
	}
	pe := m.PromptEncoder.EncodeCoords(nil, coords)
	lab := tensor.New(1, n, d)
	for i, p := range pts {
		copy(lab.Data[i*d:(i+1)*d], m.PromptEncoder.PointEmbeddings[p.Label].Weight.Data)
	}
	return tp.Add(pe, lab)
}

// embedBox is SAM's box-corner encoding [1, 2, D] of x0 y0 x1 y1 in encoder pixels.
func (m *Model) embedBox(box [4]float64) *tensor.Tensor {
	d := m.Cfg.SAM.Prompt.EmbedDim
	s := float32(m.Cfg.SAM.Prompt.InputImageSize)
	coords := tensor.New(1, 2, 2)
	for i, v := range box {
		coords.Data[i] = (float32(v) + 0.5) / s
	}
	pe := m.PromptEncoder.EncodeCoords(nil, coords)
	for i := 0; i < 2; i++ {
		w := m.PromptEncoder.PointEmbeddings[2+i].Weight.Data
		for j := 0; j < d; j++ {
			pe.Data[i*d+j] += w[j]
		}
	}
	return pe
}

// ClassPoints is the official user-point layout: points[c] are class c's clicks (in
// encoder pixels); a point with x+y <= 0 is empty and dropped, as the official code does.
// For class i's decoder pass its own points are positive and every other class's
// negative, own first, then the others in ascending class order.
func ClassPoints(points [][][2]float64, i int) []PromptPoint {
	var out []PromptPoint
	add := func(c, label int) {
		for _, p := range points[c] {
			if p[0]+p[1] > 0 {
				out = append(out, PromptPoint{X: p[0], Y: p[1], Label: label})
			}
		}
	}
	add(i, 1)
	for j := range points {
		if j != i {
			add(j, 0)
		}
	}
	return out
}

// ForwardOutput is what Model.Forward returns.
type ForwardOutput struct {
	Masks       *tensor.Tensor   // [1, C, 4h, 4w] low-resolution C-way logits (-inf outside boxes)
	ClassLogits *tensor.Tensor   // [1, C, 1] or nil
	Sparse      []*tensor.Tensor // per class, the sparse prompt fed to the decoder
	IoU         *tensor.Tensor   // [1, C] the decoder's IoU estimate for each class's mask
	Prompt      *Output
	Embedding   *tensor.Tensor
}

// Forward is AISAM.forward(image, bbox_masks, points, low_res=True) for one image
// [1, 3, S, S] already preprocessed. boxMasks [1, C, H, W] (1 inside class c's box; any
// H, W) or nil; points as in ClassPoints or nil. Every class is decoded in one batch
// when the classes' prompts have the same length.
func (m *Model) Forward(tp *ag.Tape, image, boxMasks *tensor.Tensor, points [][][2]float64, mode PointMode, rng *rand.Rand) *ForwardOutput {
	emb := m.ImageEncoder.Forward(tp, image)
	return m.ForwardEmbedding(tp, emb, boxMasks, points, mode, rng)
}

// ForwardEmbedding is Forward from a precomputed image embedding [1, D, h, w].
func (m *Model) ForwardEmbedding(tp *ag.Tape, emb, boxMasks *tensor.Tensor, points [][][2]float64, mode PointMode, rng *rand.Rand) *ForwardOutput {
	c := m.NumClasses()
	h, w := emb.Dim(2), emb.Dim(3)
	pe := m.DensePE()
	pos, neg := m.labelEmbeddings()
	var keep *tensor.Tensor
	if boxMasks != nil {
		keep = tensor.ResizeNearest(boxMasks, h, w, true).Reshape(1, c, h*w)
	}
	// The AutoPrompt sees a detached embedding: only its own parameters train.
	out := &ForwardOutput{Embedding: emb}
	out.Prompt = m.AutoPrompt.Forward(tp, tensor.FromSlice(emb.Data, emb.Shape()...), pe, pos, neg, keep, mode, rng)
	out.ClassLogits = out.Prompt.ClassLogits
	out.Sparse = make([]*tensor.Tensor, c)
	for i := 0; i < c; i++ {
		out.Sparse[i] = out.Prompt.Prompts[i]
		if points != nil {
			if up := ClassPoints(points, i); len(up) > 0 {
				out.Sparse[i] = tp.Concat(1, out.Sparse[i], m.embedPoints(tp, up))
			}
		}
	}
	masks, iou := m.decode(tp, emb, out.Sparse)
	if boxMasks != nil {
		masks = gateMasks(tp, masks, boxMasks)
	}
	out.Masks, out.IoU = masks, iou
	return out
}

// decode runs the mask decoder (single-mask output) for each class's sparse prompt
// [1, N_i, D], batching classes whose prompts have equal length; it returns masks
// [1, K, 4h, 4w] and IoU [1, K] in the order of sparse.
func (m *Model) decode(tp *ag.Tape, emb *tensor.Tensor, sparse []*tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	return m.decodeOpt(tp, emb, sparse, true)
}

// decodeMasks is decode without a tape and without the IoU estimates (nil), which lets
// the decoder skip the work only they and the unused mask tokens need.
func (m *Model) decodeMasks(emb *tensor.Tensor, sparse []*tensor.Tensor) *tensor.Tensor {
	masks, _ := m.decodeOpt(nil, emb, sparse, false)
	return masks
}

func (m *Model) decodeOpt(tp *ag.Tape, emb *tensor.Tensor, sparse []*tensor.Tensor, withIoU bool) (*tensor.Tensor, *tensor.Tensor) {
	pe := m.DensePE()
	dense := m.densePrompt(tp)
	k := len(sparse)
	masks := make([]*tensor.Tensor, k)
	ious := make([]*tensor.Tensor, k)
	done := make([]bool, k)
	for i := 0; i < k; i++ {
		if done[i] {
			continue
		}
		group := []int{i}
		for j := i + 1; j < k; j++ {
			if !done[j] && sparse[j].Dim(1) == sparse[i].Dim(1) {
				group = append(group, j)
			}
		}
		parts := make([]*tensor.Tensor, len(group))
		for g, j := range group {
			parts[g] = sparse[j]
			done[j] = true
		}
		sp := parts[0]
		if len(parts) > 1 {
			sp = tp.Concat(0, parts...)
		}
		if !withIoU && tp == nil {
			ms := m.MaskDecoder.SingleMask(emb, pe, sp, dense) // [G,1,H,W]
			for g, j := range group {
				masks[j] = tensor.Slice(ms, 0, g, g+1)
			}
			continue
		}
		ms, io := m.MaskDecoder.Forward(tp, emb, pe, sp, dense, false) // [G,1,H,W], [G,1]
		for g, j := range group {
			masks[j] = tp.Slice(ms, 0, g, g+1)
			ious[j] = tp.Slice(io, 0, g, g+1)
		}
	}
	mh, mw := masks[0].Dim(2), masks[0].Dim(3)
	all := masks[0]
	if k > 1 {
		all = tp.Concat(1, masks...)
	}
	if ious[0] == nil {
		return tp.Reshape(all, 1, k, mh, mw), nil
	}
	iou := ious[0]
	if k > 1 {
		iou = tp.Concat(1, ious...)
	}
	return tp.Reshape(all, 1, k, mh, mw), tp.Reshape(iou, 1, k)
}

// gateMasks sets the logits outside each class's box to -inf (AI-SAM's box gating); the
// boxes [1, C, H, W] are resized to the masks' grid by nearest-exact.
func gateMasks(tp *ag.Tape, masks, boxMasks *tensor.Tensor) *tensor.Tensor {
	mh, mw := masks.Dim(2), masks.Dim(3)
	keep := tensor.ResizeNearest(boxMasks, mh, mw, true)
	bin := tensor.New(keep.Shape()...)
	for i, v := range keep.Data {
		if v >= 0.5 {
			bin.Data[i] = 1
		}
	}
	return tp.MaskedFill(masks, bin, float32(math.Inf(-1)))
}
