package tensor

import (
	"fmt"
	"math"
	"sync"

	"github.com/aisam/aisam/internal/par"
)

// LayerNormBackward returns the gradients of LayerNorm(x, w, b, eps) (over the last axis)
// for x, w and b given the upstream g. w may be nil (no affine); then dw and db are nil.
// Statistics are recomputed from x in float64.
func LayerNormBackward(x, w, g *Tensor, eps float32) (dx, dw, db *Tensor) {
	checkSame("LayerNormBackward", x, g)
	n := x.Dim(-1)
	rows := x.Numel() / max(n, 1)
	if w != nil && w.Numel() != n {
		panic(fmt.Sprintf("tensor.LayerNormBackward: weight %v for input %v", w.Shape(), x.Shape()))
	}
	dx = New(x.Shape()...)
	var accW, accB []float64
	var mu sync.Mutex
	if w != nil {
		accW, accB = make([]float64, n), make([]float64, n)
	}
	grain := max(1, (1<<13)/max(n, 1))
	par.For(rows, grain, func(lo, hi int) {
		xhat := make([]float64, n)
		dxh := make([]float64, n)
		var lw, lb []float64
		if w != nil {
			lw, lb = make([]float64, n), make([]float64, n)
		}
		for r := lo; r < hi; r++ {
			xr, gr, dr := x.Data[r*n:(r+1)*n], g.Data[r*n:(r+1)*n], dx.Data[r*n:(r+1)*n]
			var mean float64
			for _, v := range xr {
				mean += float64(v)
			}
			mean /= float64(n)
			var vr float64
			for _, v := range xr {
				d := float64(v) - mean
				vr += d * d
			}
			vr /= float64(n)
			rstd := 1 / math.Sqrt(vr+float64(eps))
			var m1, m2 float64
			for i, v := range xr {
				xh := (float64(v) - mean) * rstd
				xhat[i] = xh
				gi := float64(gr[i])
				if w != nil {
					lw[i] += gi * xh
					lb[i] += gi
					gi *= float64(w.Data[i])
				}
				dxh[i] = gi
				m1 += gi
				m2 += gi * xh
			}
			m1 /= float64(n)
			m2 /= float64(n)
			for i := range dr {
				dr[i] = float32(rstd * (dxh[i] - m1 - xhat[i]*m2))
			}
		}
		if w != nil {
			mu.Lock()
			for i := range accW {
				accW[i] += lw[i]
				accB[i] += lb[i]
			}
			mu.Unlock()
		}
	})
	if w != nil {
		dw, db = New(w.Shape()...), New(w.Shape()...)
		for i := range accW {
			dw.Data[i] = float32(accW[i])
			db.Data[i] = float32(accB[i])
		}
	}
	return dx, dw, db
}

// LayerNorm2dBackward returns the gradients of LayerNorm2d(x, w, b, eps) for x [N,C,H,W],
// w and b [C] given the upstream g. w may be nil; then dw and db are nil.
func LayerNorm2dBackward(x, w, g *Tensor, eps float32) (dx, dw, db *Tensor) {
	checkSame("LayerNorm2dBackward", x, g)
	if x.Rank() != 4 {
		panic(fmt.Sprintf("tensor.LayerNorm2dBackward: input %v is not NCHW", x.Shape()))
	}
	nb, c, hw := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
	if w != nil && w.Numel() != c {
		panic(fmt.Sprintf("tensor.LayerNorm2dBackward: weight %v for input %v", w.Shape(), x.Shape()))
	}
	dx = New(x.Shape()...)
	var accW, accB []float64
	if w != nil {
		accW, accB = make([]float64, c), make([]float64, c)
	}
	var mu sync.Mutex
	// Work in tiles of pixels so that each tile's per-pixel statistics stay in cache.
	const tile = 256
	tiles := (hw + tile - 1) / tile
	par.For(nb*tiles, 1, func(lo, hi int) {
		mean := make([]float64, tile)
		rstd := make([]float64, tile)
		m1 := make([]float64, tile)
		m2 := make([]float64, tile)
		var lw, lb []float64
		if w != nil {
			lw, lb = make([]float64, c), make([]float64, c)
		}
		for t := lo; t < hi; t++ {
			n, p0 := t/tiles, (t%tiles)*tile
			p1 := min(p0+tile, hw)
			np := p1 - p0
			base := n * c * hw
			for i := range np {
				mean[i], rstd[i], m1[i], m2[i] = 0, 0, 0, 0
			}
			for ch := 0; ch < c; ch++ {
				xr := x.Data[base+ch*hw+p0 : base+ch*hw+p1]
				for i, v := range xr {
					mean[i] += float64(v)
				}
			}
			for i := range np {
				mean[i] /= float64(c)
			}
			for ch := 0; ch < c; ch++ {
				xr := x.Data[base+ch*hw+p0 : base+ch*hw+p1]
				for i, v := range xr {
					d := float64(v) - mean[i]
					rstd[i] += d * d
				}
			}
			for i := range np {
				rstd[i] = 1 / math.Sqrt(rstd[i]/float64(c)+float64(eps))
			}
			for ch := 0; ch < c; ch++ {
				xr := x.Data[base+ch*hw+p0 : base+ch*hw+p1]
				gr := g.Data[base+ch*hw+p0 : base+ch*hw+p1]
				wc := 1.0
				if w != nil {
					wc = float64(w.Data[ch])
				}
				var sw, sb float64
				for i, v := range xr {
					xh := (float64(v) - mean[i]) * rstd[i]
					gi := float64(gr[i])
					sw += gi * xh
					sb += gi
					gi *= wc
					m1[i] += gi
					m2[i] += gi * xh
				}
				if w != nil {
					lw[ch] += sw
					lb[ch] += sb
				}
			}
			for i := range np {
				m1[i] /= float64(c)
				m2[i] /= float64(c)
			}
			for ch := 0; ch < c; ch++ {
				xr := x.Data[base+ch*hw+p0 : base+ch*hw+p1]
				gr := g.Data[base+ch*hw+p0 : base+ch*hw+p1]
				dr := dx.Data[base+ch*hw+p0 : base+ch*hw+p1]
				wc := 1.0
				if w != nil {
					wc = float64(w.Data[ch])
				}
				for i, v := range xr {
					xh := (float64(v) - mean[i]) * rstd[i]
					dr[i] = float32(rstd[i] * (float64(gr[i])*wc - m1[i] - xh*m2[i]))
				}
			}
		}
		if w != nil {
			mu.Lock()
			for i := range accW {
				accW[i] += lw[i]
				accB[i] += lb[i]
			}
			mu.Unlock()
		}
	})
	if w != nil {
		dw, db = New(w.Shape()...), New(w.Shape()...)
		for i := range accW {
			dw.Data[i] = float32(accW[i])
			db.Data[i] = float32(accB[i])
		}
	}
	return dx, dw, db
}
