package sam

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// The decoder's inference path. The two-way transformer's cross-attentions between a few
// tokens (Nt ≈ 7) and the 64x64 image (HW = 4096) are evaluated with the projections on
// the image side folded into the token side, which the algebra allows exactly:
//
//   token→image: softmax_j(q_t·(Wk x_j + bk)) = softmax_j((Wkᵀq_t)·x_j) (q_t·bk is constant
//   along j), and Σ_j p_tj (Wv y_j + bv) = Wv(Σ_j p_tj y_j) + bv (rows of p sum to 1);
//   image→token: (Wq x_j + bq)·k_t = x_j·(Wqᵀk_t) + bq·k_t, and the output projection
//   Wo Σ_t p_jt v_t = Σ_t p_jt (Wo v_t).
//
// Per head this replaces the HW×C×C/2 products of the k, v, q and out projections by
// HW×C×Nt ones, halving the decoder's work; the image-side matrices stay in NHWC rows so
// that no [B, C, HW] copy is needed between layers. Results equal the recorded path to
// float32 rounding (checked against the official vectors).

// nhwcCache keeps the NHWC transpose [h*w, C] of the last [1, C, h, w] tensor it was
// given: the dense PE, and a Predictor's image embedding, are the same tensor on every
// call. Entries are keyed by the tensor and a checksum of its bits, so a tensor modified in
// place is transposed again.
type nhwcCache struct {
	mu  sync.Mutex
	src *tensor.Tensor
	sum uint64
	t   []float32
}

func (c *nhwcCache) get(x *tensor.Tensor, data []float32, ch, hw int) []float32 {
	sum := bitSum(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src != x || c.sum != sum || len(c.t) != hw*ch {
		t := make([]float32, hw*ch)
		transposeAddTo(t, data, nil, ch, hw)
		c.src, c.sum, c.t = x, sum, t
	}
	return c.t
}

// bitSum is a cheap checksum of the values' bit patterns: any single change, and most
// multiple ones, alter it. It runs on every call over the embedding and the PE (1M values
// each), so the lanes' sums are split among the workers (integer sums are exact in any order).
func bitSum(x []float32) uint64 {
	const chunk = 1 << 16 // a multiple of 4: each value keeps its lane
	var mu sync.Mutex
	var l0, l1, l2, l3 uint64
	par.For((len(x)+chunk-1)/chunk, 1, func(lo, hi int) {
		s0, s1, s2, s3 := bitLanes(x[lo*chunk : min(hi*chunk, len(x))])
		mu.Lock()
		l0, l1, l2, l3 = l0+s0, l1+s1, l2+s2, l3+s3
		mu.Unlock()
	})
	// Rotations, not shifts: a lane's high bits (where a change to the odd value of a
	// 64-bit word lands) must not be shifted out.
	return l0 ^ bits.RotateLeft64(l1, 16) ^ bits.RotateLeft64(l2, 32) ^ bits.RotateLeft64(l3, 48)
}

// bitLanes sums the bit patterns of x in four lanes. Pairs of values are read as one
// 64-bit word when x is 8-byte aligned (half the loads and adds); a change δ to either
// half changes a lane by δ or δ·2³², never 0 mod 2⁶⁴, so single changes still show.
func bitLanes(x []float32) (s0, s1, s2, s3 uint64) {
	i := 0
	if len(x) >= 8 && uintptr(unsafe.Pointer(&x[0]))%8 == 0 {
		u := unsafe.Slice((*uint64)(unsafe.Pointer(&x[0])), len(x)/2)
		j := 0
		for ; j+4 <= len(u); j += 4 {
			v := u[j : j+4 : j+4]
			s0 += v[0]
			s1 += v[1]
			s2 += v[2]
			s3 += v[3]
		}
		i = 2 * j
	}
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += uint64(math.Float32bits(v[0]))
		s1 += uint64(math.Float32bits(v[1]))
		s2 += uint64(math.Float32bits(v[2]))
		s3 += uint64(math.Float32bits(v[3]))
	}
	for ; i < len(x); i++ {
		s0 += uint64(math.Float32bits(x[i]))
	}
	return
}

// channelConstant reports whether every channel plane of x [C, hw] is constant (the
// no-mask dense embedding is), returning the per-channel values. The planes are checked
// in parallel: this runs on every call over 1M values.
func channelConstant(x []float32, ch, hw int) ([]float32, bool) {
	v := make([]float32, ch)
	var differ atomic.Bool
	par.For(ch, 8, func(lo, hi int) {
		for c := lo; c < hi && !differ.Load(); c++ {
			p := x[c*hw : (c+1)*hw]
			for _, e := range p {
				if e != p[0] {
					differ.Store(true)
					return
				}
			}
			v[c] = p[0]
		}
	})
	if differ.Load() {
		return nil, false
	}
	return v, true
}

// transposeAddTo writes dst [hw, ch] = (a + b)ᵀ for a, b [ch, hw] (b may be nil), in
// 8x8 tiles so that both sides move a cache line at a time.
func transposeAddTo(dst, a, b []float32, ch, hw int) {
	const tb = 8
	par.For((ch+tb-1)/tb, 4, func(lo, hi int) {
		for c0 := lo * tb; c0 < min(hi*tb, ch); c0 += tb {
			c1 := min(c0+tb, ch)
			for j0 := 0; j0 < hw; j0 += tb {
				j1 := min(j0+tb, hw)
				for c := c0; c < c1; c++ {
					ra := a[c*hw+j0 : c*hw+j1]
					if b != nil {
						rb := b[c*hw+j0 : c*hw+j1]
						for j, v := range ra {
							dst[(j0+j)*ch+c] = v + rb[j]
						}
						continue
					}
					for j, v := range ra {
						dst[(j0+j)*ch+c] = v
					}
				}
			}
		}
	})
}

// decScratch holds one prompt's image-side buffers; they are recycled through a pool
// because zeroing ~30 MB per call would cost more than some of the products.
type decScratch struct {
	keys, x []float32 // [HW, C]
	kp, vp  []float32 // projected image side [HW, ci]
	s       []float32 // scores [heads*Nt, HW]
}

var decPool sync.Pool

// grow returns b resized to n, reallocating only when its capacity is short.
func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// forwardFast is ForwardAll without a tape; Keys is only returned when wantKeys.
func (d *MaskDecoder) forwardFast(imageEmb, imagePE, sparse, dense *tensor.Tensor, wantKeys bool) DecoderOutputs {
	return d.forwardFastOpt(imageEmb, imagePE, sparse, dense, wantKeys, false)
}

// SingleMask returns the single-mask output of Forward (multimask false) without a
// tape, [B, 1, 4h, 4w], skipping what only the other outputs need: the IoU head, the
// other mask tokens' hypernetworks and upscaling products, and every token but the
// first mask token in the final token->image attention.
func (d *MaskDecoder) SingleMask(imageEmb, imagePE, sparse, dense *tensor.Tensor) *tensor.Tensor {
	d.checkInputs(imageEmb, imagePE, sparse, dense)
	return d.forwardFastOpt(imageEmb, imagePE, sparse, dense, false, true).Masks
}

// With many prompt tokens (AI-SAM's prompts hold 4 points per class, ~40 tokens) the
// folded attentions cost more than projecting the image side: per image position and
// attention, folding costs 4·heads·Nt·C products and projecting 4·C·ci (k and v, or q and
// the output projection) plus 4·Nt·ci. In the first layer the keys are the embedding
// plus the dense prompt, the same for every prompt of a batch when the dense prompt is
// the no-mask embedding, so its projections are computed once per image (and kept while
// the embedding and PE are unchanged), leaving only the attention itself per prompt.

// attnPlan says, per attention, whether to project the image side.
type attnPlan struct {
	t2i, i2t   bool    // later layers
	t2i0, i2t0 bool    // the first layer
	l0         *layer0 // shared first-layer image side (nil: per prompt)
}

// planAttn compares the folded and projected costs for nt tokens and b prompts.
func (d *MaskDecoder) planAttn(nt, b int, shared bool) attnPlan {
	c := d.Config.TransformerDim
	ci := c / d.Config.AttnDownsample
	folded := 4 * d.Config.Heads * nt * c
	attn := 4 * nt * ci
	p := attnPlan{t2i: attn+4*c*ci < folded, i2t: attn+4*c*ci < folded}
	p.t2i0, p.i2t0 = p.t2i, p.i2t
	if shared {
		p.t2i0 = attn+4*c*ci/b < folded
		p.i2t0 = attn+2*c*ci+2*c*ci/b < folded
	}
	return p
}

// layer0 is the first layer's image side shared by every prompt: keys (embedding plus
// the constant dense prompt), x = keys + PE, and the projections that depend on them
// alone, all [HW, ·] rows.
type layer0 struct {
	keys, x    []float32
	kp, vp, qp []float32 // token->image k and v; image->token q (nil when folded)
	// For the folded attentions: x packed as the scores' op(B) = xᵀ, and keys packed as
	// the token->image values' op(B) (nil when not folded).
	xp, keysp *gemm.PackedB
}

// layer0Cache keeps the last layer0 by the NHWC embedding and PE buffers it came from
// (the nhwcCaches hand out the same buffer while their tensor is unchanged).
type layer0Cache struct {
	mu      sync.Mutex
	emb, pe *float32
	cv      []float32
	t2i     bool
	i2t     bool
	l       *layer0
}

func (d *MaskDecoder) sharedLayer0(embT, kpe, cv []float32, hw int, plan attnPlan) *layer0 {
	c := &d.l0Cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.l != nil && c.emb == &embT[0] && c.pe == &kpe[0] && slicesEqual(c.cv, cv) && c.t2i == plan.t2i0 && c.i2t == plan.i2t0 {
		return c.l
	}
	dim := len(cv)
	l := &layer0{keys: make([]float32, hw*dim), x: make([]float32, hw*dim)}
	addRowVec(l.keys, embT, cv)
	addTo(l.x, l.keys, kpe)
	if len(d.Transformer.Layers) > 0 {
		b0 := d.Transformer.Layers[0]
		if plan.t2i0 {
			l.kp = projRows(nil, l.x, hw, b0.CrossTokenToImage.KProj)
			l.vp = projRows(nil, l.keys, hw, b0.CrossTokenToImage.VProj)
		}
		if plan.i2t0 {
			l.qp = projRows(nil, l.x, hw, b0.CrossImageToToken.QProj)
		}
		if !plan.t2i0 || !plan.i2t0 {
			l.xp = gemm.PackB(true, dim, hw, l.x, dim)
		}
		if !plan.t2i0 {
			l.keysp = gemm.PackB(false, hw, dim, l.keys, dim)
		}
	}
	c.emb, c.pe, c.cv, c.t2i, c.i2t, c.l = &embT[0], &kpe[0], cv, plan.t2i0, plan.i2t0, l
	return l
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i, v := range a {
		if math.Float32bits(v) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// projRows is l applied to rows x [n, in]: dst [n, out] (allocated when nil or short).
func projRows(dst, x []float32, n int, l *nn.Linear) []float32 {
	out, in := l.Weight.Dim(0), l.Weight.Dim(1)
	dst = grow(dst, n*out)
	gemm.Sgemm(false, true, n, out, in, 1, x, in, l.Weight.Data, in, 0, dst, out)
	if l.Bias != nil {
		bv := l.Bias.Data
		par.For(n, 64, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := dst[r*out : (r+1)*out]
				vec.Blend(row, row, bv, 1, 1) // row + bv, vectorized
			}
		})
	}
	return dst
}

func (d *MaskDecoder) forwardFastOpt(imageEmb, imagePE, sparse, dense *tensor.Tensor, wantKeys, single bool) DecoderOutputs {
	b, dim := sparse.Dim(0), d.Config.TransformerDim
	h, w := imageEmb.Dim(2), imageEmb.Dim(3)
	hw := h * w
	nt := 1 + d.numMaskToken + sparse.Dim(1)
	kpe := d.peCache.get(imagePE, imagePE.Data, dim, hw)
	var embT []float32 // a single shared embedding, cached in NHWC
	if imageEmb.Dim(0) == 1 {
		embT = d.embCache.get(imageEmb, imageEmb.Data, dim, hw)
	}
	outTok := tensor.Concat(0, d.IoUToken.Weight, d.MaskTokens.Weight)
	var cv []float32 // the dense prompt's per-channel constant, shared by all prompts
	if embT != nil && dense.Dim(0) == 1 {
		cv, _ = channelConstant(dense.Data, dim, hw)
	}
	plan := d.planAttn(nt, b, cv != nil)
	if cv != nil {
		plan.l0 = d.sharedLayer0(embT, kpe, cv, hw, plan)
	}
	hs := tensor.New(b, nt, dim)
	var keysAll *tensor.Tensor
	if wantKeys {
		keysAll = tensor.New(b, hw, dim)
	}
	up := d.Upscale3.Weight.Dim(1)
	nm := d.numMaskToken
	if single {
		nm = 1
	}
	masks := tensor.New(b, nm, 16*hw)
	iou := tensor.New(b, d.numMaskToken)
	// One prompt runs with intra-op parallelism; several run one prompt per worker
	// (whole prompts are large, even tasks, and the nested products then run serially).
	par.ForEach(b, func(bi int) {
		sc, _ := decPool.Get().(*decScratch)
		if sc == nil {
			sc = &decScratch{}
		}
		defer decPool.Put(sc)
		sc.x = grow(sc.x, hw*dim)
		sc.s = grow(sc.s, hw*d.Config.Heads*nt)
		sc.keys = grow(sc.keys, hw*dim)
		emb := imageEmb.Data[(bi%imageEmb.Dim(0))*dim*hw:][:dim*hw]
		dn := dense.Data[(bi%dense.Dim(0))*dim*hw:][:dim*hw]
		if plan.l0 != nil {
			src := plan.l0.keys // 4 MB: copied on both workers
			par.For(len(src), 1<<15, func(lo, hi int) { copy(sc.keys[lo:hi], src[lo:hi]) })
		} else if cv, ok := channelConstant(dn, dim, hw); ok && embT != nil {
			addRowVec(sc.keys, embT, cv)
		} else {
			transposeAddTo(sc.keys, emb, dn, dim, hw)
		}
		ns := nt - outTok.Dim(0)
		tokens := outTok
		if ns > 0 {
			tokens = tensor.Concat(0, outTok, tensor.FromSlice(sparse.Data[bi*ns*dim:(bi+1)*ns*dim], ns, dim))
		}
		finalRow := -1
		if single {
			finalRow = 1 // the first mask token
		}
		q := d.Transformer.forwardFast(tokens.Reshape(1, nt, dim), kpe, hw, sc, plan, finalRow)
		copy(hs.Data[bi*nt*dim:], q.Data)
		if wantKeys {
			copy(keysAll.Data[bi*hw*dim:], sc.keys)
		}
		// Hypernetworks, then output upscaling straight into the masks; IoU head.
		hyper := tensor.New(nm, up)
		row := func(i int) *tensor.Tensor { return tensor.FromSlice(q.Data[i*dim:(i+1)*dim], 1, dim) }
		for i, m := range d.Hypernets[:nm] {
			copy(hyper.Data[i*up:], m.Forward(nil, row(1+i)).Data)
		}
		d.upscaleMasks(sc, h, w, hyper.Data, masks.Data[bi*nm*16*hw:(bi+1)*nm*16*hw])
		if !single {
			copy(iou.Data[bi*d.numMaskToken:], d.IoUHead.Forward(nil, row(0)).Data)
		}
	})
	return DecoderOutputs{
		Queries: hs, Keys: keysAll,
		Masks: masks.Reshape(b, nm, 4*h, 4*w), IoU: iou,
	}
}

// forwardFast runs the transformer for one prompt: tokens [Nt, C] (also the query PE),
// sc.keys [HW, C] (updated in place) with the PE kpe [HW, C]; it returns the final queries.
// With finalRow >= 0 only that token goes through the final attention and norm (the
// other rows of the result are then the last layer's queries).
func (t *TwoWayTransformer) forwardFast(tokens *tensor.Tensor, kpe []float32, hw int, sc *decScratch, plan attnPlan, finalRow int) *tensor.Tensor {
	queries := tokens
	for i, l := range t.Layers {
		if l.SkipFirstLayerPE {
			queries = l.SelfAttn.Forward(nil, queries, queries, queries)
		} else {
			q := tensor.Add(queries, tokens)
			queries = tensor.Add(queries, l.SelfAttn.Forward(nil, q, q, queries))
		}
		queries = l.Norm1.Forward(nil, queries)
		t2i, i2t := plan.t2i, plan.i2t
		var kp, vp, qp []float32
		// x and keys packed once for both folded attentions.
		var xp, keysp *gemm.PackedB
		x := sc.x
		if i == 0 { // later layers get x from the previous layer's normAddRows
			t2i, i2t = plan.t2i0, plan.i2t0
			if plan.l0 != nil {
				x = plan.l0.x // read only: normAddRows writes the next x to sc.x
				kp, vp, qp = plan.l0.kp, plan.l0.vp, plan.l0.qp
				xp, keysp = plan.l0.xp, plan.l0.keysp
			} else {
				addTo(sc.x, sc.keys, kpe)
			}
		}
		if xp == nil && !t2i && !i2t {
			c := queries.Dim(2)
			xp = gemm.PackB(true, c, hw, x, c)
			defer xp.Release()
		}
		var att *tensor.Tensor
		if t2i {
			att = tokenToImageProj(l.CrossTokenToImage, tensor.Add(queries, tokens), x, sc.keys, hw, sc, kp, vp)
		} else {
			att = tokenToImage(l.CrossTokenToImage, tensor.Add(queries, tokens), x, sc.keys, hw, sc.s, xp, keysp)
		}
		queries = l.Norm2.Forward(nil, tensor.Add(queries, att))
		mlp := l.Lin2.Forward(nil, tensor.ReLU(l.Lin1.Forward(nil, queries)))
		queries = l.Norm3.Forward(nil, tensor.Add(queries, mlp))
		if i2t {
			imageToTokenAddProj(l.CrossImageToToken, x, tensor.Add(queries, tokens), queries, sc.keys, hw, sc, qp)
		} else {
			imageToTokenAdd(l.CrossImageToToken, x, tensor.Add(queries, tokens), queries, sc.keys, hw, sc.s, xp)
		}
		// norm4, and x = keys + PE for the next attention while each row is in cache.
		normAddRows(sc.keys, sc.x, kpe, queries.Dim(2), *l.Norm4)
	}
	if len(t.Layers) == 0 {
		addTo(sc.x, sc.keys, kpe)
	}
	if finalRow >= 0 {
		nt, c := queries.Dim(1), queries.Dim(2)
		one := func(x *tensor.Tensor) *tensor.Tensor {
			return tensor.FromSlice(x.Data[finalRow*c:(finalRow+1)*c], 1, 1, c)
		}
		qr := one(queries)
		qr = tensor.Add(qr, tokenToImage(t.FinalAttnTokenToImage, tensor.Add(qr, one(tokens)), sc.x, sc.keys, hw, sc.s, nil, nil))
		out := tensor.New(1, nt, c)
		copy(out.Data, queries.Data)
		copy(out.Data[finalRow*c:], t.NormFinalAttn.Forward(nil, qr).Data)
		return out
	}
	queries = tensor.Add(queries, tokenToImage(t.FinalAttnTokenToImage, tensor.Add(queries, tokens), sc.x, sc.keys, hw, sc.s, nil, nil))
	return t.NormFinalAttn.Forward(nil, queries)
}

// tokenToImageProj is a.Forward(q=qIn [1, Nt, C], k=x [HW, C], v=y [HW, C]) with the
// image side projected; kp and vp are those projections when already known (else nil).
func tokenToImageProj(a *nn.Attention, qIn *tensor.Tensor, x, y []float32, hw int, sc *decScratch, kp, vp []float32) *tensor.Tensor {
	nt := qIn.Dim(-2)
	ci := a.QProj.Weight.Dim(0)
	heads := a.Heads
	dh := ci / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	if kp == nil {
		sc.kp = projRows(sc.kp, x, hw, a.KProj)
		kp = sc.kp
	}
	if vp == nil {
		sc.vp = projRows(sc.vp, y, hw, a.VProj)
		vp = sc.vp
	}
	q := a.QProj.Forward(nil, qIn) // Nt, ci
	s := sc.s[:heads*nt*hw]
	o := tensor.New(1, nt, ci)
	par.For(heads, 1, func(lo, hi int) {
		for h := lo; h < hi; h++ {
			sh := s[h*nt*hw : (h+1)*nt*hw]
			gemm.Sgemm(false, true, nt, hw, dh, scale, q.Data[h*dh:], ci, kp[h*dh:], ci, 0, sh, hw)
			for r := range nt {
				vec.Softmax(sh[r*hw:(r+1)*hw], sh[r*hw:(r+1)*hw])
			}
			gemm.Sgemm(false, false, nt, dh, hw, 1, sh, hw, vp[h*dh:], ci, 0, o.Data[h*dh:], ci)
		}
	})
	return a.OutProj.Forward(nil, o)
}

// imageToTokenAddProj adds a.Forward(q=x [HW, C], k=kIn [1, Nt, C], v=vIn [1, Nt, C]) to
// keys [HW, C] with the image side projected; qp is x's projection when known (else nil).
func imageToTokenAddProj(a *nn.Attention, x []float32, kIn, vIn *tensor.Tensor, keys []float32, hw int, sc *decScratch, qp []float32) {
	nt, c := kIn.Dim(-2), kIn.Dim(-1)
	ci := a.QProj.Weight.Dim(0)
	heads := a.Heads
	dh := ci / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	if qp == nil {
		sc.kp = projRows(sc.kp, x, hw, a.QProj)
		qp = sc.kp
	}
	k := a.KProj.Forward(nil, kIn) // Nt, ci
	v := a.VProj.Forward(nil, vIn) // Nt, ci
	s := sc.s[:heads*nt*hw]
	sc.vp = grow(sc.vp, hw*ci)
	o := sc.vp // [HW, ci], heads side by side
	const chunk = 512
	nc := (hw + chunk - 1) / chunk
	par.For(heads*nc, 1, func(lo, hi int) {
		for job := lo; job < hi; job++ {
			h, j0 := job/nc, (job%nc)*chunk
			n := min(chunk, hw-j0)
			sh := s[(h*hw+j0)*nt : (h*hw+j0+n)*nt]
			gemm.Sgemm(false, true, n, nt, dh, scale, qp[j0*ci+h*dh:], ci, k.Data[h*dh:], ci, 0, sh, nt)
			for r := range n {
				vec.Softmax(sh[r*nt:(r+1)*nt], sh[r*nt:(r+1)*nt])
			}
			gemm.Sgemm(false, false, n, dh, nt, 1, sh, nt, v.Data[h*dh:], ci, 0, o[j0*ci+h*dh:], ci)
		}
	})
	gemm.Sgemm(false, true, hw, c, ci, 1, o, ci, a.OutProj.Weight.Data, ci, 1, keys, c)
	bo := a.OutProj.Bias.Data
	par.For(hw, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			row := keys[j*c : (j+1)*c]
			vec.Blend(row, row, bo, 1, 1) // row + bo, vectorized
		}
	})
}

// addRowVec sets dst = src + v for each row of len(v).
func addRowVec(dst, src, v []float32) {
	c := len(v)
	par.For(len(dst)/c, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			vec.Blend(dst[r*c:(r+1)*c], src[r*c:(r+1)*c], v, 1, 1)
		}
	})
}

// normAddRows replaces each row of keys by its LayerNorm and sets x = keys + pe.
func normAddRows(keys, x, pe []float32, c int, ln nn.LayerNorm) {
	par.For(len(keys)/c, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			k := keys[r*c : (r+1)*c]
			vec.LayerNorm(k, k, ln.Weight.Data, ln.Bias.Data, ln.Eps)
			vec.Blend(x[r*c:(r+1)*c], k, pe[r*c:(r+1)*c], 1, 1) // k + pe, vectorized
		}
	})
}

func addTo(dst, a, b []float32) {
	par.For(len(dst), 1<<15, func(lo, hi int) {
		vec.Blend(dst[lo:hi], a[lo:hi], b[lo:hi], 1, 1) // a + b, vectorized
	})
}

// tokenToImage is a.Forward(q=qIn [1, Nt, C], k=x [HW, C], v=y [HW, C]) with the
// image-side projections folded into the tokens (see the top of this file); s is scratch.
// xp and yp, when not nil, are xᵀ and y packed by gemm.PackB.
func tokenToImage(a *nn.Attention, qIn *tensor.Tensor, x, y []float32, hw int, s []float32, xp, yp *gemm.PackedB) *tensor.Tensor {
	nt, c := qIn.Dim(-2), qIn.Dim(-1)
	ci := a.QProj.Weight.Dim(0)
	heads := a.Heads
	dh := ci / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	q := a.QProj.Forward(nil, qIn) // Nt, ci
	// qeff[h*Nt+t] = scale · Wk_hᵀ q_h[t]  [heads*Nt, C]
	qeff := make([]float32, heads*nt*c)
	for h := range heads {
		gemm.Sgemm(false, false, nt, c, dh, scale, q.Data[h*dh:], ci, a.KProj.Weight.Data[h*dh*c:], c, 0, qeff[h*nt*c:], c)
	}
	sc := s[:heads*nt*hw]
	if xp != nil {
		gemm.SgemmPacked(false, heads*nt, 1, qeff, c, xp, 0, sc, hw)
	} else {
		gemm.Sgemm(false, true, heads*nt, hw, c, 1, qeff, c, x, c, 0, sc, hw)
	}
	par.For(heads*nt, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			vec.Softmax(sc[r*hw:(r+1)*hw], sc[r*hw:(r+1)*hw])
		}
	})
	z := make([]float32, heads*nt*c) // z[h*Nt+t] = Σ_j p y_j
	if yp != nil {
		gemm.SgemmPacked(false, heads*nt, 1, sc, hw, yp, 0, z, c)
	} else {
		gemm.Sgemm(false, false, heads*nt, c, hw, 1, sc, hw, y, c, 0, z, c)
	}
	o := tensor.New(1, nt, ci)
	for h := range heads {
		gemm.Sgemm(false, true, nt, dh, c, 1, z[h*nt*c:], c, a.VProj.Weight.Data[h*dh*c:], c, 0, o.Data[h*dh:], ci)
	}
	for t := range nt {
		row := o.Data[t*ci : (t+1)*ci]
		for i, bv := range a.VProj.Bias.Data {
			row[i] += bv
		}
	}
	return a.OutProj.Forward(nil, o)
}

// imageToTokenAdd adds a.Forward(q=x [HW, C], k=kIn [1, Nt, C], v=vIn [1, Nt, C]) to
// keys [HW, C], with the image-side projections folded into the tokens; s is scratch.
// xp, when not nil, is xᵀ packed by gemm.PackB.
func imageToTokenAdd(a *nn.Attention, x []float32, kIn, vIn *tensor.Tensor, keys []float32, hw int, s []float32, xp *gemm.PackedB) {
	nt, c := kIn.Dim(-2), kIn.Dim(-1)
	ci := a.QProj.Weight.Dim(0)
	heads := a.Heads
	dh := ci / heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	k := a.KProj.Forward(nil, kIn) // Nt, ci
	v := a.VProj.Forward(nil, vIn) // Nt, ci
	g := heads * nt
	// keff[h*Nt+t] = scale · Wq_hᵀ k_h[t], bias[h*Nt+t] = scale · bq_h·k_h[t].
	keff := make([]float32, g*c)
	bias := make([]float32, g)
	for h := range heads {
		gemm.Sgemm(false, false, nt, c, dh, scale, k.Data[h*dh:], ci, a.QProj.Weight.Data[h*dh*c:], c, 0, keff[h*nt*c:], c)
		for t := range nt {
			var acc float32
			for e := range dh {
				acc += a.QProj.Bias.Data[h*dh+e] * k.Data[t*ci+h*dh+e]
			}
			bias[h*nt+t] = acc * scale
		}
	}
	// veff[h*Nt+t] = Wo_h v_h[t]  [heads*Nt, C]
	veff := make([]float32, g*c)
	for h := range heads {
		gemm.Sgemm(false, true, nt, c, dh, 1, v.Data[h*dh:], ci, a.OutProj.Weight.Data[h*dh:], ci, 0, veff[h*nt*c:], c)
	}
	// Scores transposed, sᵀ [heads*Nt, HW] = keff·xᵀ: the GEMM then packs x with its
	// transposing copy, and the per-pixel softmax over each head's Nt tokens runs down
	// the columns, a chunk of pixels at a time.
	st := s[:g*hw]
	if xp != nil {
		gemm.SgemmPacked(false, g, 1, keff, c, xp, 0, st, hw)
	} else {
		gemm.Sgemm(false, true, g, hw, c, 1, keff, c, x, c, 0, st, hw)
	}
	const chunk = 256
	par.For((hw+chunk-1)/chunk, 1, func(lo, hi int) {
		var m, sum, ones [chunk]float32
		for j := range ones {
			ones[j] = 1
		}
		for j0 := lo * chunk; j0 < min(hi*chunk, hw); j0 += chunk {
			n := min(chunk, hw-j0)
			m, sum := m[:n], sum[:n]
			// The sums and differences go through vec.Blend (x·1 + y·w, exact for w = ±1
			// or y = 1), vectorized; only the max and the final scaling stay scalar.
			for h := range heads {
				for t := range nt {
					r := h*nt + t
					row := st[r*hw+j0 : r*hw+j0+n]
					vec.Blend(row, row, ones[:n], 1, bias[r])
					if t == 0 {
						copy(m, row)
						continue
					}
					for j, v := range row {
						if v > m[j] {
							m[j] = v
						}
					}
				}
				for t := range nt {
					row := st[(h*nt+t)*hw+j0 : (h*nt+t)*hw+j0+n]
					vec.Blend(row, row, m, 1, -1)
					vec.ExpSubSum(row, row, 0)
					if t == 0 {
						copy(sum, row)
					} else {
						vec.Blend(sum, sum, row, 1, 1)
					}
				}
				for j := range n {
					sum[j] = 1 / sum[j]
				}
				for t := range nt {
					row := st[(h*nt+t)*hw+j0 : (h*nt+t)*hw+j0+n]
					for j := range row {
						row[j] *= sum[j]
					}
				}
			}
		}
	})
	// keys += p·veff + bo, with p = sᵀᵀ
	gemm.Sgemm(true, false, hw, c, g, 1, st, hw, veff, c, 1, keys, c)
	bo := a.OutProj.Bias.Data
	par.For(hw, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			row := keys[j*c : (j+1)*c]
			vec.Blend(row, row, bo, 1, 1) // row + bo, vectorized
		}
	})
}

// upscaleRows is the number of embedding rows per upscaling tile: 4 rows of a 64x64
// grid make 16 tiles whose intermediate maps (~1.5 MB) stay in cache.
const upscaleRows = 4

// upTile holds one tile's intermediate maps.
type upTile struct{ y1, y2, mt []float32 }

var upPool sync.Pool

// upscaleMasks is output_upscaling followed by masks = hyper · upscaled, computed in
// tiles of upscaleRows embedding rows, one tile per worker, so that each tile's maps stay
// in cache and no barrier separates the stages. Each 2x2 stride-2 transposed convolution
// is one product with the weights viewed as [in, 4*out] (columns reordered to (a, b, out)
// so that each output pixel's channels are contiguous). The maps stay in the products'
// row order, pixel (y, x) then sub-pixel (a, b), rather than being scattered to the finer
// grids: bias, LayerNorm2d and GELU are per pixel, and the next product does not care
// about the order of its rows, so only the final logits ([M, ·], 8x fewer values than
// the last map) are scattered to their place.
// hyper is [M, C/8]; masks [M, 16*h*w] receives the low-res logits.
func (d *MaskDecoder) upscaleMasks(sc *decScratch, h, w int, hyper, masks []float32) {
	c := d.Config.TransformerDim
	o1 := d.Upscale0.Weight.Dim(1)
	o2 := d.Upscale3.Weight.Dim(1)
	nm := len(hyper) / o2
	uw := d.upWeights()
	b1 := d.Upscale0.Bias.Data[:o1]
	b2 := make([]float32, 4*o2) // the bias of each (a, b, out) column
	for ab := range 4 {
		copy(b2[ab*o2:], d.Upscale3.Bias.Data[:o2])
	}
	ln := d.Upscale1.LayerNorm
	w4 := 4 * w
	ones := make([]float32, 4*upscaleRows*w)
	for i := range ones {
		ones[i] = 1
	}
	par.ForEach((h+upscaleRows-1)/upscaleRows, func(ti int) {
		y0 := ti * upscaleRows
		tr := min(upscaleRows, h-y0)
		n1 := tr * w
		t, _ := upPool.Get().(*upTile)
		if t == nil {
			t = &upTile{}
		}
		defer upPool.Put(t)
		t.y1 = grow(t.y1, n1*o1*4)
		n2 := 4 * n1
		t.y2 = grow(t.y2, 4*n1*o2*4)
		t.mt = grow(t.mt, nm*16*n1)
		// y1 rows (y, x), columns (a1, b1, o1): each o1 run is one pixel of the 2x grid.
		gemm.SgemmPacked(false, n1, 1, sc.keys[y0*w*c:], c, uw.w1, 0, t.y1, o1*4)
		for p := range 4 * n1 {
			px := t.y1[p*o1 : (p+1)*o1]
			vec.Blend(px, px, b1, 1, 1) // px + b1, rounded once
			vec.LayerNorm(px, px, ln.Weight.Data, ln.Bias.Data, ln.Eps)
		}
		vec.GELU(t.y1, t.y1)
		// y2ᵀ rows (a2, b2, o2), columns (y, x, a1, b1): transposing y1 (o1 channels) to
		// pack it costs half as much as transposing y2 (4·o2) for the logits' product, and
		// each (a2, b2) block of y2ᵀ is then read in place as that product's B.
		gemm.Sgemm(true, true, 4*o2, n2, o1, 1, uw.w2, 4*o2, t.y1, o1, 0, t.y2, n2)
		for r := range 4 * o2 {
			row := t.y2[r*n2 : (r+1)*n2]
			vec.Blend(row, row, ones[:n2], 1, b2[r]) // row + b2[r], exact
		}
		vec.GELU(t.y2, t.y2)
		// mt[(a2, b2), m] columns (y, x, a1, b1) go to output pixel (4y+2a1+a2, 4x+2b1+b2).
		for ab2 := range 4 {
			gemm.Sgemm(false, false, nm, n2, o2, 1, hyper, o2, t.y2[ab2*o2*n2:], n2, 0, t.mt[ab2*nm*n2:], n2)
		}
		p0 := 4 * y0 * w4 // the tile is output rows 4*y0 .. 4*(y0+tr) of every mask
		for m := range nm {
			dst := masks[m*16*h*w+p0:]
			for ab2 := range 4 {
				a2, b2 := ab2/2, ab2%2
				src := t.mt[(ab2*nm+m)*n2 : (ab2*nm+m+1)*n2]
				for j := range n1 {
					y, x := j/w, j%w
					s := src[j*4 : j*4+4 : j*4+4] // (a1, b1)
					r0 := dst[(4*y+a2)*w4+4*x+b2:]
					r1 := dst[(4*y+2+a2)*w4+4*x+b2:]
					r0[0], r0[2] = s[0], s[1]
					r1[0], r1[2] = s[2], s[3]
				}
			}
		}
	})
}

// upWeights is the upscaling weights reordered by permuteConvT, the first one packed for
// its product with every tile; they never change between calls, so they are kept, and
// made again when the weights' bits change.
type upWeights struct {
	w1 *gemm.PackedB // [C, 4*o1]
	w2 []float32     // [o1, 4*o2]
}

// upWeightsCache keeps the last upWeights by the weights' buffers and checksums.
type upWeightsCache struct {
	mu         sync.Mutex
	src1, src2 *float32
	sum1, sum2 uint64
	u          *upWeights
}

func (d *MaskDecoder) upWeights() *upWeights {
	wt1, wt3 := d.Upscale0.Weight.Data, d.Upscale3.Weight.Data
	s1, s2 := bitSum(wt1), bitSum(wt3)
	c := &d.upCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.u != nil && c.src1 == &wt1[0] && c.src2 == &wt3[0] && c.sum1 == s1 && c.sum2 == s2 {
		return c.u
	}
	in, o1 := d.Upscale0.Weight.Dim(0), d.Upscale0.Weight.Dim(1)
	o2 := d.Upscale3.Weight.Dim(1)
	w1 := make([]float32, in*o1*4)
	permuteConvT(w1, wt1, in, o1)
	u := &upWeights{w1: gemm.PackB(false, in, 4*o1, w1, 4*o1), w2: make([]float32, o1*o2*4)}
	permuteConvT(u.w2, wt3, o1, o2)
	c.src1, c.src2, c.sum1, c.sum2, c.u = &wt1[0], &wt3[0], s1, s2, u
	return u
}

// permuteConvT reorders a ConvTranspose2d weight [in, out, 2, 2] into [in, (a, b), out].
func permuteConvT(dst, w []float32, in, out int) {
	for i := range in {
		for o := range out {
			for ab := range 4 {
				dst[(i*4+ab)*out+o] = w[(i*out+o)*4+ab]
			}
		}
	}
}
