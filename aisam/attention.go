package aisam

import (
	"math"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// attend is SAM's (and AI-SAM's ModifiedAttention) multi-head attention, except that the
// query batch and the key/value batch may differ when one of them is 1: the AutoPrompt runs
// every class as one batch of queries against one shared image, and the image side is
// only copied once the classes' paths really diverge.
// q [Bq, Nq, D], k and v [Bk, Nk, D]; returns [max(Bq, Bk), Nq, D].
func attend(tp *ag.Tape, a *nn.Attention, q, k, v *tensor.Tensor) *tensor.Tensor {
	q = a.QProj.Forward(tp, q)
	k = a.KProj.Forward(tp, k)
	v = a.VProj.Forward(tp, v)
	bq, nq, c := q.Dim(0), q.Dim(1), q.Dim(2)
	bk, nk := k.Dim(0), k.Dim(1)
	h := a.Heads
	d := c / h
	q = tp.Permute(tp.Reshape(q, bq, nq, h, d), 0, 2, 1, 3) // Bq h Nq d
	k = tp.Permute(tp.Reshape(k, bk, nk, h, d), 0, 2, 1, 3) // Bk h Nk d
	v = tp.Permute(tp.Reshape(v, bk, nk, h, d), 0, 2, 1, 3)
	logits := tp.Scale(tp.MatMul(q, k, false, true), float32(1/math.Sqrt(float64(d))))
	attn := tp.Softmax(logits, nil)
	out := tp.MatMul(attn, v, false, false) // B h Nq d
	b := out.Dim(0)
	out = tp.Reshape(tp.Permute(out, 0, 2, 1, 3), b, nq, c)
	return a.OutProj.Forward(tp, out)
}

// mlpBlock is SAM's MLPBlock: lin1, activation, lin2.
type mlpBlock struct {
	Lin1, Lin2 *nn.Linear
	Act        nn.Activation
}

func newMLPBlock(s nn.Scope, dim, hidden int, act nn.Activation) *mlpBlock {
	return &mlpBlock{
		Lin1: nn.NewLinear(s.Sub("lin1"), dim, hidden, true),
		Lin2: nn.NewLinear(s.Sub("lin2"), hidden, dim, true),
		Act:  act,
	}
}

// Forward applies the block to tokens x [..., dim].
func (m *mlpBlock) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return m.Lin2.Forward(tp, m.Act.Apply(tp, m.Lin1.Forward(tp, x)))
}

// convMLP is AI-SAM's residual branch on the image keys: conv3x3 (bias), LayerNorm2d
// (eps 1e-6), exact GELU, conv1x1 (bias); state_dict indices 0, 1 and 3.
type convMLP struct {
	Conv0 *nn.Conv2d
	Norm1 *nn.LayerNorm2d
	Conv3 *nn.Conv2d
	w4    w4Cache // Conv0's Winograd transform for forwardFast
}

func newConvMLP(s nn.Scope, dim int) *convMLP {
	return &convMLP{
		Conv0: nn.NewConv2d(s.Index(0), dim, dim, 3, 1, 1, true),
		Norm1: nn.NewLayerNorm2d(s.Index(1), dim, 1e-6),
		Conv3: nn.NewConv2d(s.Index(3), dim, dim, 1, 1, 0, true),
	}
}

// Forward returns the residual branch for the key map x [B, D, h, w] (without a tape,
// by forwardFast).
func (m *convMLP) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	if tp == nil {
		return m.forwardFast(x)
	}
	return m.Conv3.Forward(tp, tp.GELU(m.Norm1.Forward(tp, m.Conv0.Forward(tp, x))))
}

// tokensToMap turns keys [B, h*w, C] into a map [B, C, h, w].
func tokensToMap(tp *ag.Tape, x *tensor.Tensor, h, w int) *tensor.Tensor {
	b, c := x.Dim(0), x.Dim(2)
	return tp.Reshape(tp.Permute(x, 0, 2, 1), b, c, h, w)
}

// mapToTokens turns a map [B, C, h, w] into keys [B, h*w, C].
func mapToTokens(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	b, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	return tp.Permute(tp.Reshape(x, b, c, h*w), 0, 2, 1)
}
