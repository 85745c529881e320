package tensor

import (
	"fmt"
	"sync"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
)

// maxCol bounds the im2col buffer (in floats, 16 MB); larger convolutions are done in
// bands of output rows so that memory stays flat. The buffers are recycled.
var maxCol = 1 << 22

var colPool sync.Pool

// winograd enables the Winograd path for 3x3 stride-1 convolutions (tests turn it off to
// compare against im2col).
var winograd = true

func getCol(n int) *[]float32 {
	if p, ok := colPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

func conv2d(x, w, b *Tensor, stride, pad int) *Tensor {
	if len(x.shape) != 4 || len(w.shape) != 4 || x.shape[1] != w.shape[1] || stride < 1 || pad < 0 {
		panic(fmt.Sprintf("tensor.Conv2d: x %v, w %v, stride %d, pad %d", x.shape, w.shape, stride, pad))
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	O, kh, kw := w.shape[0], w.shape[2], w.shape[3]
	if b != nil && len(b.Data) != O {
		panic(fmt.Sprintf("tensor.Conv2d: bias %v for %d output channels", b.shape, O))
	}
	OH := (H+2*pad-kh)/stride + 1
	OW := (W+2*pad-kw)/stride + 1
	if H+2*pad < kh || W+2*pad < kw {
		panic(fmt.Sprintf("tensor.Conv2d: kernel %dx%d larger than padded input %v (pad %d)", kh, kw, x.shape, pad))
	}
	out := New(N, O, OH, OW)
	ohw := OH * OW
	ckk := C * kh * kw
	var beta float32
	var u []float32 // Winograd-transformed weights, made on first use
	for n := range N {
		on := out.Data[n*O*ohw : (n+1)*O*ohw]
		if b != nil {
			par.For(O, max(1, elemGrain/max(ohw, 1)), func(lo, hi int) {
				for o := lo; o < hi; o++ {
					row := on[o*ohw : (o+1)*ohw]
					v := b.Data[o]
					for i := range row {
						row[i] = v
					}
				}
			})
			beta = 1
		}
		xn := x.Data[n*C*H*W : (n+1)*C*H*W]
		if ckk == 0 || ohw == 0 {
			continue
		}
		if kh == 1 && kw == 1 && stride == 1 && pad == 0 {
			gemm.Sgemm(false, false, O, ohw, C, 1, w.Data, ckk, xn, ohw, beta, on, ohw)
			continue
		}
		if winograd && useWinograd(C, O, kh, kw, stride, OH, OW) {
			if u == nil {
				u = winogradWeights(w.Data, O, C)
			}
			conv3x3Winograd(on, xn, u, C, H, W, O, pad, OH, OW, beta)
			continue
		}
		band := max(1, min(OH, maxCol/max(1, ckk*OW)))
		colp := getCol(ckk * band * OW)
		col := *colp
		for r0 := 0; r0 < OH; r0 += band {
			r1 := min(r0+band, OH)
			cols := (r1 - r0) * OW
			im2col(col[:ckk*cols], xn, C, H, W, kh, kw, stride, pad, r0, r1, OW)
			gemm.Sgemm(false, false, O, cols, ckk, 1, w.Data, ckk, col, cols, beta, on[r0*OW:], ohw)
		}
		colPool.Put(colp)
	}
	return out
}

// im2col fills col [C·kh·kw, (r1-r0)·OW] with the input patches of output rows r0..r1,
// zero where the window hangs over the padding.
func im2col(col, x []float32, C, H, W, kh, kw, stride, pad, r0, r1, OW int) {
	cols := (r1 - r0) * OW
	rows := C * kh * kw
	par.For(rows, max(1, elemGrain/max(cols, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, k := r/(kh*kw), r%(kh*kw)
			ki, kj := k/kw, k%kw
			dst := col[r*cols : (r+1)*cols]
			plane := x[c*H*W : (c+1)*H*W]
			for oh := r0; oh < r1; oh++ {
				d := dst[(oh-r0)*OW : (oh-r0+1)*OW]
				ih := oh*stride + ki - pad
				if ih < 0 || ih >= H {
					clear(d)
					continue
				}
				src := plane[ih*W : (ih+1)*W]
				// Valid output columns: 0 <= ow*stride+kj-pad < W.
				owLo := 0
				if kj < pad {
					owLo = (pad - kj + stride - 1) / stride
				}
				owHi := OW
				if lim := W - 1 + pad - kj; lim < 0 {
					owHi = 0
				} else {
					owHi = min(OW, lim/stride+1)
				}
				if owLo >= owHi {
					clear(d)
					continue
				}
				clear(d[:owLo])
				clear(d[owHi:])
				iw := owLo*stride + kj - pad
				if stride == 1 {
					copy(d[owLo:owHi], src[iw:])
				} else {
					for ow := owLo; ow < owHi; ow++ {
						d[ow] = src[iw]
						iw += stride
					}
				}
			}
		}
	})
}

func convTranspose2d(x, w, b *Tensor, stride int) *Tensor {
	if len(x.shape) != 4 || len(w.shape) != 4 || x.shape[1] != w.shape[0] || w.shape[2] != stride || w.shape[3] != stride {
		panic(fmt.Sprintf("tensor.ConvTranspose2d: x %v, w %v, stride %d (kernel must equal stride)", x.shape, w.shape, stride))
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	O, k := w.shape[1], stride
	if b != nil && len(b.Data) != O {
		panic(fmt.Sprintf("tensor.ConvTranspose2d: bias %v for %d output channels", b.shape, O))
	}
	OH, OW := H*k, W*k
	out := New(N, O, OH, OW)
	hw := H * W
	okk := O * k * k
	// y[(o,p,q), (i,j)] = sum_c w[c,(o,p,q)] x[c,(i,j)], then scattered to (i·k+p, j·k+q).
	y := make([]float32, okk*hw)
	for n := range N {
		xn := x.Data[n*C*hw : (n+1)*C*hw]
		if C > 0 && hw > 0 {
			gemm.Sgemm(true, false, okk, hw, C, 1, w.Data, okk, xn, hw, 0, y, hw)
		} else {
			clear(y)
		}
		on := out.Data[n*O*OH*OW : (n+1)*O*OH*OW]
		par.For(O, 1, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var bias float32
				if b != nil {
					bias = b.Data[o]
				}
				plane := on[o*OH*OW : (o+1)*OH*OW]
				for p := range k {
					for q := range k {
						src := y[((o*k+p)*k+q)*hw:]
						for i := range H {
							row := plane[(i*k+p)*OW+q:]
							s := src[i*W : (i+1)*W]
							for j, v := range s {
								row[j*k] = v + bias
							}
						}
					}
				}
			}
		})
	}
	return out
}
