package aisam

import (
	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// twoWayBlock is AI-SAM's ModifiedTwoWayAttentionBlock: SAM's two-way block with a
// convolutional MLP on the image keys between the token MLP and the image->token attention.
type twoWayBlock struct {
	SelfAttn          *nn.Attention
	Norm1             *nn.LayerNorm
	CrossTokenToImage *nn.Attention
	Norm2             *nn.LayerNorm
	MLP               *mlpBlock
	ConvMLP           *convMLP
	Norm3, Norm4      *nn.LayerNorm
	CrossImageToToken *nn.Attention
	Norm5             *nn.LayerNorm
	SkipFirstLayerPE  bool
}

func newTwoWayBlock(s nn.Scope, dim, heads, mlpDim, down int, skipPE bool) *twoWayBlock {
	return &twoWayBlock{
		SelfAttn:          nn.NewAttention(s.Sub("self_attn"), dim, heads, 1),
		Norm1:             nn.NewLayerNorm(s.Sub("norm1"), dim, 1e-5),
		CrossTokenToImage: nn.NewAttention(s.Sub("cross_attn_token_to_image"), dim, heads, down),
		Norm2:             nn.NewLayerNorm(s.Sub("norm2"), dim, 1e-5),
		MLP:               newMLPBlock(s.Sub("mlp"), dim, mlpDim, nn.ReLU),
		ConvMLP:           newConvMLP(s.Sub("conv_mlp"), dim),
		Norm3:             nn.NewLayerNorm(s.Sub("norm3"), dim, 1e-5),
		Norm4:             nn.NewLayerNorm(s.Sub("norm4"), dim, 1e-5),
		CrossImageToToken: nn.NewAttention(s.Sub("cross_attn_image_to_token"), dim, heads, down),
		Norm5:             nn.NewLayerNorm(s.Sub("norm5"), dim, 1e-5),
		SkipFirstLayerPE:  skipPE,
	}
}

// forward runs the block. queries [Bq, N, C]; keys [Bk, h*w, C] where Bk is 1 or Bq;
// queryPE are the initial tokens and keyPE the original image embedding (AI-SAM uses them
// in place of SAM's positional encodings).
func (b *twoWayBlock) forward(tp *ag.Tape, queries, keys, queryPE, keyPE *tensor.Tensor, h, w int) (*tensor.Tensor, *tensor.Tensor) {
	if b.SkipFirstLayerPE {
		queries = attend(tp, b.SelfAttn, queries, queries, queries)
	} else {
		q := tp.Add(queries, queryPE)
		queries = tp.Add(queries, attend(tp, b.SelfAttn, q, q, queries))
	}
	queries = b.Norm1.Forward(tp, queries)

	q := tp.Add(queries, queryPE)
	k := tp.Add(keys, keyPE)
	queries = b.Norm2.Forward(tp, tp.Add(queries, attend(tp, b.CrossTokenToImage, q, k, keys)))

	queries = b.Norm3.Forward(tp, tp.Add(queries, b.MLP.Forward(tp, queries)))

	m := tokensToMap(tp, keys, h, w)
	m = tp.Add(m, b.ConvMLP.Forward(tp, m))
	keys = b.Norm4.Forward(tp, mapToTokens(tp, m))

	q = tp.Add(queries, queryPE)
	k = tp.Add(keys, keyPE)
	keys = b.Norm5.Forward(tp, tp.Add(keys, attend(tp, b.CrossImageToToken, k, q, queries)))
	return queries, keys
}

// TwoWayTransformer is AI-SAM's ModifiedTwoWayTransformer (the AutoPrompt encoder).
type TwoWayTransformer struct {
	Layers                []*twoWayBlock
	FinalAttnTokenToImage *nn.Attention
	NormFinalAttn         *nn.LayerNorm
}

func newTwoWayTransformer(s nn.Scope, depth, dim, heads, mlpDim, down int) *TwoWayTransformer {
	t := &TwoWayTransformer{}
	for i := 0; i < depth; i++ {
		t.Layers = append(t.Layers, newTwoWayBlock(s.Sub("layers").Index(i), dim, heads, mlpDim, down, i == 0))
	}
	t.FinalAttnTokenToImage = nn.NewAttention(s.Sub("final_attn_token_to_image"), dim, heads, down)
	t.NormFinalAttn = nn.NewLayerNorm(s.Sub("norm_final_attn"), dim, 1e-5)
	return t
}

// Forward runs the tokens [Bq, N, C] against the image [Bk, C, h, w] (Bk is 1 or Bq) and
// returns the tokens and the image features [max(Bq,Bk), h*w, C]. The dense positional
// encoding is not an input: the AI-SAM code ignores it here.
func (t *TwoWayTransformer) Forward(tp *ag.Tape, image, tokens *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	h, w := image.Dim(2), image.Dim(3)
	emb := mapToTokens(tp, image)
	queries, keys := tokens, emb
	for _, l := range t.Layers {
		queries, keys = l.forward(tp, queries, keys, tokens, emb, h, w)
	}
	q := tp.Add(queries, tokens)
	k := tp.Add(keys, emb)
	queries = t.NormFinalAttn.Forward(tp, tp.Add(queries, attend(tp, t.FinalAttnTokenToImage, q, k, keys)))
	return queries, keys
}

// classifierBlock is AI-SAM's ModifiedAttentionBlock: token->image attention, token MLP,
// and a convolutional MLP on the keys followed by 3x3/2 average pooling, which halves
// the key grid at every layer (64 -> 32 -> 16 -> 8 -> 4).
type classifierBlock struct {
	CrossTokenToImage *nn.Attention
	Norm1             *nn.LayerNorm
	MLP               *mlpBlock
	ConvMLP           *convMLP
	Norm2, Norm3      *nn.LayerNorm
}

func newClassifierBlock(s nn.Scope, dim, heads, mlpDim, down int) *classifierBlock {
	return &classifierBlock{
		CrossTokenToImage: nn.NewAttention(s.Sub("cross_attn_token_to_image"), dim, heads, down),
		Norm1:             nn.NewLayerNorm(s.Sub("norm1"), dim, 1e-5),
		MLP:               newMLPBlock(s.Sub("mlp"), dim, mlpDim, nn.ReLU),
		ConvMLP:           newConvMLP(s.Sub("conv_mlp"), dim),
		Norm2:             nn.NewLayerNorm(s.Sub("norm2"), dim, 1e-5),
		Norm3:             nn.NewLayerNorm(s.Sub("norm3"), dim, 1e-5),
	}
}

func (b *classifierBlock) forward(tp *ag.Tape, queries, keys *tensor.Tensor, h, w int) (*tensor.Tensor, *tensor.Tensor, int, int) {
	queries = b.Norm1.Forward(tp, tp.Add(queries, attend(tp, b.CrossTokenToImage, queries, keys, keys)))
	queries = b.Norm2.Forward(tp, tp.Add(queries, b.MLP.Forward(tp, queries)))
	m := tokensToMap(tp, keys, h, w)
	m = tp.Add(m, b.ConvMLP.Forward(tp, m))
	m = tp.AvgPool2d(m, 3, 2, 1)
	keys = b.Norm3.Forward(tp, mapToTokens(tp, m))
	return queries, keys, m.Dim(2), m.Dim(3)
}

// Classifier is AI-SAM's ModifiedTransformer: class tokens attend to a shrinking image
// pyramid; no positional encodings are used.
type Classifier struct {
	Layers                []*classifierBlock
	FinalAttnTokenToImage *nn.Attention
	NormFinalAttn         *nn.LayerNorm
}

func newClassifier(s nn.Scope, depth, dim, heads, mlpDim, down int) *Classifier {
	c := &Classifier{}
	for i := 0; i < depth; i++ {
		c.Layers = append(c.Layers, newClassifierBlock(s.Sub("layers").Index(i), dim, heads, mlpDim, down))
	}
	c.FinalAttnTokenToImage = nn.NewAttention(s.Sub("final_attn_token_to_image"), dim, heads, down)
	c.NormFinalAttn = nn.NewLayerNorm(s.Sub("norm_final_attn"), dim, 1e-5)
	return c
}

// Forward returns the class tokens [B, N, C] after attending to image [B, C, h, w].
func (c *Classifier) Forward(tp *ag.Tape, image, tokens *tensor.Tensor) *tensor.Tensor {
	h, w := image.Dim(2), image.Dim(3)
	keys := mapToTokens(tp, image)
	queries := tokens
	for _, l := range c.Layers {
		queries, keys, h, w = l.forward(tp, queries, keys, h, w)
	}
	return c.NormFinalAttn.Forward(tp, tp.Add(queries, attend(tp, c.FinalAttnTokenToImage, queries, keys, keys)))
}
