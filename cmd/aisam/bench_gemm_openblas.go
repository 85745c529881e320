//go:build openblas && cgo

package main

// Comparison only: `go run -tags openblas ./cmd/aisam bench gemm` times Debian's OpenBLAS
// (apt-get install libopenblas-dev) beside our kernels in the same process.

// #cgo LDFLAGS: -lopenblas
// #include <cblas.h>
import "C"

import "unsafe"

func init() {
	externalGemms = append(externalGemms, gemmImpl{
		name:  "openblas",
		setup: func(threads int) { C.openblas_set_num_threads(C.int(threads)) },
		run: func(transB bool, m, n, k int, a, b, c []float32) {
			tb, ldb := uint32(C.CblasNoTrans), n
			if transB {
				tb, ldb = C.CblasTrans, k
			}
			C.cblas_sgemm(C.CblasRowMajor, C.CblasNoTrans, tb, C.blasint(m), C.blasint(n), C.blasint(k),
				1, (*C.float)(unsafe.Pointer(&a[0])), C.blasint(k), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb),
				0, (*C.float)(unsafe.Pointer(&c[0])), C.blasint(n))
		},
	})
}
