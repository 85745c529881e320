package sam

import (
	"context"
	"fmt"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// forwardFast is the inference path of Forward: the same arithmetic as the tape path, but
// attention is fused per (window, head) and row block (tensor.RelPosAttention), windows are
// gathered and scattered by direct copies, residuals are added in place and the neck's 1x1
// convolution runs as a Linear on the NHWC map, so nearly all time is spent in GEMM.
func (e *ImageEncoder) forwardFast(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	c := e.Config
	x = e.PatchEmbed.Forward(nil, x) // B C h w
	x = tensor.Permute(x, 0, 2, 3, 1)
	e.hook("patch_embed", x)
	h, w := x.Dim(1), x.Dim(2)
	if e.PosEmbed != nil {
		tensor.AddInPlace(x, e.posEmbedFor(nil, h, w))
	}
	for i, blk := range e.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		blk.forwardFast(x)
		e.hook(fmt.Sprintf("block%02d", i), x)
	}
	// neck.0 is a bias-free 1x1 conv: a Linear over channels in NHWC, followed by the
	// channel LayerNorm, which in NHWC is a LayerNorm over the last axis.
	y := tensor.Linear(x, e.Neck0.Weight.Reshape(c.OutChans, c.EmbedDim), nil)
	y = tensor.LayerNorm(y, e.Neck1.Weight, e.Neck1.Bias, e.Neck1.Eps)
	y = tensor.Permute(y, 0, 3, 1, 2)
	y = e.Neck2.Forward(nil, y)
	return e.Neck3.Forward(nil, y), nil
}

// forwardFast updates x [B, h, w, C] in place with the block's output.
func (b *EncoderBlock) forwardFast(x *tensor.Tensor) {
	bs, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	a := b.Attn
	y := tensor.LayerNorm(x, b.Norm1.Weight, b.Norm1.Bias, b.Norm1.Eps)
	var gh, gw int
	var groups *tensor.Tensor
	if b.Window > 0 {
		gh, gw = b.Window, b.Window
		groups = gatherWindows(y, b.Window)
	} else {
		gh, gw = h, w
		groups = y.Reshape(bs, h*w, c)
	}
	qkv := tensor.Linear(groups, a.QKV.Weight, a.QKV.Bias)
	var rh, rw *tensor.Tensor
	if a.RelPosH != nil {
		rh = getRelPos(nil, gh, gh, a.RelPosH)
		rw = getRelPos(nil, gw, gw, a.RelPosW)
	}
	att := tensor.RelPosAttention(qkv, a.Heads, gh, gw, rh, rw, a.scale)
	qkv = nil
	att = tensor.Linear(att, a.Proj.Weight, a.Proj.Bias)
	if b.Window > 0 {
		scatterWindowsAdd(x, att, b.Window)
	} else {
		addInPlace(x.Data, att.Data)
	}
	y = tensor.LayerNorm(x, b.Norm2.Weight, b.Norm2.Bias, b.Norm2.Eps)
	y = tensor.GELU(tensor.Linear(y, b.Lin1.Weight, b.Lin1.Bias))
	y = tensor.Linear(y, b.Lin2.Weight, b.Lin2.Bias)
	addInPlace(x.Data, y.Data)
}

func addInPlace(dst, src []float32) {
	par.For(len(dst), 1<<16, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i := range d {
			d[i] += s[i]
		}
	})
}

// gatherWindows copies y [B, h, w, C] into zero-padded windows [B*nWin, ws*ws, C] in the
// official window_partition order (batch, window row, window col; row-major inside).
func gatherWindows(y *tensor.Tensor, ws int) *tensor.Tensor {
	bs, h, w, c := y.Dim(0), y.Dim(1), y.Dim(2), y.Dim(3)
	nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
	out := tensor.New(bs*nh*nw, ws*ws, c)
	par.For(bs*nh*nw, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			bi, wy, wx := g/(nh*nw), g/nw%nh, g%nw
			for r := range ws {
				yy := wy*ws + r
				if yy >= h {
					break
				}
				x0 := wx * ws
				n := min(ws, w-x0)
				src := y.Data[((bi*h+yy)*w+x0)*c : ((bi*h+yy)*w+x0+n)*c]
				copy(out.Data[(g*ws*ws+r*ws)*c:], src)
			}
		}
	})
	return out
}

// scatterWindowsAdd adds the windows [B*nWin, ws*ws, C] back onto x [B, h, w, C],
// dropping the padding (window_unpartition followed by the residual add).
func scatterWindowsAdd(x, win *tensor.Tensor, ws int) {
	bs, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	nh, nw := (h+ws-1)/ws, (w+ws-1)/ws
	par.For(bs*nh*nw, 1, func(lo, hi int) {
		for g := lo; g < hi; g++ {
			bi, wy, wx := g/(nh*nw), g/nw%nh, g%nw
			for r := range ws {
				yy := wy*ws + r
				if yy >= h {
					break
				}
				x0 := wx * ws
				n := min(ws, w-x0)
				dst := x.Data[((bi*h+yy)*w+x0)*c : ((bi*h+yy)*w+x0+n)*c]
				src := win.Data[(g*ws*ws+r*ws)*c:]
				for i := range dst {
					dst[i] += src[i]
				}
			}
		}
	})
}
