package sam

import (
	"fmt"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// decoderLNEps is torch.nn.LayerNorm's default, used throughout the two-way transformer.
const decoderLNEps = 1e-5

// TwoWayBlock is one TwoWayAttentionBlock.
type TwoWayBlock struct {
	SelfAttn          *nn.Attention // self_attn
	Norm1, Norm2      *nn.LayerNorm
	Norm3, Norm4      *nn.LayerNorm
	CrossTokenToImage *nn.Attention // cross_attn_token_to_image
	CrossImageToToken *nn.Attention // cross_attn_image_to_token
	Lin1, Lin2        *nn.Linear    // mlp.lin1, mlp.lin2 (ReLU between)
	SkipFirstLayerPE  bool
}

// TwoWayTransformer is the decoder's transformer.
type TwoWayTransformer struct {
	Layers                []*TwoWayBlock
	FinalAttnTokenToImage *nn.Attention
	NormFinalAttn         *nn.LayerNorm
}

// MaskDecoder is the official MaskDecoder.
type MaskDecoder struct {
	Config       DecoderConfig
	Transformer  *TwoWayTransformer
	IoUToken     *nn.Embedding // iou_token [1, C]
	MaskTokens   *nn.Embedding // mask_tokens [M+1, C]
	Upscale0     *nn.ConvTranspose2d
	Upscale1     *nn.LayerNorm2d
	Upscale3     *nn.ConvTranspose2d
	Hypernets    []*nn.MLP // output_hypernetworks_mlps.i
	IoUHead      *nn.MLP   // iou_prediction_head
	numMaskToken int
	peCache      nhwcCache
	embCache     nhwcCache
	l0Cache      layer0Cache
	upCache      upWeightsCache
}

// NewMaskDecoder builds the decoder's parameters in s (normally "mask_decoder").
func NewMaskDecoder(s nn.Scope, c DecoderConfig) *MaskDecoder {
	d := &MaskDecoder{Config: c, numMaskToken: c.NumMultimaskOutputs + 1}
	dim := c.TransformerDim
	ts := s.Sub("transformer")
	t := &TwoWayTransformer{}
	for i := range c.Depth {
		ls := ts.Sub("layers").Index(i)
		l := &TwoWayBlock{SkipFirstLayerPE: i == 0}
		l.SelfAttn = nn.NewAttention(ls.Sub("self_attn"), dim, c.Heads, 1)
		l.Norm1 = nn.NewLayerNorm(ls.Sub("norm1"), dim, decoderLNEps)
		l.CrossTokenToImage = nn.NewAttention(ls.Sub("cross_attn_token_to_image"), dim, c.Heads, c.AttnDownsample)
		l.Norm2 = nn.NewLayerNorm(ls.Sub("norm2"), dim, decoderLNEps)
		l.Lin1 = nn.NewLinear(ls.Sub("mlp").Sub("lin1"), dim, c.MLPDim, true)
		l.Lin2 = nn.NewLinear(ls.Sub("mlp").Sub("lin2"), c.MLPDim, dim, true)
		l.Norm3 = nn.NewLayerNorm(ls.Sub("norm3"), dim, decoderLNEps)
		l.Norm4 = nn.NewLayerNorm(ls.Sub("norm4"), dim, decoderLNEps)
		l.CrossImageToToken = nn.NewAttention(ls.Sub("cross_attn_image_to_token"), dim, c.Heads, c.AttnDownsample)
		t.Layers = append(t.Layers, l)
	}
	t.FinalAttnTokenToImage = nn.NewAttention(ts.Sub("final_attn_token_to_image"), dim, c.Heads, c.AttnDownsample)
	t.NormFinalAttn = nn.NewLayerNorm(ts.Sub("norm_final_attn"), dim, decoderLNEps)
	d.Transformer = t
	d.IoUToken = nn.NewEmbedding(s.Sub("iou_token"), 1, dim)
	d.MaskTokens = nn.NewEmbedding(s.Sub("mask_tokens"), d.numMaskToken, dim)
	us := s.Sub("output_upscaling")
	d.Upscale0 = nn.NewConvTranspose2d(us.Index(0), dim, dim/4, 2, true)
	d.Upscale1 = nn.NewLayerNorm2d(us.Index(1), dim/4, 1e-6)
	d.Upscale3 = nn.NewConvTranspose2d(us.Index(3), dim/4, dim/8, 2, true)
	for i := range d.numMaskToken {
		d.Hypernets = append(d.Hypernets, nn.NewMLP(s.Sub("output_hypernetworks_mlps").Index(i), dim, dim, dim/8, 3, nn.ReLU))
	}
	d.IoUHead = nn.NewMLP(s.Sub("iou_prediction_head"), dim, c.IoUHeadHidden, d.numMaskToken, c.IoUHeadDepth, nn.ReLU)
	return d
}

// Forward runs one block: queries [B, Nq, C], keys [B, Nk, C] with their positional encodings.
func (l *TwoWayBlock) Forward(tp *ag.Tape, queries, keys, queryPE, keyPE *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	if l.SkipFirstLayerPE {
		queries = l.SelfAttn.Forward(tp, queries, queries, queries)
	} else {
		q := tp.Add(queries, queryPE)
		queries = tp.Add(queries, l.SelfAttn.Forward(tp, q, q, queries))
	}
	queries = l.Norm1.Forward(tp, queries)
	q := tp.Add(queries, queryPE)
	k := tp.Add(keys, keyPE)
	queries = tp.Add(queries, l.CrossTokenToImage.Forward(tp, q, k, keys))
	queries = l.Norm2.Forward(tp, queries)
	mlp := l.Lin2.Forward(tp, tp.ReLU(l.Lin1.Forward(tp, queries)))
	queries = l.Norm3.Forward(tp, tp.Add(queries, mlp))
	q = tp.Add(queries, queryPE)
	k = tp.Add(keys, keyPE)
	keys = tp.Add(keys, l.CrossImageToToken.Forward(tp, k, q, queries))
	keys = l.Norm4.Forward(tp, keys)
	return queries, keys
}

// Forward runs the transformer on the image [B, C, h, w] with its PE [B, C, h, w] and the
// tokens [B, N, C]; it returns the tokens [B, N, C] and the image keys [B, h*w, C].
func (t *TwoWayTransformer) Forward(tp *ag.Tape, image, imagePE, tokens *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	b, c, h, w := image.Dim(0), image.Dim(1), image.Dim(2), image.Dim(3)
	keys := tp.Permute(tp.Reshape(image, b, c, h*w), 0, 2, 1)
	keyPE := tp.Permute(tp.Reshape(imagePE, imagePE.Dim(0), c, h*w), 0, 2, 1)
	queries := tokens
	for _, l := range t.Layers {
		queries, keys = l.Forward(tp, queries, keys, tokens, keyPE)
	}
	q := tp.Add(queries, tokens)
	k := tp.Add(keys, keyPE)
	queries = tp.Add(queries, t.FinalAttnTokenToImage.Forward(tp, q, k, keys))
	return t.NormFinalAttn.Forward(tp, queries), keys
}

// DecoderOutputs holds the intermediate results of a decoder run (for parity checks).
type DecoderOutputs struct {
	Queries, Keys *tensor.Tensor // transformer outputs (hs [B, 1+M+N, C], src [B, h*w, C])
	Masks, IoU    *tensor.Tensor // all M+1 outputs: [B, M+1, 4h, 4w], [B, M+1]
}

// Forward predicts masks from the image embedding [1 or B, C, h, w] (one embedding is
// shared by B prompts, as the official repeat_interleave), its PE [1, C, h, w], sparse
// [B, N, C] and dense [B or 1, C, h, w] prompt embeddings. With multimask it returns the
// three multimask outputs, else the single-mask output: masks [B, M, 4h, 4w], iou [B, M].
func (d *MaskDecoder) Forward(tp *ag.Tape, imageEmb, imagePE, sparse, dense *tensor.Tensor, multimask bool) (masks, iou *tensor.Tensor) {
	var o DecoderOutputs
	if tp == nil {
		d.checkInputs(imageEmb, imagePE, sparse, dense)
		o = d.forwardFast(imageEmb, imagePE, sparse, dense, false)
	} else {
		o = d.ForwardAll(tp, imageEmb, imagePE, sparse, dense)
	}
	masks, iou = o.Masks, o.IoU
	if multimask {
		return tp.Slice(masks, 1, 1, d.numMaskToken), tp.Slice(iou, 1, 1, d.numMaskToken)
	}
	return tp.Slice(masks, 1, 0, 1), tp.Slice(iou, 1, 0, 1)
}

func (d *MaskDecoder) checkInputs(imageEmb, imagePE, sparse, dense *tensor.Tensor) {
	b, dim := sparse.Dim(0), d.Config.TransformerDim
	if imageEmb.Rank() != 4 || imageEmb.Dim(1) != dim || (imageEmb.Dim(0) != 1 && imageEmb.Dim(0) != b) {
		panic(fmt.Sprintf("sam.MaskDecoder: image embedding %v for %d prompts of width %d", imageEmb.Shape(), b, dim))
	}
	h, w := imageEmb.Dim(2), imageEmb.Dim(3)
	if !tensor.EqualShape(imagePE.Shape(), []int{1, dim, h, w}) || sparse.Rank() != 3 || sparse.Dim(2) != dim ||
		dense.Rank() != 4 || (dense.Dim(0) != 1 && dense.Dim(0) != b) || dense.Dim(1) != dim || dense.Dim(2) != h || dense.Dim(3) != w {
		panic(fmt.Sprintf("sam.MaskDecoder: image PE %v, sparse %v, dense %v for embedding %v", imagePE.Shape(), sparse.Shape(), dense.Shape(), imageEmb.Shape()))
	}
}

// ForwardAll is Forward returning every mask token's output and the transformer outputs.
func (d *MaskDecoder) ForwardAll(tp *ag.Tape, imageEmb, imagePE, sparse, dense *tensor.Tensor) DecoderOutputs {
	d.checkInputs(imageEmb, imagePE, sparse, dense)
	b, dim := sparse.Dim(0), d.Config.TransformerDim
	h, w := imageEmb.Dim(2), imageEmb.Dim(3)
	if tp == nil {
		return d.forwardFast(imageEmb, imagePE, sparse, dense, true)
	}
	out := tp.Concat(0, d.IoUToken.Weight, d.MaskTokens.Weight) // 1+M, C
	nOut := out.Dim(0)
	out = tp.Add(tp.Reshape(out, 1, nOut, dim), tensor.New(b, nOut, dim)) // expand to B
	tokens := out
	if sparse.Dim(1) > 0 {
		tokens = tp.Concat(1, out, sparse)
	}
	src := imageEmb
	if src.Dim(0) != b {
		src = tp.Add(src, tensor.New(b, dim, h, w)) // repeat_interleave of one embedding
	}
	src = tp.Add(src, dense)
	pe := imagePE
	hs, keys := d.Transformer.Forward(tp, src, pe, tokens)
	iouOut := tp.Reshape(tp.Slice(hs, 1, 0, 1), b, dim)
	maskOut := tp.Slice(hs, 1, 1, 1+d.numMaskToken) // B M C
	img := tp.Reshape(tp.Permute(keys, 0, 2, 1), b, dim, h, w)
	up := d.Upscale0.Forward(tp, img)
	up = tp.GELU(d.Upscale1.Forward(tp, up))
	up = tp.GELU(d.Upscale3.Forward(tp, up)) // B C/8 4h 4w
	hyper := make([]*tensor.Tensor, d.numMaskToken)
	for i, m := range d.Hypernets {
		hyper[i] = m.Forward(tp, tp.Reshape(tp.Slice(maskOut, 1, i, i+1), b, dim))
	}
	hyperIn := tp.Stack(1, hyper...) // B M C/8
	uc, uh, uw := up.Dim(1), up.Dim(2), up.Dim(3)
	masks := tp.MatMul(hyperIn, tp.Reshape(up, b, uc, uh*uw), false, false)
	masks = tp.Reshape(masks, b, d.numMaskToken, uh, uw)
	iou := d.IoUHead.Forward(tp, iouOut)
	return DecoderOutputs{Queries: hs, Keys: keys, Masks: masks, IoU: iou}
}
