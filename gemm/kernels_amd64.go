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

// archKernels returns the assembly kernels this CPU and OS support, fastest first.
func archKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, &kernel{name: "avx512", mr: 12, nr: 32, kc: 256, mc: 192, nc: 3072, micro: microAVX512})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &kernel{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 192, nc: 3072, micro: microAVX2})
	}
	return ks
}
