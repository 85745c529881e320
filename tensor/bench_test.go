package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/internal/par"
)

// Benchmarks at SAM ViT-B sizes. Run e.g.
//   go test -run XXX -bench . -benchtime 3x ./tensor/
// Each reports per-op time at 1 and 2 workers.

func benchWorkers(b *testing.B, fn func()) {
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("w%d", w), func(b *testing.B) {
			old := par.SetWorkers(w)
			defer par.SetWorkers(old)
			fn() // warm up
			b.ResetTimer()
			for range b.N {
				fn()
			}
		})
	}
}

func BenchmarkConv2d(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name                string
		c, h, w, o, k, s, p int
	}{
		{"patch16_3x1024_768", 3, 1024, 1024, 768, 16, 16, 0},
		{"neck1x1_768x64_256", 768, 64, 64, 256, 1, 1, 0},
		{"neck3x3_256x64_256", 256, 64, 64, 256, 3, 1, 1},
		{"mask_k2s2_1x256_4", 1, 256, 256, 4, 2, 2, 0},
		{"mask_k2s2_4x128_16", 4, 128, 128, 16, 2, 2, 0},
	}
	for _, c := range cases {
		x := randT(rng, 1, c.c, c.h, c.w)
		w := randT(rng, c.o, c.c, c.k, c.k)
		bias := randT(rng, c.o)
		b.Run(c.name, func(b *testing.B) { benchWorkers(b, func() { Conv2d(x, w, bias, c.s, c.p) }) })
	}
}

func BenchmarkConvTranspose2d(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, bias := randT(rng, 1, 256, 64, 64), randT(rng, 256, 64, 2, 2), randT(rng, 64)
	benchWorkers(b, func() { ConvTranspose2d(x, w, bias, 2) })
}

func BenchmarkLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 1))
	x, w, bias := randT(rng, 64*64, 768), randT(rng, 768), randT(rng, 768)
	benchWorkers(b, func() { LayerNorm(x, w, bias, 1e-6) })
}

func BenchmarkLayerNorm2d(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	x, w, bias := randT(rng, 1, 256, 64, 64), randT(rng, 256), randT(rng, 256)
	benchWorkers(b, func() { LayerNorm2d(x, w, bias, 1e-6) })
}

func BenchmarkGELU(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 1))
	x := randT(rng, 64*64, 3072)
	b.Run("alloc", func(b *testing.B) { benchWorkers(b, func() { GELU(x) }) })
	b.Run("inplace", func(b *testing.B) { benchWorkers(b, func() { GELUInPlace(x) }) })
}

func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 1))
	// One global-attention block: 12 heads x 4096 queries x 4096 keys is 800 MB; use 2 heads.
	x := randT(rng, 2, 4096, 4096)
	b.Run("global2heads", func(b *testing.B) { benchWorkers(b, func() { SoftmaxInPlace(x, nil) }) })
	win := randT(rng, 25*12, 196, 196)
	b.Run("windows", func(b *testing.B) { benchWorkers(b, func() { SoftmaxInPlace(win, nil) }) })
}

func BenchmarkElementwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 1))
	x, y := randT(rng, 64*64, 768), randT(rng, 64*64, 768)
	bias := randT(rng, 768)
	b.Run("Add", func(b *testing.B) { benchWorkers(b, func() { Add(x, y) }) })
	b.Run("AddInPlace", func(b *testing.B) { benchWorkers(b, func() { AddInPlace(x, y) }) })
	b.Run("AddBias", func(b *testing.B) { benchWorkers(b, func() { AddInPlace(x, bias) }) })
}

func BenchmarkPermute(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 1))
	// Window partition of the 64x64x768 map padded to 70x70: [1,5,14,5,14,768] -> [1,5,5,14,14,768].
	x := randT(rng, 1, 5, 14, 5, 14, 768)
	b.Run("window", func(b *testing.B) { benchWorkers(b, func() { Permute(x, 0, 1, 3, 2, 4, 5) }) })
	// Heads split: [4096, 12, 64] -> [12, 4096, 64].
	q := randT(rng, 4096, 12, 64)
	b.Run("heads", func(b *testing.B) { benchWorkers(b, func() { Permute(q, 1, 0, 2) }) })
	// NHWC -> NCHW at the neck.
	n := randT(rng, 1, 64, 64, 768)
	b.Run("nhwc2nchw", func(b *testing.B) { benchWorkers(b, func() { Permute(n, 0, 3, 1, 2) }) })
}

func BenchmarkLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 1))
	x, w, bias := randT(rng, 4096, 768), randT(rng, 2304, 768), randT(rng, 2304)
	benchWorkers(b, func() { Linear(x, w, bias) })
}
