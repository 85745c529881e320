package gemm

import "unsafe"

// packA copies rows [i0,i0+rows) × columns [p0,p0+kc) of op(A) into dst as consecutive
// mr×kc micro-panels, each stored column by column (the mr values of one k step are
// adjacent, the order the micro-kernel broadcasts them). Rows past the end are zero.
func packA(dst []float32, transA bool, a []float32, lda, i0, rows, p0, kc, mr int) {
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
		// op(A)[i][p] = a[i*lda+p]: gather one k step from each row, write it whole.
		var src [maxMR][]float32
		for r := range nr {
			src[r] = a[(i0+r0+r)*lda+p0 : (i0+r0+r)*lda+p0+kc]
		}
		if nr == mr && mr == 6 {
			s0, s1, s2, s3, s4, s5 := src[0], src[1][:len(src[0])], src[2][:len(src[0])], src[3][:len(src[0])], src[4][:len(src[0])], src[5][:len(src[0])]
			for p := range s0 {
				d := panel[p*6 : p*6+6 : p*6+6]
				d[0], d[1], d[2], d[3], d[4], d[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
			}
			continue
		}
		for p := range kc {
			d := panel[p*mr : p*mr+mr]
			for r := range nr {
				d[r] = src[r][p]
			}
			clear(d[nr:])
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
			clear(d[cols:])
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
