package tensor

import (
	"fmt"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
)

// Backward kernels for the convolutions, by im2col and SGEMM.

// BiasBackwardNCHW sums g [N, C, H, W] over N, H and W: the gradient of a per-channel bias.
func BiasBackwardNCHW(g *Tensor) *Tensor {
	if g.Rank() != 4 {
		panic(fmt.Sprintf("tensor.BiasBackwardNCHW: gradient %v is not NCHW", g.Shape()))
	}
	n, c, hw := g.Dim(0), g.Dim(1), g.Dim(2)*g.Dim(3)
	out := New(c)
	par.For(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var s float64
			for b := 0; b < n; b++ {
				for _, v := range g.Data[(b*c+ch)*hw : (b*c+ch+1)*hw] {
					s += float64(v)
				}
			}
			out.Data[ch] = float32(s)
		}
	})
	return out
}

type convGeom struct {
	c, h, w, kh, kw, s, p, ho, wo int
}

// im2col writes cols [C·kh·kw, Ho·Wo] for one image x [C, H, W] (zeros where padded).
func (cg convGeom) im2col(x, cols []float32) {
	l := cg.ho * cg.wo
	par.For(cg.c*cg.kh*cg.kw, 4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ch, ky, kx := r/(cg.kh*cg.kw), (r/cg.kw)%cg.kh, r%cg.kw
			dst := cols[r*l : (r+1)*l]
			src := x[ch*cg.h*cg.w : (ch+1)*cg.h*cg.w]
			for oy := 0; oy < cg.ho; oy++ {
				iy := oy*cg.s - cg.p + ky
				row := dst[oy*cg.wo : (oy+1)*cg.wo]
				if iy < 0 || iy >= cg.h {
					clear(row)
					continue
				}
				for ox := range row {
					ix := ox*cg.s - cg.p + kx
					if ix < 0 || ix >= cg.w {
						row[ox] = 0
					} else {
						row[ox] = src[iy*cg.w+ix]
					}
				}
			}
		}
	})
}

// col2imAdd adds cols [C·kh·kw, Ho·Wo] back into dx [C, H, W]; the adjoint of im2col.
func (cg convGeom) col2imAdd(cols, dx []float32) {
	l := cg.ho * cg.wo
	kk := cg.kh * cg.kw
	par.For(cg.c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			dst := dx[ch*cg.h*cg.w : (ch+1)*cg.h*cg.w]
			for k := 0; k < kk; k++ {
				ky, kx := k/cg.kw, k%cg.kw
				src := cols[(ch*kk+k)*l : (ch*kk+k+1)*l]
				for oy := 0; oy < cg.ho; oy++ {
					iy := oy*cg.s - cg.p + ky
					if iy < 0 || iy >= cg.h {
						continue
					}
					row := src[oy*cg.wo : (oy+1)*cg.wo]
					for ox, v := range row {
						ix := ox*cg.s - cg.p + kx
						if ix >= 0 && ix < cg.w {
							dst[iy*cg.w+ix] += v
						}
					}
				}
			}
		}
	})
}

// Conv2dBackward returns the gradients of Conv2d(x, w, b, stride, pad) for x (if needX)
// and w (if needW) given the upstream g [N, O, Ho, Wo]. The bias gradient is
// BiasBackwardNCHW(g).
func Conv2dBackward(x, w, g *Tensor, stride, pad int, needX, needW bool) (dx, dw *Tensor) {
	if x.Rank() != 4 || w.Rank() != 4 || g.Rank() != 4 || x.Dim(1) != w.Dim(1) || g.Dim(1) != w.Dim(0) || g.Dim(0) != x.Dim(0) {
		panic(fmt.Sprintf("tensor.Conv2dBackward: x %v, w %v, g %v", x.Shape(), w.Shape(), g.Shape()))
	}
	cg := convGeom{c: x.Dim(1), h: x.Dim(2), w: x.Dim(3), kh: w.Dim(2), kw: w.Dim(3), s: stride, p: pad, ho: g.Dim(2), wo: g.Dim(3)}
	if cg.ho != (cg.h+2*pad-cg.kh)/stride+1 || cg.wo != (cg.w+2*pad-cg.kw)/stride+1 {
		panic(fmt.Sprintf("tensor.Conv2dBackward: gradient %v does not match x %v, w %v, stride %d, pad %d", g.Shape(), x.Shape(), w.Shape(), stride, pad))
	}
	n, o := x.Dim(0), w.Dim(0)
	ckk, l := cg.c*cg.kh*cg.kw, cg.ho*cg.wo
	if !needX && !needW {
		return nil, nil
	}
	cols := make([]float32, ckk*l)
	if needX {
		dx = New(x.Shape()...)
	}
	if needW {
		dw = New(w.Shape()...)
	}
	for b := 0; b < n; b++ {
		gb := g.Data[b*o*l : (b+1)*o*l]
		if needW {
			cg.im2col(x.Data[b*cg.c*cg.h*cg.w:(b+1)*cg.c*cg.h*cg.w], cols)
			// dW [O, CKK] += G_b [O, L] · cols^T
			beta := float32(1)
			if b == 0 {
				beta = 0
			}
			gemm.Sgemm(false, true, o, ckk, l, 1, gb, l, cols, l, beta, dw.Data, ckk)
		}
		if needX {
			// dcols [CKK, L] = W^T [CKK, O] · G_b [O, L]
			gemm.Sgemm(true, false, ckk, l, o, 1, w.Data, ckk, gb, l, 0, cols, l)
			cg.col2imAdd(cols, dx.Data[b*cg.c*cg.h*cg.w:(b+1)*cg.c*cg.h*cg.w])
		}
	}
	return dx, dw
}

// ConvTranspose2dBackward returns the gradients of ConvTranspose2d(x, w, b, stride) (kernel
// == stride, no padding) for x (if needX) and w (if needW) given the upstream
// g [N, O, H·k, W·k]. The bias gradient is BiasBackwardNCHW(g).
func ConvTranspose2dBackward(x, w, g *Tensor, stride int, needX, needW bool) (dx, dw *Tensor) {
	if x.Rank() != 4 || w.Rank() != 4 || g.Rank() != 4 || x.Dim(1) != w.Dim(0) || g.Dim(1) != w.Dim(1) ||
		w.Dim(2) != stride || w.Dim(3) != stride || g.Dim(0) != x.Dim(0) || g.Dim(2) != x.Dim(2)*stride || g.Dim(3) != x.Dim(3)*stride {
		panic(fmt.Sprintf("tensor.ConvTranspose2dBackward: x %v, w %v, g %v, stride %d", x.Shape(), w.Shape(), g.Shape(), stride))
	}
	n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	o, k := w.Dim(1), stride
	hw, okk := h*wd, o*k*k
	ow := wd * k
	if !needX && !needW {
		return nil, nil
	}
	// gm [O·k·k, H·W]: gm[(o,p,q), (i,j)] = g[o, i·k+p, j·k+q]
	gm := make([]float32, okk*hw)
	if needX {
		dx = New(x.Shape()...)
	}
	if needW {
		dw = New(w.Shape()...)
	}
	for b := 0; b < n; b++ {
		gb := g.Data[b*o*hw*k*k : (b+1)*o*hw*k*k]
		par.For(okk, 4, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				oc, p, q := r/(k*k), (r/k)%k, r%k
				dst := gm[r*hw : (r+1)*hw]
				src := gb[oc*hw*k*k:]
				for i := 0; i < h; i++ {
					srow := src[(i*k+p)*ow:]
					drow := dst[i*wd : (i+1)*wd]
					for j := range drow {
						drow[j] = srow[j*k+q]
					}
				}
			}
		})
		xb := x.Data[b*c*hw : (b+1)*c*hw]
		if needX {
			// dx_b [C, HW] = W [C, OKK] · gm [OKK, HW]
			gemm.Sgemm(false, false, c, hw, okk, 1, w.Data, okk, gm, hw, 0, dx.Data[b*c*hw:(b+1)*c*hw], hw)
		}
		if needW {
			beta := float32(1)
			if b == 0 {
				beta = 0
			}
			// dW [C, OKK] += x_b [C, HW] · gm^T
			gemm.Sgemm(false, true, c, okk, hw, 1, xb, hw, gm, hw, beta, dw.Data, okk)
		}
	}
	return dx, dw
}
