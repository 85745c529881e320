package sam

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// encoderLNEps is the encoder's LayerNorm epsilon (partial(nn.LayerNorm, eps=1e-6)).
const encoderLNEps = 1e-6

// ImageEncoder is the official ImageEncoderViT.
type ImageEncoder struct {
	Config     EncoderConfig
	PatchEmbed *nn.Conv2d      // patch_embed.proj
	PosEmbed   *tensor.Tensor  // pos_embed [1, g, g, C] or nil
	Blocks     []*EncoderBlock // blocks.N
	Neck0      *nn.Conv2d      // neck.0: 1x1, no bias
	Neck1      *nn.LayerNorm2d // neck.1
	Neck2      *nn.Conv2d      // neck.2: 3x3 pad 1, no bias
	Neck3      *nn.LayerNorm2d // neck.3

	// Hook, if set, receives intermediate outputs ("patch_embed" before pos_embed, and
	// "block%02d", both NHWC) for parity tests and debugging; the inference path calls it
	// once per image ([1, h, w, C]) on a buffer it overwrites later: clone to keep.
	Hook func(name string, t *tensor.Tensor)

	bufMu sync.Mutex
	buf   *encBuffers // the inference path's activations, kept between calls
}

// EncoderBlock is one ViT block: x + attn(norm1(x)), then x + mlp(norm2(x)).
type EncoderBlock struct {
	Norm1, Norm2 *nn.LayerNorm
	Attn         *EncoderAttention
	Lin1, Lin2   *nn.Linear // mlp.lin1, mlp.lin2 (GELU between)
	// Window is the attention window side, 0 for a global block.
	Window int
}

// EncoderAttention is multi-head self-attention with decomposed relative positions.
type EncoderAttention struct {
	QKV, Proj        *nn.Linear
	Heads            int
	RelPosH, RelPosW *tensor.Tensor // [2*size-1, head_dim] or nil
	scale            float32
}

// NewImageEncoder builds the encoder's parameters in s (normally the "image_encoder" scope)
// with PyTorch's default initialisation.
func NewImageEncoder(s nn.Scope, c EncoderConfig) *ImageEncoder {
	e := &ImageEncoder{Config: c}
	e.PatchEmbed = nn.NewConv2d(s.Sub("patch_embed").Sub("proj"), c.InChans, c.EmbedDim, c.PatchSize, c.PatchSize, 0, true)
	if c.UseAbsPos {
		g := c.posEmbedSize()
		e.PosEmbed = s.Param("pos_embed", 1, g, g, c.EmbedDim)
	}
	hidden := int(float64(c.EmbedDim) * c.MLPRatio)
	grid := c.GridSize()
	for i := 0; i < c.Depth; i++ {
		bs := s.Sub("blocks").Index(i)
		b := &EncoderBlock{}
		b.Norm1 = nn.NewLayerNorm(bs.Sub("norm1"), c.EmbedDim, encoderLNEps)
		size := grid
		if !c.IsGlobal(i) {
			b.Window = c.WindowSize
			size = c.WindowSize
		}
		as := bs.Sub("attn")
		a := &EncoderAttention{Heads: c.Heads}
		a.QKV = nn.NewLinear(as.Sub("qkv"), c.EmbedDim, 3*c.EmbedDim, true)
		a.Proj = nn.NewLinear(as.Sub("proj"), c.EmbedDim, c.EmbedDim, true)
		hd := c.EmbedDim / c.Heads
		a.scale = float32(1 / math.Sqrt(float64(hd)))
		if c.UseRelPos {
			a.RelPosH = as.Param("rel_pos_h", 2*size-1, hd)
			a.RelPosW = as.Param("rel_pos_w", 2*size-1, hd)
		}
		b.Attn = a
		b.Norm2 = nn.NewLayerNorm(bs.Sub("norm2"), c.EmbedDim, encoderLNEps)
		b.Lin1 = nn.NewLinear(bs.Sub("mlp").Sub("lin1"), c.EmbedDim, hidden, true)
		b.Lin2 = nn.NewLinear(bs.Sub("mlp").Sub("lin2"), hidden, c.EmbedDim, true)
		e.Blocks = append(e.Blocks, b)
	}
	ns := s.Sub("neck")
	e.Neck0 = nn.NewConv2d(ns.Index(0), c.EmbedDim, c.OutChans, 1, 1, 0, false)
	e.Neck1 = nn.NewLayerNorm2d(ns.Index(1), c.OutChans, encoderLNEps)
	e.Neck2 = nn.NewConv2d(ns.Index(2), c.OutChans, c.OutChans, 3, 1, 1, false)
	e.Neck3 = nn.NewLayerNorm2d(ns.Index(3), c.OutChans, encoderLNEps)
	return e
}

func (e *ImageEncoder) hook(name string, t *tensor.Tensor) {
	if e.Hook != nil {
		e.Hook(name, t)
	}
}

// Forward encodes x [B, InChans, H, W] (H and W multiples of the patch size; normally
// ImgSize) into the image embedding [B, OutChans, H/patch, W/patch]. With a nil tape it
// takes the fused inference path; with a tape every op is recorded.
func (e *ImageEncoder) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	if x.Rank() != 4 || x.Dim(1) != e.Config.InChans || x.Dim(2)%e.Config.PatchSize != 0 || x.Dim(3)%e.Config.PatchSize != 0 {
		panic(fmt.Sprintf("sam.ImageEncoder.Forward: input %v, want [B %d H W] with H, W multiples of %d", x.Shape(), e.Config.InChans, e.Config.PatchSize))
	}
	if tp == nil {
		y, _ := e.forwardFast(context.Background(), x)
		return y
	}
	x = e.PatchEmbed.Forward(tp, x) // B C h w
	x = tp.Permute(x, 0, 2, 3, 1)   // B h w C
	e.hook("patch_embed", x)
	if e.PosEmbed != nil {
		x = tp.Add(x, e.posEmbedFor(tp, x.Dim(1), x.Dim(2)))
	}
	for i, b := range e.Blocks {
		x = b.Forward(tp, x)
		e.hook(fmt.Sprintf("block%02d", i), x)
	}
	x = tp.Permute(x, 0, 3, 1, 2)
	x = e.Neck0.Forward(tp, x)
	x = e.Neck1.Forward(tp, x)
	x = e.Neck2.Forward(tp, x)
	return e.Neck3.Forward(tp, x)
}

// ForwardContext is inference (Forward with a nil tape) that stops between blocks when
// ctx is cancelled, returning ctx.Err(). Bad input shapes are returned as errors.
func (e *ImageEncoder) ForwardContext(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	c := e.Config
	if x == nil || x.Rank() != 4 || x.Dim(1) != c.InChans || x.Dim(2)%c.PatchSize != 0 || x.Dim(3)%c.PatchSize != 0 || x.Dim(2) == 0 || x.Dim(3) == 0 {
		var sh []int
		if x != nil {
			sh = x.Shape()
		}
		return nil, fmt.Errorf("sam: encoder input %v, want [B %d H W] with H, W positive multiples of %d", sh, c.InChans, c.PatchSize)
	}
	return e.forwardFast(ctx, x)
}

// posEmbedFor returns pos_embed for an h x w token grid, resized bilinearly
// (align_corners=False, as SAMed's checkpoint adaptation) when the grids differ.
func (e *ImageEncoder) posEmbedFor(tp *ag.Tape, h, w int) *tensor.Tensor {
	pe := e.PosEmbed
	if pe.Dim(1) == h && pe.Dim(2) == w {
		return pe
	}
	t := tp.Permute(pe, 0, 3, 1, 2)
	t = tp.ResizeBilinear(t, h, w, false)
	return tp.Permute(t, 0, 2, 3, 1)
}

// Forward runs the block on x [B, h, w, C].
func (b *EncoderBlock) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	shortcut := x
	x = b.Norm1.Forward(tp, x)
	h, w := x.Dim(1), x.Dim(2)
	var padH, padW int
	if b.Window > 0 {
		x, padH, padW = windowPartition(tp, x, b.Window)
	}
	x = b.Attn.Forward(tp, x)
	if b.Window > 0 {
		x = windowUnpartition(tp, x, b.Window, padH, padW, h, w)
	}
	x = tp.Add(shortcut, x)
	y := b.Norm2.Forward(tp, x)
	y = b.Lin2.Forward(tp, tp.GELU(b.Lin1.Forward(tp, y)))
	return tp.Add(x, y)
}

// windowPartition zero-pads x [B, H, W, C] to multiples of ws and splits it into windows
// [B*nw, ws, ws, C]; it returns the padded sizes.
func windowPartition(tp *ag.Tape, x *tensor.Tensor, ws int) (*tensor.Tensor, int, int) {
	b, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	ph, pw := (ws-h%ws)%ws, (ws-w%ws)%ws
	if ph > 0 || pw > 0 {
		x = tp.Pad(x, []int{0, 0, 0, 0}, []int{0, ph, pw, 0}, 0)
	}
	hp, wp := h+ph, w+pw
	x = tp.Reshape(x, b, hp/ws, ws, wp/ws, ws, c)
	x = tp.Permute(x, 0, 1, 3, 2, 4, 5)
	return tp.Reshape(x, -1, ws, ws, c), hp, wp
}

// windowUnpartition reverses windowPartition and crops the padding.
func windowUnpartition(tp *ag.Tape, x *tensor.Tensor, ws, hp, wp, h, w int) *tensor.Tensor {
	c := x.Dim(3)
	b := x.Dim(0) / (hp / ws * (wp / ws))
	x = tp.Reshape(x, b, hp/ws, wp/ws, ws, ws, c)
	x = tp.Permute(x, 0, 1, 3, 2, 4, 5)
	x = tp.Reshape(x, b, hp, wp, c)
	if hp > h {
		x = tp.Slice(x, 1, 0, h)
	}
	if wp > w {
		x = tp.Slice(x, 2, 0, w)
	}
	return x
}

// Forward attends within x [B, H, W, C].
func (a *EncoderAttention) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	b, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	nh, hd := a.Heads, c/a.Heads
	qkv := a.QKV.Forward(tp, x)                                         // B H W 3C
	qkv = tp.Permute(tp.Reshape(qkv, b, h*w, 3, nh, hd), 2, 0, 3, 1, 4) // 3 B nh HW hd
	qkv = tp.Reshape(qkv, 3, b*nh, h*w, hd)
	q := tp.Reshape(tp.Slice(qkv, 0, 0, 1), b*nh, h*w, hd)
	k := tp.Reshape(tp.Slice(qkv, 0, 1, 2), b*nh, h*w, hd)
	v := tp.Reshape(tp.Slice(qkv, 0, 2, 3), b*nh, h*w, hd)
	attn := tp.MatMul(tp.Scale(q, a.scale), k, false, true) // B*nh, HW, HW
	if a.RelPosH != nil {
		attn = addDecomposedRelPos(tp, attn, q, a.RelPosH, a.RelPosW, h, w, h, w)
	}
	attn = tp.Softmax(attn, nil)
	out := tp.MatMul(attn, v, false, false) // B*nh, HW, hd
	out = tp.Reshape(tp.Permute(tp.Reshape(out, b, nh, h, w, hd), 0, 2, 3, 1, 4), b, h, w, c)
	return a.Proj.Forward(tp, out)
}

// relPosIndex returns, for q_size queries and k_size keys, the row of the (resized) table
// each (q, k) pair reads, and the table length, as the official get_rel_pos (whose float32
// coordinates are truncated by .long()).
func relPosIndex(qSize, kSize int) (idx []int, maxDist int) {
	maxDist = 2*max(qSize, kSize) - 1
	qs := float32(math.Max(float64(kSize)/float64(qSize), 1))
	ks := float32(math.Max(float64(qSize)/float64(kSize), 1))
	off := float32(kSize-1) * ks
	idx = make([]int, qSize*kSize)
	for i := range qSize {
		for j := range kSize {
			idx[i*kSize+j] = int(float32(i)*qs - float32(j)*ks + off)
		}
	}
	return idx, maxDist
}

// getRelPos returns the relative-position embeddings [q, k, d] of a table [L, d],
// interpolated linearly (align_corners=False) to 2*max(q,k)-1 rows when L differs.
func getRelPos(tp *ag.Tape, qSize, kSize int, table *tensor.Tensor) *tensor.Tensor {
	idx, maxDist := relPosIndex(qSize, kSize)
	t := table
	if t.Dim(0) != maxDist {
		d := t.Dim(1)
		// Linear interpolation along rows; width unchanged is an exact identity.
		t = tp.Reshape(tp.ResizeBilinear(tp.Reshape(t, 1, 1, t.Dim(0), d), maxDist, d, false), maxDist, d)
	}
	return tp.Reshape(tp.IndexSelect(t, 0, idx), qSize, kSize, t.Dim(1))
}

// addDecomposedRelPos adds rel_h and rel_w (from the unscaled q) to attn [B, qh*qw, kh*kw].
func addDecomposedRelPos(tp *ag.Tape, attn, q, relPosH, relPosW *tensor.Tensor, qh, qw, kh, kw int) *tensor.Tensor {
	rh := getRelPos(tp, qh, kh, relPosH) // qh kh d
	rw := getRelPos(tp, qw, kw, relPosW) // qw kw d
	b, d := q.Dim(0), q.Dim(2)
	rq := tp.Reshape(q, b, qh, qw, d)
	// rel_h[b,y,x,k] = sum_c rq[b,y,x,c] rh[y,k,c]: batched over y.
	t := tp.Reshape(tp.Permute(rq, 1, 0, 2, 3), qh, b*qw, d)
	relH := tp.MatMul(t, rh, false, true) // qh, b*qw, kh
	relH = tp.Permute(tp.Reshape(relH, qh, b, qw, kh), 1, 0, 2, 3)
	// rel_w[b,y,x,k] = sum_c rq[b,y,x,c] rw[x,k,c]: batched over x.
	t = tp.Reshape(tp.Permute(rq, 2, 0, 1, 3), qw, b*qh, d)
	relW := tp.MatMul(t, rw, false, true) // qw, b*qh, kw
	relW = tp.Permute(tp.Reshape(relW, qw, b, qh, kw), 1, 2, 0, 3)
	a := tp.Reshape(attn, b, qh, qw, kh, kw)
	a = tp.Add(a, tp.Reshape(relH, b, qh, qw, kh, 1))
	a = tp.Add(a, tp.Reshape(relW, b, qh, qw, 1, kw))
	return tp.Reshape(a, b, qh*qw, kh*kw)
}
