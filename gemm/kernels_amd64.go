//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run ./internal/gen -o kernels_amd64.s

// microAVX512 is the 12×32 micro-kernel: 24 ZMM accumulators, A broadcast from memory.
//
//go:noescape
func microAVX512(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// microAVX2 is the 6×16 AVX2+FMA micro-kernel: 12 YMM accumulators.
//
//go:noescape
func microAVX2(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// Tail kernels: the first r rows of a panel packed for 12 (AVX-512) or 6 (AVX2) rows.
//
//go:noescape
func microAVX512r8(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX512r4(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX512r2(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX512r1(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX2r4(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX2r2(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func microAVX2r1(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// transpose8x8AVX writes the transpose of the 8×8 block at src to dst.
//
//go:noescape
func transpose8x8AVX(src *float32, lds int, dst *float32, ldd int)

// pack6x8AVX packs a 6×8 block of row-major A as 8 k steps of 6 values, stride ldd.
//
//go:noescape
func pack6x8AVX(src *float32, lds int, dst *float32, ldd int)

// archKernels returns the assembly kernels this CPU and OS support, fastest first.
func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &kernel{name: "avx512", mr: 12, nr: 32, kc: 256, mc: 192, nc: 3072, micro: microAVX512, trans8: transpose8x8AVX, pack6: pack6x8AVX,
			tails: []tailKernel{{8, microAVX512r8}, {4, microAVX512r4}, {2, microAVX512r2}, {1, microAVX512r1}}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 192, nc: 3072, micro: microAVX2, trans8: transpose8x8AVX, pack6: pack6x8AVX,
			tails: []tailKernel{{4, microAVX2r4}, {2, microAVX2r2}, {1, microAVX2r1}}})
	}
	return ks
}
