package sam

import (
	"context"
	"fmt"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// encBuffers are the activations of one image's pass, reused by every block and kept
// by the encoder between calls (ViT-B: ~150 MB), so that inference makes almost no
// garbage and peak memory stays near weights + one block's activations.
type encBuffers struct {
	x                        []float32 // the residual stream [h*w, C]
	y, win, qkv, att, hidden []float32
}

// buffers returns the encoder's cached buffers (or new ones if another call holds them),
// sized for an h x w token grid.
func (e *ImageEncoder) buffers(h, w int) *encBuffers {
	e.bufMu.Lock()
	b := e.buf
	e.buf = nil
	e.bufMu.Unlock()
	if b == nil {
		b = &encBuffers{}
	}
	c := e.Config
	C, tok := c.EmbedDim, h*w
	maxT := tok
	if c.WindowSize > 0 {
		ws := c.WindowSize
		maxT = max(maxT, ((h+ws-1)/ws)*((w+ws-1)/ws)*ws*ws)
	}
	hidden := 0
	if len(e.Blocks) > 0 {
		hidden = e.Blocks[0].Lin1.Weight.Dim(0)
	}
	p := c.PatchSize
	b.x = grow(b.x, tok*C)
	b.y = grow(b.y, max(maxT*C, tok*c.InChans*p*p))           // also the patch im2col
	b.win = grow(b.win, max(maxT*C, 9*c.OutChans*c.OutChans)) // also the 3x3 weights
	b.qkv = grow(b.qkv, max(maxT*3*C, tok*9*c.OutChans))      // also the neck's 3x3 im2col
	b.att = grow(b.att, max(maxT*C, 2*tok*c.OutChans))        // also the neck's maps
	b.hidden = grow(b.hidden, tok*max(hidden, 3*C))           // also the windowed blocks' qkv
	return b
}

// FreeBuffers drops the activation buffers the inference path keeps between calls
// (ViT-B: ~150 MB); the next inference allocates them again.
func (e *ImageEncoder) FreeBuffers() {
	e.bufMu.Lock()
	e.buf = nil
	e.bufMu.Unlock()
}

func (e *ImageEncoder) release(b *encBuffers) {
	e.bufMu.Lock()
	e.buf = b
	e.bufMu.Unlock()
}

// forwardFast is the inference path of Forward: the same arithmetic as the tape path, but
// the patch embedding and the neck's convolutions are products on NHWC rows (im2col into
// reused buffers), attention is fused per (window, head) and row block
// (tensor.RelPosAttentionTo), linear layers call the GEMM directly with bias (and GELU)
// applied row by row, windows are gathered and scattered by copies and residuals are
// added in place, so nearly all time is GEMM and the only allocation is the result.
func (e *ImageEncoder) forwardFast(ctx context.Context, in *tensor.Tensor) (*tensor.Tensor, error) {
	c := e.Config
	bs, H, W := in.Dim(0), in.Dim(2), in.Dim(3)
	p := c.PatchSize
	h, w := H/p, W/p
	tok, C, oc := h*w, c.EmbedDim, c.OutChans
	buf := e.buffers(h, w)
	defer e.release(buf)
	var pos *tensor.Tensor
	if e.PosEmbed != nil {
		pos = e.posEmbedFor(nil, h, w)
	}
	out := tensor.New(bs, oc, h, w)
	for bi := range bs {
		x := buf.x
		img := in.Data[bi*c.InChans*H*W : (bi+1)*c.InChans*H*W]
		// Patch embedding: non-overlapping patches are rows of (channel, ky, kx).
		k := c.InChans * p * p
		cols := buf.y[:tok*k]
		par.For(tok, 16, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				py, px := t/w, t%w
				row := cols[t*k : (t+1)*k]
				for ch := range c.InChans {
					for ky := range p {
						src := img[(ch*H+py*p+ky)*W+px*p:]
						copy(row[(ch*p+ky)*p:(ch*p+ky+1)*p], src[:p])
					}
				}
			}
		})
		linearRows(x, cols, tok, k, e.PatchEmbed.Weight.Reshape(C, k), e.PatchEmbed.Bias, false)
		e.hook("patch_embed", tensor.FromSlice(x, 1, h, w, C))
		if pos != nil {
			addInPlace(x, pos.Data)
		}
		for i, blk := range e.Blocks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			blk.forwardFast(x, h, w, C, buf)
			e.hook(fmt.Sprintf("block%02d", i), tensor.FromSlice(x, 1, h, w, C))
		}
		// Neck: 1x1 conv (a product over channels), channel LayerNorm (a row LayerNorm
		// in NHWC), 3x3 conv as im2col + product, channel LayerNorm, then NCHW.
		y1 := buf.att[:tok*oc]
		linearRows(y1, x, tok, C, e.Neck0.Weight.Reshape(oc, C), nil, false)
		layerNormRows(y1, y1, oc, e.Neck1.LayerNorm)
		cols3 := buf.qkv[:tok*9*oc]
		im2col3x3(cols3, y1, h, w, oc)
		w3 := buf.win[:oc*9*oc]
		permuteConv3x3(w3, e.Neck2.Weight.Data, oc)
		y2 := buf.att[tok*oc : 2*tok*oc]
		linearRows(y2, cols3, tok, 9*oc, tensor.FromSlice(w3, oc, 9*oc), nil, false)
		layerNormRows(y2, y2, oc, e.Neck3.LayerNorm)
		transposeAddTo(out.Data[bi*oc*tok:(bi+1)*oc*tok], y2, nil, tok, oc)
	}
	return out, nil
}

// im2col3x3 writes, for each pixel of the h x w NHWC map y (c channels), the 3x3
// neighbourhood (zero outside) as a row ordered (ky, kx, channel).
func im2col3x3(dst, y []float32, h, w, c int) {
	par.For(h*w, 16, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			py, px := t/w, t%w
			row := dst[t*9*c : (t+1)*9*c]
			for ky := range 3 {
				for kx := range 3 {
					seg := row[(ky*3+kx)*c : (ky*3+kx+1)*c]
					sy, sx := py+ky-1, px+kx-1
					if sy < 0 || sy >= h || sx < 0 || sx >= w {
						clear(seg)
						continue
					}
					copy(seg, y[(sy*w+sx)*c:(sy*w+sx+1)*c])
				}
			}
		}
	})
}

// permuteConv3x3 reorders a 3x3 conv weight [out, in, 3, 3] into [out, (ky, kx, in)].
func permuteConv3x3(dst, w []float32, c int) {
	for o := range c {
		for i := range c {
			for k := range 9 {
				dst[(o*9+k)*c+i] = w[(o*c+i)*9+k]
			}
		}
	}
}

// forwardFast updates one image's tokens x [h*w, C] in place with the block's output.
func (b *EncoderBlock) forwardFast(x []float32, h, w, C int, buf *encBuffers) {
	a := b.Attn
	tok := h * w
	layerNormRows(buf.y[:tok*C], x, C, *b.Norm1)
	groups, gh, gw := 1, h, w
	if b.Window > 0 {
		ws := b.Window
		groups, gh, gw = ((h+ws-1)/ws)*((w+ws-1)/ws), ws, ws
	}
	T := groups * gh * gw
	qkv := buf.qkv[:T*3*C]
	if b.Window > 0 {
		// qkv of the real tokens only, then windows of it: a padding token is zero after
		// the norm, so its qkv is exactly the bias (ViT-B: 4900 rows would be 4096).
		tq := buf.hidden[:tok*3*C]
		linearRows(tq, buf.y[:tok*C], tok, C, a.QKV.Weight, a.QKV.Bias, false)
		gatherWindows(qkv, tq, h, w, 3*C, b.Window, a.QKV.Bias.Data)
	} else {
		linearRows(qkv, buf.y[:tok*C], T, C, a.QKV.Weight, a.QKV.Bias, false)
	}
	var rh, rw *tensor.Tensor
	if a.RelPosH != nil {
		rh = getRelPos(nil, gh, gh, a.RelPosH)
		rw = getRelPos(nil, gw, gw, a.RelPosW)
	}
	att := buf.att[:T*C]
	tensor.RelPosAttentionTo(tensor.FromSlice(att, groups, gh*gw, C), tensor.FromSlice(qkv, groups, gh*gw, 3*C), a.Heads, gh, gw, rh, rw, a.scale)
	if b.Window > 0 {
		// Back to the token grid before the projection, which then skips the padding.
		tokAtt := buf.win[:tok*C]
		ungatherWindows(tokAtt, att, h, w, C, b.Window)
		att = tokAtt
	}
	// The projection's bias (like lin2's below) is added with the residual, in one pass.
	proj := buf.y[:tok*C]
	linearRows(proj, att, tok, C, a.Proj.Weight, nil, false)
	addRowsInPlace(x, proj, a.Proj.Bias.Data)
	y := buf.y[:tok*C]
	layerNormRows(y, x, C, *b.Norm2)
	hid := buf.hidden[:tok*b.Lin1.Weight.Dim(0)]
	linearRows(hid, y, tok, C, b.Lin1.Weight, b.Lin1.Bias, true)
	out := buf.att[:tok*C]
	linearRows(out, hid, tok, b.Lin1.Weight.Dim(0), b.Lin2.Weight, nil, false)
	addRowsInPlace(x, out, b.Lin2.Bias.Data)
}

// linearRows computes dst [rows, out] = src [rows, in] · weightᵀ + bias (bias may be
// nil), then GELU if asked, applying bias and activation to each row in one pass.
func linearRows(dst, src []float32, rows, in int, weight, bias *tensor.Tensor, gelu bool) {
	out := weight.Dim(0)
	gemm.Sgemm(false, true, rows, out, in, 1, src, in, weight.Data, in, 0, dst, out)
	if bias == nil && !gelu {
		return
	}
	par.For(rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := dst[r*out : (r+1)*out]
			switch {
			case bias != nil && gelu:
				vec.BiasGELU(row, row, bias.Data)
			case bias != nil:
				vec.Blend(row, row, bias.Data, 1, 1) // row + bias, exactly (AVX2)
			default:
				vec.GELU(row, row)
			}
		}
	})
}

// layerNormRows normalises each row of width c of src into dst (which may alias src).
func layerNormRows(dst, src []float32, c int, ln nn.LayerNorm) {
	rows := len(src) / c
	par.For(rows, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			vec.LayerNorm(dst[r*c:(r+1)*c], src[r*c:(r+1)*c], ln.Weight.Data, ln.Bias.Data, ln.Eps)
		}
	})
}

// addRowsInPlace adds src + bias (bias broadcast over rows of its length) to dst.
func addRowsInPlace(dst, src, bias []float32) {
	c := len(bias)
	par.For(len(dst)/c, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*c:(r+1)*c], src[r*c:(r+1)*c]
			for i := range d {
				d[i] += s[i] + bias[i]
			}
		}
	})
}

// gatherWindows copies y [h, w, c] into padded windows dst [nWin, ws*ws, c] in the
// official window_partition order (window row, window col; row-major inside); padding
// tokens are pad (c values), or zero when pad is nil.
func gatherWindows(dst, y []float32, h, w, c, ws int, pad []float32) {
	nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
	fill := func(seg []float32) {
		if pad == nil {
			clear(seg)
			return
		}
		for p := 0; p < len(seg); p += c {
			copy(seg[p:p+c], pad)
		}
	}
	par.For(nh*nw, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			wy, wx := g/nw, g%nw
			win := dst[g*ws*ws*c : (g+1)*ws*ws*c]
			for r := range ws {
				row := win[r*ws*c : (r+1)*ws*c]
				yy := wy*ws + r
				if yy >= h {
					fill(row)
					continue
				}
				x0 := wx * ws
				n := min(ws, w-x0)
				copy(row, y[(yy*w+x0)*c:(yy*w+x0+n)*c])
				fill(row[n*c:])
			}
		}
	})
}

// ungatherWindows copies the windows [nWin, ws*ws, c] back to the grid x [h, w, c],
// dropping the padding (window_unpartition).
func ungatherWindows(x, win []float32, h, w, c, ws int) {
	nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
	par.For(nh*nw, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			wy, wx := g/nw, g%nw
			for r := range ws {
				yy := wy*ws + r
				if yy >= h {
					break
				}
				x0 := wx * ws
				n := min(ws, w-x0)
				copy(x[(yy*w+x0)*c:(yy*w+x0+n)*c], win[(g*ws*ws+r*ws)*c:])
			}
		}
	})
}

func addInPlace(dst, src []float32) {
	par.For(len(dst), 1<<16, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}
