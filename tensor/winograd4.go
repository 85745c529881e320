package tensor

import (
	"fmt"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
)

// Winograd F(4x4, 3x3): each 4x4 output tile costs 36 multiplies per (input, output)
// channel pair instead of 144, 1.78x fewer than F(2x2, 3x3), at the price of larger
// transform constants (interpolation points 0, ±1, ±2 and ∞), so a few more float32
// roundings; it is opt-in (Conv3x3Winograd4) for inference paths whose tolerance allows it.
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]

// Winograd4Weights are a 3x3 kernel transformed for Conv3x3Winograd4, to be reused
// while the kernel is unchanged (the transform costs about as much as a small image).
type Winograd4Weights struct {
	w *Tensor
	u []float32
}

// NewWinograd4Weights transforms w [O, C, 3, 3]; later changes to w are not seen.
func NewWinograd4Weights(w *Tensor) *Winograd4Weights {
	if len(w.shape) != 4 || w.shape[2] != 3 || w.shape[3] != 3 {
		panic(fmt.Sprintf("tensor.NewWinograd4Weights: w %v is not a 3x3 kernel", shapeOrNil(w)))
	}
	return &Winograd4Weights{w: w.Clone(), u: winograd4Weights(w.Data, w.shape[0], w.shape[1])}
}

// Conv3x3Winograd4 is Conv2d(x, w, b, 1, pad) for a 3x3 kernel w [O, C, 3, 3], computed
// with Winograd F(4x4, 3x3). It falls back to Conv2d for shapes that do not pay.
func Conv3x3Winograd4(x, w, b *Tensor, pad int) *Tensor {
	return conv3x3W4(x, w, nil, b, pad)
}

// Conv3x3Winograd4With is Conv3x3Winograd4 with the kernel already transformed.
func Conv3x3Winograd4With(x *Tensor, k *Winograd4Weights, b *Tensor, pad int) *Tensor {
	return conv3x3W4(x, k.w, k.u, b, pad)
}

func conv3x3W4(x, w *Tensor, u []float32, b *Tensor, pad int) *Tensor {
	if len(x.shape) != 4 || len(w.shape) != 4 || w.shape[2] != 3 || w.shape[3] != 3 || x.shape[1] != w.shape[1] || pad < 0 {
		panic(fmt.Sprintf("tensor.Conv3x3Winograd4: x %v, w %v, pad %d", shapeOrNil(x), shapeOrNil(w), pad))
	}
	N, C, H, W := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	O := w.shape[0]
	OH, OW := H+2*pad-2, W+2*pad-2
	th, tw := (OH+3)/4, (OW+3)/4
	if C < 16 || O < 16 || OH < 8 || OW < 8 || 36*max(C, O)*th*tw > maxCol {
		return conv2d(x, w, b, 1, pad)
	}
	if b != nil && len(b.Data) != O {
		panic(fmt.Sprintf("tensor.Conv3x3Winograd4: bias %v for %d output channels", b.shape, O))
	}
	out := New(N, O, OH, OW)
	if u == nil {
		u = winograd4Weights(w.Data, O, C)
	}
	for n := range N {
		on := out.Data[n*O*OH*OW : (n+1)*O*OH*OW]
		var bias []float32
		if b != nil {
			bias = b.Data
		}
		conv3x3Winograd4(on, x.Data[n*C*H*W:(n+1)*C*H*W], u, bias, C, H, W, O, pad, OH, OW)
	}
	return out
}

func shapeOrNil(t *Tensor) []int {
	if t == nil {
		return nil
	}
	return t.shape
}

// winograd4Weights returns U [36][O][C] = G g Gᵀ for w [O, C, 3, 3].
func winograd4Weights(w []float32, O, C int) []float32 {
	oc := O * C
	u := make([]float32, 36*oc)
	g6 := func(g0, g1, g2 float64) [6]float64 {
		return [6]float64{
			g0 / 4,
			-(g0 + g1 + g2) / 6,
			-(g0 - g1 + g2) / 6,
			g0/24 + g1/12 + g2/6,
			g0/24 - g1/12 + g2/6,
			g2,
		}
	}
	par.For(oc, 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := w[i*9 : i*9+9]
			var t [6][3]float64 // G g
			for j := range 3 {
				col := g6(float64(g[j]), float64(g[3+j]), float64(g[6+j]))
				for r := range 6 {
					t[r][j] = col[r]
				}
			}
			for r := range 6 { // (G g) Gᵀ
				row := g6(t[r][0], t[r][1], t[r][2])
				for q := range 6 {
					u[(r*6+q)*oc+i] = float32(row[q])
				}
			}
		}
	})
	return u
}

// conv3x3Winograd4 computes one image: out [O, OH, OW] = conv(x [C, H, W]) + bias.
func conv3x3Winograd4(out, x, u, bias []float32, C, H, W, O, pad, OH, OW int) {
	th, tw := (OH+3)/4, (OW+3)/4
	T := th * tw
	vp := getCol(36 * C * T)
	defer colPool.Put(vp)
	v := *vp
	ct := C * T
	pw := 4*tw + 2 // padded row length covering every tile
	// Input transform, one channel per task: V[6i+j][c][tile] = (Bᵀ d B)[i][j]. Each band
	// of six input rows is copied into zero-padded rows, Bᵀ combines the rows over the
	// whole band, then B the six columns of each tile.
	par.For(C, 1, func(lo, hi int) {
		prow := make([]float32, 6*pw)
		rows := make([]float32, 6*pw)
		var vk [36][]float32
		for c := lo; c < hi; c++ {
			plane := x[c*H*W : (c+1)*H*W]
			for ty := range th {
				padBand(prow, plane, 6, pw, 4*ty-pad, pad, H, W)
				off := c*T + ty*tw
				for k := range 36 {
					vk[k] = v[k*ct+off : k*ct+off+tw]
				}
				p0, p1, p2, p3, p4, p5 := prow[:pw], prow[pw:2*pw], prow[2*pw:3*pw], prow[3*pw:4*pw], prow[4*pw:5*pw], prow[5*pw:6*pw]
				r0, r1, r2, r3, r4, r5 := rows[:pw], rows[pw:2*pw], rows[2*pw:3*pw], rows[3*pw:4*pw], rows[4*pw:5*pw], rows[5*pw:6*pw]
				for i := range r0 {
					z0, z1, z2, z3, z4, z5 := p0[i], p1[i], p2[i], p3[i], p4[i], p5[i]
					r0[i] = 4*z0 - 5*z2 + z4
					r1[i] = -4*(z1+z2) + z3 + z4
					r2[i] = 4*(z1-z2) - z3 + z4
					r3[i] = 2*(z3-z1) - z2 + z4
					r4[i] = 2*(z1-z3) - z2 + z4
					r5[i] = 4*z1 - 5*z3 + z5
				}
				for j, r := range [6][]float32{r0, r1, r2, r3, r4, r5} {
					o0, o1, o2, o3, o4, o5 := vk[6*j][:tw], vk[6*j+1][:tw], vk[6*j+2][:tw], vk[6*j+3][:tw], vk[6*j+4][:tw], vk[6*j+5][:tw]
					for tx := range o0 {
						q := r[4*tx : 4*tx+6 : 4*tx+6]
						z0, z1, z2, z3, z4, z5 := q[0], q[1], q[2], q[3], q[4], q[5]
						o0[tx] = 4*z0 - 5*z2 + z4
						o1[tx] = -4*(z1+z2) + z3 + z4
						o2[tx] = 4*(z1-z2) - z3 + z4
						o3[tx] = 2*(z3-z1) - z2 + z4
						o4[tx] = 2*(z1-z3) - z2 + z4
						o5[tx] = 4*z1 - 5*z3 + z5
					}
				}
			}
		}
	})
	// 36 products M[k] [O x T] = U[k] [O x C] · V[k] [C x T].
	mp := getCol(36 * O * T)
	defer colPool.Put(mp)
	m := *mp
	par.ForEach(36, func(k int) {
		gemm.Sgemm(false, false, O, T, C, 1, u[k*O*C:(k+1)*O*C], C, v[k*ct:(k+1)*ct], T, 0, m[k*O*T:(k+1)*O*T], T)
	})
	// Output transform, one output channel per task: Aᵀ m A plus the bias.
	ot := O * T
	par.For(O, 1, func(lo, hi int) {
		var mk [36][]float32
		var e [4][]float32
		for r := range e {
			e[r] = make([]float32, 6*tw)
		}
		y := make([]float32, 4*4*tw)
		for o := lo; o < hi; o++ {
			var bv float32
			if bias != nil {
				bv = bias[o]
			}
			dst := out[o*OH*OW : (o+1)*OH*OW]
			for ty := range th {
				off := o*T + ty*tw
				for k := range 36 {
					mk[k] = m[k*ot+off : k*ot+off+tw]
				}
				// Rows of Aᵀ s, per column q, over the band's tiles.
				for q := range 6 {
					s0, s1, s2, s3, s4, s5 := mk[q][:tw], mk[6+q][:tw], mk[12+q][:tw], mk[18+q][:tw], mk[24+q][:tw], mk[30+q][:tw]
					f0, f1, f2, f3 := e[0][q*tw:(q+1)*tw], e[1][q*tw:(q+1)*tw], e[2][q*tw:(q+1)*tw], e[3][q*tw:(q+1)*tw]
					for tx := range f0 {
						a, b := s1[tx]+s2[tx], s1[tx]-s2[tx]
						c, d := s3[tx]+s4[tx], s3[tx]-s4[tx]
						f0[tx] = s0[tx] + a + c
						f1[tx] = b + 2*d
						f2[tx] = a + 4*c
						f3[tx] = b + 8*d + s5[tx]
					}
				}
				// Columns: A, four output pixels per tile and row.
				for r := range 4 {
					c0, c1, c2, c3, c4, c5 := e[r][:tw], e[r][tw:2*tw], e[r][2*tw:3*tw], e[r][3*tw:4*tw], e[r][4*tw:5*tw], e[r][5*tw:6*tw]
					yr := y[r*4*tw : (r+1)*4*tw]
					for tx := range c0 {
						a, b := c1[tx]+c2[tx], c1[tx]-c2[tx]
						c, d := c3[tx]+c4[tx], c3[tx]-c4[tx]
						q := yr[4*tx : 4*tx+4 : 4*tx+4]
						q[0] = c0[tx] + a + c + bv
						q[1] = b + 2*d + bv
						q[2] = a + 4*c + bv
						q[3] = b + 8*d + c5[tx] + bv
					}
					yy := 4*ty + r
					if yy < OH {
						copy(dst[yy*OW:(yy+1)*OW], yr)
					}
				}
			}
		}
	})
}
