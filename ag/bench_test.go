package ag_test

import (
	"testing"

	"github.com/aisam/aisam/ag"
	gc "github.com/aisam/aisam/internal/gradcheck"
	"github.com/aisam/aisam/tensor"
)

// Benchmarks of forward and forward+backward at AI-SAM's training sizes (AutoPrompt's
// conv_mlp, its LayerNorm2d, a 4096-token Linear, point-map softmax and the decoder's
// transposed convs); the backward/forward ratio is the number to watch.

func benchOp(b *testing.B, ins []*tensor.Tensor, f func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor) {
	b.Run("fwd", func(b *testing.B) {
		for range b.N {
			f(nil, ins)
		}
	})
	b.Run("fwd+bwd", func(b *testing.B) {
		for range b.N {
			tp := ag.NewTape()
			tp.Watch(ins...)
			y := f(tp, ins)
			tp.BackwardWith(y, y)
		}
	})
}

func BenchmarkConv3x3x256(b *testing.B) {
	r := rng(1)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 1, 1, 256, 64, 64), gc.Randn(r, 0.02, 256, 256, 3, 3), gc.Randn(r, 1, 256)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Conv2d(xs[0], xs[1], xs[2], 1, 1) })
}

func BenchmarkLayerNorm2d256(b *testing.B) {
	r := rng(2)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 1, 1, 256, 64, 64), gc.Randn(r, 1, 256), gc.Randn(r, 1, 256)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.LayerNorm2d(xs[0], xs[1], xs[2], 1e-6)
		})
}

func BenchmarkLinear4096x256(b *testing.B) {
	r := rng(3)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 1, 1, 4096, 256), gc.Randn(r, 0.05, 256, 256), gc.Randn(r, 1, 256)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Linear(xs[0], xs[1], xs[2]) })
}

func BenchmarkSoftmax4096(b *testing.B) {
	r := rng(4)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 3, 3, 8, 4096)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor { return tp.Softmax(xs[0], nil) })
}

func BenchmarkConvT2x2(b *testing.B) {
	r := rng(5)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 1, 1, 256, 64, 64), gc.Randn(r, 0.05, 256, 64, 2, 2), gc.Randn(r, 1, 64)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.ConvTranspose2d(xs[0], xs[1], xs[2], 2)
		})
}

func BenchmarkResizeBilinear256to1024(b *testing.B) {
	r := rng(6)
	benchOp(b, []*tensor.Tensor{gc.Randn(r, 1, 1, 3, 256, 256)},
		func(tp *ag.Tape, xs []*tensor.Tensor) *tensor.Tensor {
			return tp.ResizeBilinear(xs[0], 1024, 1024, false)
		})
}
