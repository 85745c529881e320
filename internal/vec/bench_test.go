package vec

import (
	"math/rand/v2"
	"testing"
)

// Cache-resident row benchmarks: they measure the kernels, not memory bandwidth.

func benchRow(n int) []float32 {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	return x
}

func BenchmarkSoftmax4096(b *testing.B) {
	x := benchRow(4096)
	d := make([]float32, len(x))
	b.SetBytes(4 * 4096)
	for range b.N {
		Softmax(d, x)
	}
}

func BenchmarkSoftmax196(b *testing.B) {
	x := benchRow(196)
	d := make([]float32, len(x))
	b.SetBytes(4 * 196)
	for range b.N {
		Softmax(d, x)
	}
}

func BenchmarkGELU4096(b *testing.B) {
	x := benchRow(4096)
	d := make([]float32, len(x))
	b.SetBytes(4 * 4096)
	for range b.N {
		GELU(d, x)
	}
}

func BenchmarkLayerNorm768(b *testing.B) {
	x, w, bb := benchRow(768), benchRow(768), benchRow(768)
	d := make([]float32, len(x))
	b.SetBytes(4 * 768)
	for range b.N {
		LayerNorm(d, x, w, bb, 1e-6)
	}
}
