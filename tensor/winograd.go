package tensor

import (
	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
)

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions with many channels (SAM's neck and
// AI-SAM's conv_mlp, 256->256 on 64x64): each 2x2 output tile costs 16 multiplies per
// (input, output) channel pair instead of 36, so the GEMM work drops 2.25x. Input tiles
// are transformed by Bᵀ d B, weights by G g Gᵀ, the 16 transformed planes are multiplied
// as 16 GEMMs [O x C]·[C x tiles], and Aᵀ m A maps each product back to a 2x2 tile:
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// The transforms only add, subtract and halve, so the result stays within a few float32
// roundings of the direct convolution (checked against the float64 reference).

// useWinograd reports whether conv2d should take the Winograd path: 3x3 stride 1, enough
// channels for the GEMMs to dominate, and transformed planes (16·max(C,O)·tiles floats
// each) no larger than maxCol, so that memory stays bounded as with im2col.
func useWinograd(C, O, kh, kw, stride, OH, OW int) bool {
	tiles := ((OH + 1) / 2) * ((OW + 1) / 2)
	return kh == 3 && kw == 3 && stride == 1 && C >= 16 && O >= 16 && OH >= 4 && OW >= 4 &&
		16*max(C, O)*tiles <= maxCol
}

// winogradWeights returns U [16][O][C] = G g Gᵀ for w [O, C, 3, 3].
func winogradWeights(w []float32, O, C int) []float32 {
	u := make([]float32, 16*O*C)
	oc := O * C
	par.For(oc, 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := w[i*9 : i*9+9]
			// Rows: t = G g (4x3).
			var t [4][3]float32
			for j := range 3 {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[0][j] = g0
				t[1][j] = 0.5 * (g0 + g1 + g2)
				t[2][j] = 0.5 * (g0 - g1 + g2)
				t[3][j] = g2
			}
			// Columns: U = t Gᵀ (4x4).
			for r := range 4 {
				g0, g1, g2 := t[r][0], t[r][1], t[r][2]
				u[(r*4+0)*oc+i] = g0
				u[(r*4+1)*oc+i] = 0.5 * (g0 + g1 + g2)
				u[(r*4+2)*oc+i] = 0.5 * (g0 - g1 + g2)
				u[(r*4+3)*oc+i] = g2
			}
		}
	})
	return u
}

// conv3x3Winograd computes one image: out [O, OH, OW] (bias already filled when beta is
// 1) from x [C, H, W] with padding pad, given U from winogradWeights.
func conv3x3Winograd(out, x, u []float32, C, H, W, O, pad, OH, OW int, beta float32) {
	th, tw := (OH+1)/2, (OW+1)/2
	T := th * tw
	vp := getCol(16 * C * T)
	defer colPool.Put(vp)
	v := *vp
	ct := C * T
	// Input transform, one channel per task: V[k][c][tile] = (Bᵀ d B)[k]. Each band of
	// four input rows is copied into zero-padded rows first, so the tile loop has no
	// bounds logic, and the 16 outputs of a tile row go to 16 contiguous streams.
	pw := 2*tw + 2 // padded row length covering every tile
	par.For(C, 1, func(lo, hi int) {
		prow := make([]float32, 4*pw)
		rows := make([]float32, 4*pw)
		var vk [16][]float32
		for c := lo; c < hi; c++ {
			plane := x[c*H*W : (c+1)*H*W]
			for ty := range th {
				padBand(prow, plane, 4, pw, 2*ty-pad, pad, H, W)
				off := c*T + ty*tw
				for k := range 16 {
					vk[k] = v[k*ct+off : k*ct+off+tw]
				}
				// Rows of Bᵀ d, over the whole band at once (adjacent tiles overlap by two
				// columns, so this is shared work).
				p0, p1, p2, p3 := prow[:pw], prow[pw:2*pw], prow[2*pw:3*pw], prow[3*pw:4*pw]
				r0, r1, r2, r3 := rows[:pw], rows[pw:2*pw], rows[2*pw:3*pw], rows[3*pw:4*pw]
				for i := range r0 {
					r0[i] = p0[i] - p2[i]
					r1[i] = p1[i] + p2[i]
					r2[i] = p2[i] - p1[i]
					r3[i] = p1[i] - p3[i]
				}
				// Columns: (Bᵀ d) B, four output streams per row.
				for j, r := range [4][]float32{r0, r1, r2, r3} {
					o0, o1, o2, o3 := vk[4*j][:tw], vk[4*j+1][:tw], vk[4*j+2][:tw], vk[4*j+3][:tw]
					for tx := range o0 {
						q := r[2*tx : 2*tx+4 : 2*tx+4]
						o0[tx] = q[0] - q[2]
						o1[tx] = q[1] + q[2]
						o2[tx] = q[2] - q[1]
						o3[tx] = q[1] - q[3]
					}
				}
			}
		}
	})
	// 16 products M[k] [O x T] = U[k] [O x C] · V[k] [C x T].
	mp := getCol(16 * O * T)
	defer colPool.Put(mp)
	m := *mp
	par.ForEach(16, func(k int) {
		gemm.Sgemm(false, false, O, T, C, 1, u[k*O*C:(k+1)*O*C], C, v[k*ct:(k+1)*ct], T, 0, m[k*O*T:(k+1)*O*T], T)
	})
	// Output transform, one output channel per task: Aᵀ m A, added to the bias.
	ot := O * T
	par.For(O, 1, func(lo, hi int) {
		var mk [16][]float32
		y0 := make([]float32, 2*tw)
		y1 := make([]float32, 2*tw)
		e0 := make([]float32, 4*tw)
		e1 := make([]float32, 4*tw)
		for o := lo; o < hi; o++ {
			dst := out[o*OH*OW : (o+1)*OH*OW]
			for ty := range th {
				off := o*T + ty*tw
				for k := range 16 {
					mk[k] = m[k*ot+off : k*ot+off+tw]
				}
				// Rows of Aᵀ s for every tile of the band, then the columns.
				for q := range 4 {
					s0, s1, s2, s3 := mk[q][:tw], mk[4+q][:tw], mk[8+q][:tw], mk[12+q][:tw]
					f0, f1 := e0[q*tw:(q+1)*tw], e1[q*tw:(q+1)*tw]
					for tx := range f0 {
						f0[tx] = s0[tx] + s1[tx] + s2[tx]
						f1[tx] = s1[tx] - s2[tx] - s3[tx]
					}
				}
				for r, e := range [2][]float32{e0, e1} {
					y := [2][]float32{y0, y1}[r]
					c0, c1, c2, c3 := e[:tw], e[tw:2*tw], e[2*tw:3*tw], e[3*tw:4*tw]
					for tx := range c0 {
						y[2*tx] = c0[tx] + c1[tx] + c2[tx]
						y[2*tx+1] = c1[tx] - c2[tx] - c3[tx]
					}
				}
				for r, y := range [2][]float32{y0, y1} {
					yy := 2*ty + r
					if yy >= OH {
						break
					}
					d := dst[yy*OW : (yy+1)*OW]
					if beta != 0 {
						for i := range d {
							d[i] += y[i]
						}
					} else {
						copy(d, y)
					}
				}
			}
		}
	})
}

// padBand copies n rows of plane [H, W], starting at row y0, into dst as rows of length
// pw shifted right by pad: dst[r*pw+i] = plane[y0+r][i-pad], zero outside the plane.
// Both Winograd input transforms read their tile bands from it without bounds logic.
func padBand(dst, plane []float32, n, pw, y0, pad, H, W int) {
	lo, hi := max(pad, 0), min(pw, W+pad)
	for r := range n {
		p := dst[r*pw : (r+1)*pw]
		clear(p)
		yy := y0 + r
		if yy < 0 || yy >= H || lo >= hi {
			continue
		}
		copy(p[lo:hi], plane[yy*W+lo-pad:])
	}
}
