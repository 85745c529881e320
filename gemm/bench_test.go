package gemm

import (
	"fmt"
	"testing"

	"github.com/aisam/aisam/internal/par"
)

// BenchmarkMicro times each micro-kernel alone on L1-resident panels: the ceiling
// that the blocked product can approach.
func BenchmarkMicro(b *testing.B) {
	for _, kr := range kernels {
		b.Run(kr.name, func(b *testing.B) {
			const kc = 256
			a := alignedFloats(kr.mr * kc)
			bb := alignedFloats(kr.nr * kc)
			c := alignedFloats(kr.mr * kr.nr)
			for i := range a {
				a[i] = 1
			}
			b.SetBytes(0)
			for b.Loop() {
				kr.micro(kc, &a[0], &bb[0], kr.nr, &c[0], kr.nr, 1, 1)
			}
			b.ReportMetric(2*float64(kr.mr*kr.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSgemm times the public entry point on the project's reference sizes.
func BenchmarkSgemm(b *testing.B) {
	defer SetKernel("")
	for _, s := range [][3]int{{4096, 768, 3072}, {4096, 768, 768}, {12, 256, 2048}, {197, 768, 768}} {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for _, name := range Kernels()[:1] {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%dx%dx%d/t%d", name, m, k, n, th), func(b *testing.B) {
					SetKernel(name)
					defer par.SetWorkers(par.SetWorkers(th))
					for b.Loop() {
						Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

func BenchmarkSmall(b *testing.B) {
	defer par.SetWorkers(par.SetWorkers(1))
	for _, s := range [][3]int{{8, 256, 256}, {196, 64, 196}, {64, 768, 768}} {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			for b.Loop() {
				Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkTransB(b *testing.B) {
	defer par.SetWorkers(par.SetWorkers(1))
	for _, s := range [][3]int{{1024, 768, 3072}, {12, 256, 2048}} {
		m, k, n := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			for b.Loop() {
				Sgemm(false, true, m, n, k, 1, a, k, bb, k, 0, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkTiny measures per-call overhead on the small products of windowed attention.
func BenchmarkTiny(b *testing.B) {
	defer par.SetWorkers(par.SetWorkers(1))
	m, k, n := 14, 64, 14
	a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	b.ReportAllocs()
	for b.Loop() {
		Sgemm(false, true, m, n, k, 1, a, k, bb, k, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkTiny64(b *testing.B) {
	defer par.SetWorkers(par.SetWorkers(1))
	m, k, n := 64, 64, 64
	a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	b.ReportAllocs()
	for b.Loop() {
		Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
