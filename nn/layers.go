package nn

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// uniform fills t from U(-bound, bound): PyTorch's default for Linear and Conv weights
// (kaiming_uniform with a=√5 gives bound 1/√fan_in) and biases.
func uniform(s Scope, t *tensor.Tensor, bound float64) {
	if math.IsInf(bound, 0) || math.IsNaN(bound) {
		bound = 0 // fan_in 0: torch uses bound 0
	}
	r := s.Rand()
	for i := range t.Data {
		t.Data[i] = float32((r.Float64()*2 - 1) * bound)
	}
}

func normal(s Scope, t *tensor.Tensor, std float64) {
	r := s.Rand()
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64() * std)
	}
}

// Linear is torch.nn.Linear: y = x W^T + b.
type Linear struct {
	Weight *tensor.Tensor // [out, in]
	Bias   *tensor.Tensor // [out] or nil
}

// NewLinear creates "weight" and, if bias, "bias" in s.
func NewLinear(s Scope, in, out int, bias bool) *Linear {
	l := &Linear{Weight: s.Param("weight", out, in)}
	bound := 1 / math.Sqrt(float64(in))
	uniform(s, l.Weight, bound)
	if bias {
		l.Bias = s.Param("bias", out)
		uniform(s, l.Bias, bound)
	}
	return l
}

// Forward applies the layer to x [..., in].
func (l *Linear) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.Linear(x, l.Weight, l.Bias)
}

// LayerNorm is torch.nn.LayerNorm over the last axis.
type LayerNorm struct {
	Weight, Bias *tensor.Tensor
	Eps          float32
}

// NewLayerNorm creates "weight" (ones) and "bias" (zeros).
func NewLayerNorm(s Scope, dim int, eps float32) *LayerNorm {
	l := &LayerNorm{Weight: s.Param("weight", dim), Bias: s.Param("bias", dim), Eps: eps}
	for i := range l.Weight.Data {
		l.Weight.Data[i] = 1
	}
	return l
}

// Forward normalises x over its last axis.
func (l *LayerNorm) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.LayerNorm(x, l.Weight, l.Bias, l.Eps)
}

// LayerNorm2d is SAM's channel LayerNorm on NCHW maps (eps 1e-6 in SAM).
type LayerNorm2d struct{ LayerNorm }

// NewLayerNorm2d creates "weight" and "bias" over channels.
func NewLayerNorm2d(s Scope, ch int, eps float32) *LayerNorm2d {
	return &LayerNorm2d{*NewLayerNorm(s, ch, eps)}
}

// Forward normalises x [N, C, H, W] over C.
func (l *LayerNorm2d) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.LayerNorm2d(x, l.Weight, l.Bias, l.Eps)
}

// Conv2d is torch.nn.Conv2d with square kernel, stride and padding.
type Conv2d struct {
	Weight, Bias *tensor.Tensor
	Stride, Pad  int
}

// NewConv2d creates "weight" [out, in, k, k] and, if bias, "bias" [out].
func NewConv2d(s Scope, in, out, k, stride, pad int, bias bool) *Conv2d {
	c := &Conv2d{Weight: s.Param("weight", out, in, k, k), Stride: stride, Pad: pad}
	bound := 1 / math.Sqrt(float64(in*k*k))
	uniform(s, c.Weight, bound)
	if bias {
		c.Bias = s.Param("bias", out)
		uniform(s, c.Bias, bound)
	}
	return c
}

// Forward convolves x [N, in, H, W].
func (c *Conv2d) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.Conv2d(x, c.Weight, c.Bias, c.Stride, c.Pad)
}

// ConvTranspose2d is torch.nn.ConvTranspose2d with kernel == stride, no padding.
type ConvTranspose2d struct {
	Weight, Bias *tensor.Tensor // Weight [in, out, k, k]
	Stride       int
}

// NewConvTranspose2d creates "weight" [in, out, k, k] and "bias" [out].
func NewConvTranspose2d(s Scope, in, out, k int, bias bool) *ConvTranspose2d {
	c := &ConvTranspose2d{Weight: s.Param("weight", in, out, k, k), Stride: k}
	// torch computes fan_in from weight.size(1)*k*k for transposed convs.
	bound := 1 / math.Sqrt(float64(out*k*k))
	uniform(s, c.Weight, bound)
	if bias {
		c.Bias = s.Param("bias", out)
		uniform(s, c.Bias, bound)
	}
	return c
}

// Forward upsamples x [N, in, H, W] to [N, out, kH, kW].
func (c *ConvTranspose2d) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.ConvTranspose2d(x, c.Weight, c.Bias, c.Stride)
}

// Embedding is torch.nn.Embedding (SAM uses its Weight directly as learned tokens).
type Embedding struct{ Weight *tensor.Tensor }

// NewEmbedding creates "weight" [n, dim] ~ N(0, 1).
func NewEmbedding(s Scope, n, dim int) *Embedding {
	e := &Embedding{Weight: s.Param("weight", n, dim)}
	normal(s, e.Weight, 1)
	return e
}

// Activation selects the nonlinearity of an MLP.
type Activation int

// Activations used by SAM and AI-SAM.
const (
	ReLU Activation = iota
	GELU
)

// Apply runs the activation.
func (a Activation) Apply(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	if a == GELU {
		return tp.GELU(x)
	}
	return tp.ReLU(x)
}

// MLP is SAM's MLP: "layers.0".."layers.{n-1}" with the activation between them and,
// optionally, a sigmoid after the last.
type MLP struct {
	Layers        []*Linear
	Act           Activation
	SigmoidOutput bool
}

// NewMLP creates n linear layers in -> hidden ... -> out under "layers".
func NewMLP(s Scope, in, hidden, out, n int, act Activation) *MLP {
	m := &MLP{Act: act}
	for i := 0; i < n; i++ {
		a, b := hidden, hidden
		if i == 0 {
			a = in
		}
		if i == n-1 {
			b = out
		}
		m.Layers = append(m.Layers, NewLinear(s.Sub("layers").Index(i), a, b, true))
	}
	return m
}

// Forward runs the MLP.
func (m *MLP) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	for i, l := range m.Layers {
		x = l.Forward(tp, x)
		if i < len(m.Layers)-1 {
			x = m.Act.Apply(tp, x)
		}
	}
	if m.SigmoidOutput {
		x = tp.Sigmoid(x)
	}
	return x
}

// Attention is SAM's decoder attention: q/k/v/out projections with an internal width of
// dim/downsample, split into heads.
type Attention struct {
	QProj, KProj, VProj, OutProj *Linear
	Heads                        int
}

// NewAttention creates "q_proj", "k_proj", "v_proj", "out_proj".
func NewAttention(s Scope, dim, heads, downsample int) *Attention {
	if heads <= 0 || downsample <= 0 || dim%downsample != 0 || (dim/downsample)%heads != 0 {
		panic(fmt.Sprintf("nn.NewAttention(%s): dim %d, heads %d, downsample %d: the internal width must divide into heads", s.prefix, dim, heads, downsample))
	}
	inner := dim / downsample
	return &Attention{
		QProj:   NewLinear(s.Sub("q_proj"), dim, inner, true),
		KProj:   NewLinear(s.Sub("k_proj"), dim, inner, true),
		VProj:   NewLinear(s.Sub("v_proj"), dim, inner, true),
		OutProj: NewLinear(s.Sub("out_proj"), inner, dim, true),
		Heads:   heads,
	}
}

// Forward attends queries q [B, Nq, dim] to keys k and values v [B, Nk, dim].
func (a *Attention) Forward(tp *ag.Tape, q, k, v *tensor.Tensor) *tensor.Tensor {
	q = a.QProj.Forward(tp, q)
	k = a.KProj.Forward(tp, k)
	v = a.VProj.Forward(tp, v)
	b, nq, c := q.Dim(0), q.Dim(1), q.Dim(2)
	nk := k.Dim(1)
	h, d := a.Heads, c/a.Heads
	q = tp.Permute(tp.Reshape(q, b, nq, h, d), 0, 2, 1, 3) // B h Nq d
	k = tp.Permute(tp.Reshape(k, b, nk, h, d), 0, 2, 1, 3)
	v = tp.Permute(tp.Reshape(v, b, nk, h, d), 0, 2, 1, 3)
	attn := tp.Scale(tp.MatMul(q, k, false, true), float32(1/math.Sqrt(float64(d))))
	attn = tp.Softmax(attn, nil)
	out := tp.MatMul(attn, v, false, false) // B h Nq d
	out = tp.Reshape(tp.Permute(out, 0, 2, 1, 3), b, nq, c)
	return a.OutProj.Forward(tp, out)
}
