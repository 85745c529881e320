package tensor

import (
	"testing"

	"github.com/aisam/aisam/internal/par"
)

// BenchmarkRelPosAttention times ViT-B-sized attention (head dim 64; 2 heads) for a global
// 64x64 grid and for 25 windows of 14x14, on two workers (tasks run in parallel, so
// the GEMMs inside them are nested and serial, as in the encoder).
func BenchmarkRelPosAttention(b *testing.B) {
	defer par.SetWorkers(par.SetWorkers(2))
	for _, sh := range []struct {
		name      string
		g, gh, gw int
	}{{"global64", 1, 64, 64}, {"windows14", 25, 14, 14}} {
		const heads, d = 2, 64
		qkv := New(sh.g, sh.gh*sh.gw, 3*heads*d)
		for i := range qkv.Data {
			qkv.Data[i] = float32(i%17) / 17
		}
		rh, rw := New(sh.gh, sh.gh, d), New(sh.gw, sh.gw, d)
		out := New(sh.g, sh.gh*sh.gw, heads*d)
		b.Run(sh.name, func(b *testing.B) {
			for b.Loop() {
				RelPosAttentionTo(out, qkv, heads, sh.gh, sh.gw, rh, rw, 0.125)
			}
		})
	}
}
