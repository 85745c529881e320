package aisam

import (
	"math"
	"slices"
	"sync"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// Inference path of the AutoPrompt transformer. The image keys stay channel-major
// ([B, D, h*w], the NCHW embedding's own layout), so the 3x3 convolution, the channel
// LayerNorms and the projections (weight on the left) need no transposes, and the
// attentions over the 4096 image positions are arranged so that no [B, h*w, D] tensor is
// ever permuted. It computes the same function as the tape path (checked by the parity
// tests, which run it).

// projCM applies l to channel-major x [B, in, n]: W x + b, [B, out, n].
func projCM(l *nn.Linear, x *tensor.Tensor) *tensor.Tensor {
	y := tensor.MatMul(l.Weight, x, false, false)
	if l.Bias != nil {
		n := y.Dim(2)
		out := y.Dim(1)
		for bi := 0; bi < y.Dim(0); bi++ {
			for o := 0; o < out; o++ {
				row := y.Data[(bi*out+o)*n : (bi*out+o+1)*n]
				bv := l.Bias.Data[o]
				for i := range row {
					row[i] += bv
				}
			}
		}
	}
	return y
}

// headsTok projects tokens [B, N, D] and splits heads: [B, h, N, d].
func headsTok(l *nn.Linear, x *tensor.Tensor, heads int) *tensor.Tensor {
	y := l.Forward(nil, x)
	b, n, c := y.Dim(0), y.Dim(1), y.Dim(2)
	return tensor.Permute(y.Reshape(b, n, heads, c/heads), 0, 2, 1, 3)
}

// attnTokToImageProj is token->image attention computed as written: tokens q [Bq, N, D]
// attend to channel-major keys k and values v [Bk, D, n]; returns [B, N, D].
func attnTokToImageProj(a *nn.Attention, q, k, v *tensor.Tensor) *tensor.Tensor {
	h := a.Heads
	qp := headsTok(a.QProj, q, h) // Bq h N d
	kp := projCM(a.KProj, k)      // Bk inner n
	vp := projCM(a.VProj, v)
	bk, inner, n := kp.Dim(0), kp.Dim(1), kp.Dim(2)
	d := inner / h
	kp = kp.Reshape(bk, h, d, n)
	vp = vp.Reshape(bk, h, d, n)
	logits := tensor.MatMul(qp, kp, false, false) // B h N n
	tensor.ScaleInPlace(logits, float32(1/math.Sqrt(float64(d))))
	tensor.SoftmaxInPlace(logits, nil)
	out := tensor.MatMul(logits, vp, false, true) // B h N d
	b, nq := out.Dim(0), out.Dim(2)
	out = tensor.Permute(out, 0, 2, 1, 3).Reshape(b, nq, inner)
	return a.OutProj.Forward(nil, out)
}

// attnImageToTokProj is image->token attention computed as written: channel-major image
// queries q [Bk, D, n] attend to tokens k, v [Bq, N, D]; returns channel-major [B, D, n].
func attnImageToTokProj(a *nn.Attention, q, k, v *tensor.Tensor) *tensor.Tensor {
	h := a.Heads
	qp := projCM(a.QProj, q) // Bk inner n
	bk, inner, n := qp.Dim(0), qp.Dim(1), qp.Dim(2)
	d := inner / h
	qp = qp.Reshape(bk, h, d, n)
	kp := headsTok(a.KProj, k, h) // Bq h N d
	vp := headsTok(a.VProj, v, h)
	logits := tensor.MatMul(qp, kp, true, true) // B h n N
	tensor.ScaleInPlace(logits, float32(1/math.Sqrt(float64(d))))
	tensor.SoftmaxInPlace(logits, nil)
	outT := tensor.MatMul(vp, logits, true, true) // B h d n
	b := outT.Dim(0)
	return projCM(a.OutProj, outT.Reshape(b, inner, n))
}

// layerNormCM normalises channel-major x [B, D, n] over D (nn.LayerNorm on the tokens).
func layerNormCM(l *nn.LayerNorm, x *tensor.Tensor, hh, ww int) *tensor.Tensor {
	b, d := x.Dim(0), x.Dim(1)
	return tensor.LayerNorm2d(x.Reshape(b, d, hh, ww), l.Weight, l.Bias, l.Eps).Reshape(b, d, hh*ww)
}

func (b *twoWayBlock) forwardFast(queries, keys, queryPE, keyPE *tensor.Tensor, hh, ww int) (*tensor.Tensor, *tensor.Tensor) {
	if b.SkipFirstLayerPE {
		queries = attend(nil, b.SelfAttn, queries, queries, queries)
	} else {
		q := tensor.Add(queries, queryPE)
		queries = tensor.Add(queries, attend(nil, b.SelfAttn, q, q, queries))
	}
	queries = b.Norm1.Forward(nil, queries)

	q := tensor.Add(queries, queryPE)
	k := tensor.Add(keys, keyPE)
	queries = b.Norm2.Forward(nil, tensor.Add(queries, attnTokToImage(b.CrossTokenToImage, q, k, keys)))
	queries = b.Norm3.Forward(nil, tensor.Add(queries, b.MLP.Forward(nil, queries)))

	bk, d := keys.Dim(0), keys.Dim(1)
	conv := b.ConvMLP.forwardFast(keys.Reshape(bk, d, hh, ww))
	tensor.AddInPlace(conv, keys.Reshape(bk, d, hh, ww))
	keys = layerNormCM(b.Norm4, conv.Reshape(bk, d, hh*ww), hh, ww)

	q = tensor.Add(queries, queryPE)
	k = tensor.Add(keys, keyPE)
	upd := attnImageToTok(b.CrossImageToToken, k, q, queries) // [B, D, n], B >= keys' batch
	tensor.AddInPlace(upd, keys)
	keys = layerNormCM(b.Norm5, upd, hh, ww)
	return queries, keys
}

// forwardFast is Forward for inference: the 3x3 convolution (most of the AutoPrompt's
// work, once per class and block) by Winograd F(4x4, 3x3), 1.78x fewer products than
// the F(2x2, 3x3) of tensor.Conv2d, within the parity tolerances.
func (m *convMLP) forwardFast(x *tensor.Tensor) *tensor.Tensor {
	y := m.Conv0.Weight
	var h *tensor.Tensor
	if m.Conv0.Stride != 1 || y.Dim(2) != 3 || y.Dim(3) != 3 {
		h = m.Conv0.Forward(nil, x)
	} else {
		h = tensor.Conv3x3Winograd4With(x, m.w4.get(y), m.Conv0.Bias, m.Conv0.Pad)
	}
	h = tensor.GELU(m.Norm1.Forward(nil, h))
	return m.Conv3.Forward(nil, h)
}

// w4Cache keeps a kernel's Winograd transform with the bits it was made from: the
// weights may be trained or reloaded in place, so each use compares them (a pass over
// the kernel, far cheaper than transforming it again).
type w4Cache struct {
	mu   sync.Mutex
	bits []float32
	k    *tensor.Winograd4Weights
}

func (c *w4Cache) get(w *tensor.Tensor) *tensor.Winograd4Weights {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.k == nil || !slices.Equal(c.bits, w.Data) {
		c.k = tensor.NewWinograd4Weights(w)
		c.bits = slices.Clone(w.Data)
	}
	return c.k
}

// forwardFast is Forward for inference, returning the features channel-major
// [B, D, h*w].
func (t *TwoWayTransformer) forwardFast(image, tokens *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	b, d, hh, ww := image.Dim(0), image.Dim(1), image.Dim(2), image.Dim(3)
	emb := image.Reshape(b, d, hh*ww)
	queries, keys := tokens, emb
	for _, l := range t.Layers {
		queries, keys = l.forwardFast(queries, keys, tokens, emb, hh, ww)
	}
	q := tensor.Add(queries, tokens)
	k := tensor.Add(keys, emb)
	queries = t.NormFinalAttn.Forward(nil, tensor.Add(queries, attnTokToImage(t.FinalAttnTokenToImage, q, k, keys)))
	return queries, keys
}

// encodeFast is Encode for inference with channel-major features [B*K, D, hw].
func (a *AutoPrompt) encodeFast(image *tensor.Tensor, classes []int) (tokens, featuresCM *tensor.Tensor) {
	in, img := a.encoderInputs(nil, image, classes)
	return a.Encoder.forwardFast(img, in)
}

// heatmapsCM is Heatmaps with channel-major features.
func (a *AutoPrompt) heatmapsCM(tokens, featuresCM *tensor.Tensor) *tensor.Tensor {
	return tensor.MatMul(a.pointFeatures(nil, tokens), featuresCM, false, false)
}

// With N tokens and h heads, h*N (64 in the AutoPrompt) is smaller than the attention's
// internal width (128), so projecting the 4096 image positions is the expensive way
// round: the projections are folded into the few token vectors instead, e.g. for the
// keys q.(Wk x + bk) = (q Wk).x + q.bk. The folded form costs 2 h N D per image position
// and batch row; the projected form inner*D per position for each distinct image plus
// a little per row. attnTokToImage and attnImageToTok pick the cheaper.

// headWeights returns a Linear's weight [inner, D] as [h, d, D] and its bias as [h, d, 1].
func headWeights(l *nn.Linear, h int) (*tensor.Tensor, *tensor.Tensor) {
	inner, dim := l.Weight.Dim(0), l.Weight.Dim(1)
	w := l.Weight.Reshape(h, inner/h, dim)
	b := tensor.New(h, inner/h, 1)
	if l.Bias != nil {
		copy(b.Data, l.Bias.Data)
	}
	return w, b
}

// addRows adds r [B', R, 1] (broadcast over batch) to every row of x [B, R, n].
func addRows(x, r *tensor.Tensor) {
	bx, rows, n := x.Dim(0), x.Dim(1), x.Dim(2)
	br := r.Dim(0)
	for b := 0; b < bx; b++ {
		rb := b
		if br == 1 {
			rb = 0
		}
		for i := 0; i < rows; i++ {
			v := r.Data[rb*rows+i]
			row := x.Data[(b*rows+i)*n : (b*rows+i+1)*n]
			for j := range row {
				row[j] += v
			}
		}
	}
}

// foldAttention enables the folded forms (switched off only to benchmark against them).
var foldAttention = true

func attnTokToImage(a *nn.Attention, q, k, v *tensor.Tensor) *tensor.Tensor {
	bq, nt, dim := q.Dim(0), q.Dim(1), q.Dim(2)
	bk := k.Dim(0)
	h := a.Heads
	inner := a.QProj.Weight.Dim(0)
	b := max(bq, bk)
	if !foldAttention || 2*h*nt*dim*b >= inner*dim*bk*2+2*h*nt*(inner/h)*b {
		return attnTokToImageProj(a, q, k, v)
	}
	d := inner / h
	qp := headsTok(a.QProj, q, h) // Bq h N d
	wk, bkv := headWeights(a.KProj, h)
	qk := tensor.MatMul(qp, wk, false, false).Reshape(bq, h*nt, dim) // (q Wk)
	logits := tensor.MatMul(qk, k, false, false)                     // B hN n
	addRows(logits, tensor.MatMul(qp, bkv, false, false).Reshape(bq, h*nt, 1))
	tensor.ScaleInPlace(logits, float32(1/math.Sqrt(float64(d))))
	tensor.SoftmaxInPlace(logits, nil)
	// attn.(Wv x + bv) = (attn.x) Wv^T + bv, since each row of attn sums to 1.
	ax := tensor.MatMul(logits, v, false, true).Reshape(b, h, nt, dim) // B h N D
	wv, bvv := headWeights(a.VProj, h)
	out := tensor.MatMul(ax, wv, false, true) // B h N d
	for i := range out.Data {
		out.Data[i] += bvv.Data[(i/(nt*d))%h*d+i%d]
	}
	out = tensor.Permute(out, 0, 2, 1, 3).Reshape(b, nt, inner)
	return a.OutProj.Forward(nil, out)
}

func attnImageToTok(a *nn.Attention, q, k, v *tensor.Tensor) *tensor.Tensor {
	bk, dim := q.Dim(0), q.Dim(1)
	bq, nt := k.Dim(0), k.Dim(1)
	h := a.Heads
	inner := a.QProj.Weight.Dim(0)
	b := max(bq, bk)
	if !foldAttention || 2*h*nt*dim*b >= inner*dim*(bk+b) {
		return attnImageToTokProj(a, q, k, v)
	}
	d := inner / h
	kp := headsTok(a.KProj, k, h) // Bq h N d
	wq, bqv := headWeights(a.QProj, h)
	kq := tensor.MatMul(kp, wq, false, false).Reshape(bq, h*nt, dim) // (k Wq)
	logits := tensor.MatMul(kq, q, false, false)                     // B hN n
	addRows(logits, tensor.MatMul(kp, bqv, false, false).Reshape(bq, h*nt, 1))
	tensor.ScaleInPlace(logits, float32(1/math.Sqrt(float64(d))))
	softmaxTokens(logits, h, nt)
	// Wo (attn . (Wv v + bv)) + bo = (Wo_h (Wv v + bv)_h^T) . attn + bo.
	vp := headsTok(a.VProj, v, h)                                      // Bq h N d
	wo := tensor.Permute(a.OutProj.Weight.Reshape(dim, h, d), 1, 0, 2) // h D d
	vt := tensor.MatMul(wo, vp, false, true)                           // Bq h D N
	vt = tensor.Permute(vt, 0, 2, 1, 3).Reshape(bq, dim, h*nt)         // Bq D hN
	out := tensor.MatMul(vt, logits, false, false)                     // B D n
	if a.OutProj.Bias != nil {
		addRows(out, a.OutProj.Bias.Reshape(1, dim, 1))
	}
	return out
}

// softmaxTokens normalises logits [B, h*N, n] over the N tokens of each head, for every
// image position (the image->token attention's softmax, here along a strided axis).
func softmaxTokens(x *tensor.Tensor, h, nt int) {
	b, n := x.Dim(0), x.Dim(2)
	par.For(b*h, 1, func(lo, hi int) {
		mx := make([]float32, n)
		sum := make([]float32, n)
		for g := lo; g < hi; g++ {
			rows := x.Data[g*nt*n : (g+1)*nt*n]
			copy(mx, rows[:n])
			for t := 1; t < nt; t++ {
				for j, v := range rows[t*n : (t+1)*n] {
					if v > mx[j] {
						mx[j] = v
					}
				}
			}
			clear(sum)
			for t := 0; t < nt; t++ {
				row := rows[t*n : (t+1)*n]
				for j, v := range row {
					e := float32(math.Exp(float64(v - mx[j])))
					row[j] = e
					sum[j] += e
				}
			}
			for t := 0; t < nt; t++ {
				row := rows[t*n : (t+1)*n]
				for j := range row {
					row[j] /= sum[j]
				}
			}
		}
	})
}
