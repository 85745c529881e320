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

// encBuffers are the activations of one image's pass through the blocks, allocated once
// per Forward and reused by every block (ViT-B: ~150 MB), so that inference makes almost
// no garbage and peak memory stays near weights + one block's activations.
type encBuffers struct {
	y, win, qkv, att, hidden []float32
}

// forwardFast is the inference path of Forward: the same arithmetic as the tape path, but
// attention is fused per (window, head) and row block (tensor.RelPosAttentionTo), linear
// layers call the GEMM directly with bias (and GELU) applied row by row while the row is
// in cache, windows are gathered and scattered by copies, residuals are added in place
// and the neck's 1x1 convolution runs on the NHWC map, so nearly all time is GEMM.
func (e *ImageEncoder) forwardFast(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	c := e.Config
	x = e.PatchEmbed.Forward(nil, x) // B C h w
	x = tensor.Permute(x, 0, 2, 3, 1)
	e.hook("patch_embed", x)
	bs, h, w, C := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if e.PosEmbed != nil {
		tensor.AddInPlace(x, e.posEmbedFor(nil, h, w))
	}
	tok := h * w
	maxT := tok
	if c.WindowSize > 0 {
		ws := c.WindowSize
		maxT = max(maxT, ((h+ws-1)/ws)*((w+ws-1)/ws)*ws*ws)
	}
	hidden := 0
	if len(e.Blocks) > 0 {
		hidden = e.Blocks[0].Lin1.Weight.Dim(0)
	}
	buf := &encBuffers{
		y:      make([]float32, maxT*C),
		win:    make([]float32, maxT*C),
		qkv:    make([]float32, maxT*3*C),
		att:    make([]float32, maxT*C),
		hidden: make([]float32, tok*hidden),
	}
	for i, blk := range e.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for b := range bs {
			blk.forwardFast(x.Data[b*tok*C:(b+1)*tok*C], h, w, C, buf)
		}
		e.hook(fmt.Sprintf("block%02d", i), x)
	}
	buf = nil
	// neck.0 is a bias-free 1x1 conv: a product over channels in NHWC, followed by the
	// channel LayerNorm, which in NHWC is a LayerNorm of each row.
	y := tensor.New(bs, h, w, c.OutChans)
	gemm.Sgemm(false, true, bs*tok, c.OutChans, C, 1, x.Data, C, e.Neck0.Weight.Data, C, 0, y.Data, c.OutChans)
	layerNormRows(y.Data, y.Data, c.OutChans, e.Neck1.LayerNorm)
	y = tensor.Permute(y, 0, 3, 1, 2)
	y = e.Neck2.Forward(nil, y)
	return e.Neck3.Forward(nil, y), nil
}

// forwardFast updates one image's tokens x [h*w, C] in place with the block's output.
func (b *EncoderBlock) forwardFast(x []float32, h, w, C int, buf *encBuffers) {
	a := b.Attn
	tok := h * w
	layerNormRows(buf.y[:tok*C], x, C, *b.Norm1)
	src, groups, gh, gw := buf.y[:tok*C], 1, h, w
	if b.Window > 0 {
		ws := b.Window
		nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
		groups, gh, gw = nh*nw, ws, ws
		src = buf.win[:groups*ws*ws*C]
		gatherWindows(src, buf.y, h, w, C, ws)
	}
	T := groups * gh * gw
	qkv := buf.qkv[:T*3*C]
	linearRows(qkv, src, T, C, a.QKV.Weight, a.QKV.Bias, false)
	var rh, rw *tensor.Tensor
	if a.RelPosH != nil {
		rh = getRelPos(nil, gh, gh, a.RelPosH)
		rw = getRelPos(nil, gw, gw, a.RelPosW)
	}
	att := buf.att[:T*C]
	tensor.RelPosAttentionTo(tensor.FromSlice(att, groups, gh*gw, C), tensor.FromSlice(qkv, groups, gh*gw, 3*C), a.Heads, gh, gw, rh, rw, a.scale)
	// The projection's bias (like lin2's below) is added with the residual, in one pass.
	proj := buf.y[:T*C]
	linearRows(proj, att, T, C, a.Proj.Weight, nil, false)
	if b.Window > 0 {
		scatterWindowsAdd(x, proj, a.Proj.Bias.Data, h, w, C, b.Window)
	} else {
		addRowsInPlace(x, proj, a.Proj.Bias.Data)
	}
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
			if bias != nil {
				b := bias.Data[:len(row)]
				for i := range row {
					row[i] += b[i]
				}
			}
			if gelu {
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

// gatherWindows copies y [h, w, C] into zero-padded windows dst [nWin, ws*ws, C] in the
// official window_partition order (window row, window col; row-major inside).
func gatherWindows(dst, y []float32, h, w, c, ws int) {
	nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
	par.For(nh*nw, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			wy, wx := g/nw, g%nw
			win := dst[g*ws*ws*c : (g+1)*ws*ws*c]
			clear(win)
			for r := range ws {
				yy := wy*ws + r
				if yy >= h {
					break
				}
				x0 := wx * ws
				n := min(ws, w-x0)
				copy(win[r*ws*c:], y[(yy*w+x0)*c:(yy*w+x0+n)*c])
			}
		}
	})
}

// scatterWindowsAdd adds the windows [nWin, ws*ws, C] plus bias [C] back onto x [h, w, C],
// dropping the padding (window_unpartition followed by the residual add).
func scatterWindowsAdd(x, win, bias []float32, h, w, c, ws int) {
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
				dst := x[(yy*w+x0)*c : (yy*w+x0+n)*c]
				src := win[(g*ws*ws+r*ws)*c:]
				for p := range n {
					d, s := dst[p*c:(p+1)*c], src[p*c:(p+1)*c]
					for i := range d {
						d[i] += s[i] + bias[i]
					}
				}
			}
		}
	})
}
