package gemm

import "unsafe"

// packA copies rows [i0,i0+rows) × columns [p0,p0+kc) of op(A) into dst as consecutive
// mr×kc micro-panels, each stored column by column (the mr values of one k step are
// adjacent, the order the micro-kernel broadcasts them). Rows past the end are zero.
func packA(dst []float32, p6 trans8Fn, transA bool, a []float32, lda, i0, rows, p0, kc, mr int) {
	for r0 := 0; r0 < rows; r0 += mr {
		panel := dst[r0*kc : (r0+mr)*kc]
		nr := min(mr, rows-r0)
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each k step is a contiguous run of A.
			for p := range kc {
				src := a[(p0+p)*lda+i0+r0:]
				d := panel[p*mr : p*mr+mr]
				copy(d[:nr], src[:nr])
				clear(d[nr:])
			}
			continue
		}
		// op(A)[i][p] = a[i*lda+p]: a transpose, by 6×8 blocks where possible.
		if p6 != nil && nr == mr && mr%6 == 0 {
			for g := 0; g < mr; g += 6 {
				base := (i0+r0+g)*lda + p0
				p := 0
				for ; p+8 <= kc; p += 8 {
					p6(&a[base+p], lda, &panel[p*mr+g], mr)
				}
				for ; p < kc; p++ {
					for r := range 6 {
						panel[p*mr+g+r] = a[base+r*lda+p]
					}
				}
			}
			continue
		}
		// Otherwise (a short panel, or no assembly): zero it, then scatter each row.
		clear(panel)
		for r := range nr {
			src := a[(i0+r0+r)*lda+p0 : (i0+r0+r)*lda+p0+kc]
			for p, v := range src {
				panel[p*mr+r] = v
			}
		}
	}
}

// packB copies rows [p0,p0+kc) × columns [j0,j0+cols) of op(B) into dst as one kc×nr
// micro-panel, row by row; columns past cols are zero.
func packB(dst []float32, t8 trans8Fn, transB bool, b []float32, ldb, p0, kc, j0, cols, nr int) {
	panel := dst[:kc*nr]
	if !transB {
		for p := range kc {
			d := panel[p*nr : p*nr+nr]
			copy(d[:cols], b[(p0+p)*ldb+j0:(p0+p)*ldb+j0+cols])
			for j := cols; j < nr; j++ {
				d[j] = 0
			}
		}
		return
	}
	// op(B)[p][j] = b[j*ldb+p]: a transpose, by 8×8 blocks where possible.
	j8 := 0
	if t8 != nil {
		for ; j8+8 <= cols; j8 += 8 {
			p := 0
			for ; p+8 <= kc; p += 8 {
				t8(&b[(j0+j8)*ldb+p0+p], ldb, &panel[p*nr+j8], nr)
			}
			for ; p < kc; p++ {
				for j := j8; j < j8+8; j++ {
					panel[p*nr+j] = b[(j0+j)*ldb+p0+p]
				}
			}
		}
	}
	// The rest: read each row of B once, scatter it down a column.
	for j := j8; j < cols; j++ {
		src := b[(j0+j)*ldb+p0 : (j0+j)*ldb+p0+kc]
		for p, v := range src {
			panel[p*nr+j] = v
		}
	}
	if cols < nr {
		for p := range kc {
			clear(panel[p*nr+cols : p*nr+nr])
		}
	}
}

// alignedFloats allocates n floats starting on a 64-byte boundary (one cache line, one
// AVX-512 register), so packed panels never straddle lines needlessly.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}
