package aisam

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// AutoPromptConfig sizes the AI-Prompter. The paper's defaults are 16 class tokens and 4
// points per class at transformer width 256.
type AutoPromptConfig struct {
	NumClasses     int  `json:"num_classes"`      // C, background included
	NumClassTokens int  `json:"num_class_tokens"` // T
	NumPoints      int  `json:"num_points"`       // P
	Dim            int  `json:"dim"`              // transformer width (SAM's 256)
	EncoderDim     int  `json:"encoder_dim"`      // ViT width; only sizes the dead image_proj
	Classifier     bool `json:"classifier"`       // use_classification_head
}

// Validate reports a configuration the model cannot be built from.
func (c AutoPromptConfig) Validate() error {
	switch {
	case c.NumClasses < 1 || c.NumClasses > 255:
		return fmt.Errorf("aisam: num_classes %d outside [1, 255]", c.NumClasses)
	case c.NumClassTokens < 1:
		return fmt.Errorf("aisam: num_class_tokens %d < 1", c.NumClassTokens)
	case c.NumPoints < 1:
		return fmt.Errorf("aisam: num_points %d < 1", c.NumPoints)
	case c.Dim < 16 || c.Dim%16 != 0:
		return fmt.Errorf("aisam: transformer dim %d must be a positive multiple of 16", c.Dim)
	case c.EncoderDim < 1:
		return fmt.Errorf("aisam: encoder dim %d < 1", c.EncoderDim)
	}
	return nil
}

// deadParams are AutoPrompt modules that the official code creates and saves but never
// runs (a layer-selection experiment); they are kept so checkpoints load and save 1:1.
type deadParams struct {
	ImageProj0, ImageProj2 *nn.Conv2d
	ImageProj1, ImageProj3 *nn.LayerNorm2d
	LayerSelecter          *nn.Attention
	SelecterNorm           *nn.LayerNorm
	ImageNorm              *nn.LayerNorm
	LayerEmb               *tensor.Tensor
}

// AutoPrompt is AI-SAM's AI-Prompter: per class, learned point and class tokens attend
// to the image embedding; each point token becomes a heatmap over the 64x64 grid, whose
// softmax mixes SAM's dense positional codes into a "generalized point".
type AutoPrompt struct {
	Cfg                AutoPromptConfig
	ClassEmb           *tensor.Tensor // [C, T, D]
	PromptEmb          *tensor.Tensor // [P, D]
	ClassifierClassEmb *tensor.Tensor // [C, D]
	Encoder            *TwoWayTransformer
	Classifier         *Classifier // nil without the classification head
	ClassifierHead     *nn.Linear
	PointMLPs          []*nn.MLP
	PointNorm          *nn.LayerNorm
	dead               deadParams
}

func randn(s nn.Scope, t *tensor.Tensor, std float64) {
	r := s.Rand()
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64() * std)
	}
}

// NewAutoPrompt creates the AutoPrompt's parameters under s (the "auto_prompt" scope in
// an AI-SAM state_dict), randomly initialised as PyTorch would.
func NewAutoPrompt(s nn.Scope, c AutoPromptConfig) (*AutoPrompt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	d := c.Dim
	scale := 1 / math.Sqrt(float64(d))
	a := &AutoPrompt{Cfg: c}
	a.ClassEmb = s.Param("class_emb", c.NumClasses, c.NumClassTokens, d)
	randn(s, a.ClassEmb, scale)
	a.PromptEmb = s.Param("prompt_emb", c.NumPoints, d)
	randn(s, a.PromptEmb, scale)
	a.dead.LayerEmb = s.Param("layer_emb", 1, 1, d)
	randn(s, a.dead.LayerEmb, scale)
	a.ClassifierClassEmb = s.Param("classifier_class_emb", c.NumClasses, d)
	randn(s, a.ClassifierClassEmb, scale)
	a.Encoder = newTwoWayTransformer(s.Sub("auto_prompt_encoder"), 4, d, 8, 512, 2)
	a.dead.ImageProj0 = nn.NewConv2d(s.Sub("image_proj").Index(0), c.EncoderDim, d, 1, 1, 0, false)
	a.dead.ImageProj1 = nn.NewLayerNorm2d(s.Sub("image_proj").Index(1), d, 1e-6)
	a.dead.ImageProj2 = nn.NewConv2d(s.Sub("image_proj").Index(2), d, d, 3, 1, 1, false)
	a.dead.ImageProj3 = nn.NewLayerNorm2d(s.Sub("image_proj").Index(3), d, 1e-6)
	a.dead.LayerSelecter = nn.NewAttention(s.Sub("layer_selecter"), d, 2, 2)
	a.dead.SelecterNorm = nn.NewLayerNorm(s.Sub("selecter_norm"), d, 1e-5)
	a.dead.ImageNorm = nn.NewLayerNorm(s.Sub("image_norm"), d, 1e-5)
	if c.Classifier {
		a.Classifier = newClassifier(s.Sub("classifier"), 4, d, 8, 512, 2)
		a.ClassifierHead = nn.NewLinear(s.Sub("classifier_head"), d, 1, true)
	}
	for i := 0; i < c.NumPoints; i++ {
		a.PointMLPs = append(a.PointMLPs, nn.NewMLP(s.Sub("point_loc_project_mlps").Index(i), d, d, d, 3, nn.GELU))
	}
	a.PointNorm = nn.NewLayerNorm(s.Sub("point_loc_project_norm"), d, 1e-5)
	return a, nil
}

// PointMode selects how a heatmap becomes a point.
type PointMode int

const (
	// SoftPoints use the softmax of the heatmap (use_hard_points=False).
	SoftPoints PointMode = iota
	// GumbelPoints draw a straight-through hard Gumbel-softmax sample (use_hard_points=True):
	// one-hot forward, the soft gradient backward.
	GumbelPoints
	// ArgmaxPoints use a one-hot at each heatmap's maximum: the deterministic hard point,
	// and what the interactive session shows as the generated point.
	ArgmaxPoints
)

// Classify runs the classifier head: class-presence logits [B, C, 1] (sigmoid > 0.5 means
// present). It returns nil if the model has no classifier.
func (a *AutoPrompt) Classify(tp *ag.Tape, image *tensor.Tensor) *tensor.Tensor {
	if a.Classifier == nil {
		return nil
	}
	b := image.Dim(0)
	c, d := a.Cfg.NumClasses, a.Cfg.Dim
	tokens := tp.Reshape(a.ClassifierClassEmb, 1, c, d)
	if b > 1 {
		tokens = tp.IndexSelect(tokens, 0, make([]int, b))
	}
	out := a.Classifier.Forward(tp, image, tokens)
	return a.ClassifierHead.Forward(tp, out)
}

// classIndex returns [0..0, 1..1, ...]: each of n items repeated k times.
func repeatIndex(n, k int) []int {
	idx := make([]int, 0, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			idx = append(idx, i)
		}
	}
	return idx
}

// Encode runs the AutoPrompt transformer for the given classes (all when classes is nil)
// on image [B, D, h, w]: all classes go through as one batch. It returns the token
// outputs [B*K, P+T, D] and the image features [B*K, h*w, D], class-major within each
// image (row b*K+k is image b, class classes[k]).
func (a *AutoPrompt) Encode(tp *ag.Tape, image *tensor.Tensor, classes []int) (tokens, features *tensor.Tensor) {
	if tp == nil {
		tok, f := a.encodeFast(image, classes)
		return tok, tensor.Transpose(f, 1, 2)
	}
	in, img := a.encoderInputs(tp, image, classes)
	return a.Encoder.Forward(tp, img, in)
}

// encoderInputs builds the token batch [B*K, P+T, D] and the image batch it attends to
// (the image itself when B is 1, else each image repeated K times).
func (a *AutoPrompt) encoderInputs(tp *ag.Tape, image *tensor.Tensor, classes []int) (tokens, img *tensor.Tensor) {
	if classes == nil {
		classes = allClasses(a.Cfg.NumClasses)
	}
	b := image.Dim(0)
	k := len(classes)
	p, d := a.Cfg.NumPoints, a.Cfg.Dim
	cls := tp.IndexSelect(a.ClassEmb, 0, classes) // K T D
	prm := tp.Reshape(a.PromptEmb, 1, p, d)
	prm = tp.IndexSelect(prm, 0, make([]int, k)) // K P D
	in := tp.Concat(1, prm, cls)                 // K P+T D
	if b > 1 {
		idx := make([]int, 0, b*k)
		for i := 0; i < b; i++ {
			for j := 0; j < k; j++ {
				idx = append(idx, j)
			}
		}
		in = tp.IndexSelect(in, 0, idx)
		image = tp.IndexSelect(image, 0, repeatIndex(b, k))
	}
	return in, image
}

func allClasses(c int) []int {
	cs := make([]int, c)
	for i := range cs {
		cs[i] = i
	}
	return cs
}

// Heatmaps turns the encoder outputs into point logits [N, P, h*w] (N = rows of tokens):
// h_j = LN(MLP_j(t_j) + t_j), logits_j = h_j . F^T.
func (a *AutoPrompt) Heatmaps(tp *ag.Tape, tokens, features *tensor.Tensor) *tensor.Tensor {
	return tp.MatMul(a.pointFeatures(tp, tokens), features, false, true)
}

// pointFeatures is h_j = LN(MLP_j(t_j) + t_j) for the P point tokens: [N, P, D].
func (a *AutoPrompt) pointFeatures(tp *ag.Tape, tokens *tensor.Tensor) *tensor.Tensor {
	p := a.Cfg.NumPoints
	pt := tp.Slice(tokens, 1, 0, p) // N P D
	hs := make([]*tensor.Tensor, p)
	for j := 0; j < p; j++ {
		hs[j] = a.PointMLPs[j].Forward(tp, tp.Slice(pt, 1, j, j+1))
	}
	return a.PointNorm.Forward(tp, tp.Add(tp.Concat(1, hs...), pt))
}

// boxFill is the logit the official code writes outside a class's box before the softmax.
const boxFill = -999

// MaskLogits writes -999 into logits [B, K, P, hw] where keep [B, K, hw] is below 0.5; an
// empty box therefore gives a uniform heatmap, as in the official code.
func MaskLogits(tp *ag.Tape, logits, keep *tensor.Tensor) *tensor.Tensor {
	if keep == nil {
		return logits
	}
	m := tensor.New(keep.Shape()...)
	for i, v := range keep.Data {
		if v >= 0.5 {
			m.Data[i] = 1
		}
	}
	b, k, hw := keep.Dim(0), keep.Dim(1), keep.Dim(2)
	return tp.MaskedFill(logits, m.Reshape(b, k, 1, hw), boxFill)
}

// pointWeights turns logits [..., hw] into the weights that mix positional codes.
func pointWeights(tp *ag.Tape, logits *tensor.Tensor, mode PointMode, rng *rand.Rand) *tensor.Tensor {
	switch mode {
	case GumbelPoints:
		return gumbelHard(tp, logits, rng)
	case ArgmaxPoints:
		return oneHotArgmax(logits)
	}
	return tp.Softmax(logits, nil)
}

// oneHotArgmax returns a one-hot (no gradient) at each row's maximum.
func oneHotArgmax(logits *tensor.Tensor) *tensor.Tensor {
	n := logits.Dim(-1)
	idx := tensor.ArgMax(logits)
	out := tensor.New(logits.Shape()...)
	for r, i := range idx {
		out.Data[r*n+i] = 1
	}
	return out
}

// gumbelHard is torch's gumbel_softmax(tau=1, hard=True): the forward value is the one-hot
// of argmax(logits + g), g ~ Gumbel(0,1); the gradient is that of softmax(logits + g).
func gumbelHard(tp *ag.Tape, logits *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	noisy := logits.Clone()
	for i := range noisy.Data {
		e := rng.ExpFloat64()
		if e < 1e-300 {
			e = 1e-300
		}
		noisy.Data[i] += float32(-math.Log(e))
	}
	soft := tensor.Softmax(noisy, nil)
	out := oneHotArgmax(noisy)
	if tp.Recording(logits) {
		n := soft.Dim(-1)
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(soft.Shape()...)
			for r := 0; r < soft.Numel()/n; r++ {
				y := soft.Data[r*n : (r+1)*n]
				gr := g.Data[r*n : (r+1)*n]
				var dot float64
				for i, v := range y {
					dot += float64(v) * float64(gr[i])
				}
				for i, v := range y {
					dx.Data[r*n+i] = v * (gr[i] - float32(dot))
				}
			}
			tp.Accum(logits, dx)
		})
	}
	return out
}

// Points holds the AutoPrompt's per-class point outputs for B images and K classes.
type Points struct {
	Logits        *tensor.Tensor // [B, K, P, hw], after the box fill
	Attn          *tensor.Tensor // [B, K, P, hw], softmax of Logits (the soft heatmaps)
	Loc           *tensor.Tensor // [B, K, P, D], generalized points: weights . dense PE
	FeatureWithPE *tensor.Tensor // [B, K, P, D], weights . (dense PE + image embedding)
}

// Locate turns logits [B, K, P, hw] into heatmaps and generalized points. pe is SAM's
// dense positional encoding [1, D, h, w] and image the embedding [B, D, h, w].
func (a *AutoPrompt) Locate(tp *ag.Tape, logits, pe, image *tensor.Tensor, mode PointMode, rng *rand.Rand) *Points {
	b, k, p, hw := logits.Dim(0), logits.Dim(1), logits.Dim(2), logits.Dim(3)
	d := a.Cfg.Dim
	attn := tp.Softmax(logits, nil)
	w := attn
	if mode != SoftPoints {
		w = pointWeights(tp, logits, mode, rng)
	}
	peT := tensor.Transpose(pe.Reshape(d, hw), 0, 1) // hw D, the PE is frozen
	w3 := tp.Reshape(w, b, k*p, hw)
	sum := tp.Add(image, pe)                               // B D h w
	sumT := tp.Permute(tp.Reshape(sum, b, d, hw), 0, 2, 1) // B hw D
	fwp := tp.Reshape(tp.MatMul(w3, sumT, false, false), b, k, p, d)
	loc := tp.Reshape(tp.MatMul(tp.Reshape(w, b*k*p, hw), peT, false, false), b, k, p, d)
	return &Points{Logits: logits, Attn: attn, Loc: loc, FeatureWithPE: fwp}
}

// Prompts builds the sparse prompt of each class from the generalized points loc
// [B, C, P, D]: its own P points plus pos, then every other class's points plus neg, in
// ascending class order ([B, P*C, D] each). pos and neg are SAM's positive and negative
// point-label embeddings [1, D].
func Prompts(tp *ag.Tape, loc, pos, neg *tensor.Tensor) []*tensor.Tensor {
	c := loc.Dim(1)
	posL := tp.Add(loc, pos) // broadcasting [1, D]
	negL := tp.Add(loc, neg)
	own := make([]*tensor.Tensor, c)
	other := make([]*tensor.Tensor, c)
	b, p, d := loc.Dim(0), loc.Dim(2), loc.Dim(3)
	for i := 0; i < c; i++ {
		own[i] = tp.Reshape(tp.Slice(posL, 1, i, i+1), b, p, d)
		other[i] = tp.Reshape(tp.Slice(negL, 1, i, i+1), b, p, d)
	}
	out := make([]*tensor.Tensor, c)
	for i := 0; i < c; i++ {
		parts := []*tensor.Tensor{own[i]}
		for j := 0; j < c; j++ {
			if j != i {
				parts = append(parts, other[j])
			}
		}
		out[i] = tp.Concat(1, parts...)
	}
	return out
}

// Output is everything AutoPrompt.Forward computes, named as in the official code.
type Output struct {
	Prompts     []*tensor.Tensor // auto_prompt_list: per class [B, P*C, D]
	ClassLogits *tensor.Tensor   // class_features [B, C, 1], nil without classifier
	Points                       // heatmaps (final_attn_weight_list), generalized points
	Tokens      *tensor.Tensor   // encoder token outputs [B*C, P+T, D]
	Features    *tensor.Tensor   // encoder image features [B*C, hw, D] (feature_list)
}

// Forward is AutoPrompt.forward: image and pe as in Locate, pos/neg the label embeddings,
// boxKeep [B, C, hw] (1 inside the class's box, resized to the grid) or nil.
func (a *AutoPrompt) Forward(tp *ag.Tape, image, pe, pos, neg, boxKeep *tensor.Tensor, mode PointMode, rng *rand.Rand) *Output {
	b := image.Dim(0)
	c, p := a.Cfg.NumClasses, a.Cfg.NumPoints
	hw := image.Dim(2) * image.Dim(3)
	out := &Output{ClassLogits: a.Classify(tp, image)}
	out.Tokens, out.Features = a.Encode(tp, image, nil)
	logits := tp.Reshape(a.Heatmaps(tp, out.Tokens, out.Features), b, c, p, hw)
	logits = MaskLogits(tp, logits, boxKeep)
	out.Points = *a.Locate(tp, logits, pe, image, mode, rng)
	out.Prompts = Prompts(tp, out.Loc, pos, neg)
	return out
}
