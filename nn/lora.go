package nn

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// LoRA is a low-rank update ΔW = B·A of a Linear's weight, as SAMed adds it: A [r, in]
// from kaiming_uniform(a=√5) (PyTorch's Linear default, bound 1/√in), B [out, r] zeros,
// so a new adapter leaves the model unchanged; no alpha/r scaling (SAMed has none).
type LoRA struct {
	A, B *tensor.Tensor
}

// NewLoRA creates "weight" [r, in] in sa and "weight" [out, r] in sb: the bias-free
// Linear layers nn.Linear(in, r) and nn.Linear(r, out) that SAMed uses.
func NewLoRA(sa, sb Scope, in, out, r int) *LoRA {
	if r <= 0 {
		panic(fmt.Sprintf("nn.NewLoRA: rank %d", r))
	}
	l := &LoRA{A: sa.Param("weight", r, in), B: sb.Param("weight", out, r)}
	uniform(sa, l.A, 1/math.Sqrt(float64(in)))
	return l
}

// Forward returns (x Aᵀ) Bᵀ for x [..., in].
func (l *LoRA) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	return tp.Linear(tp.Linear(x, l.A, nil), l.B, nil)
}

// Delta returns B·A [out, in].
func (l *LoRA) Delta() *tensor.Tensor { return tensor.MatMul(l.B, l.A, false, false) }

// LoRAQKV is SAMed's _LoRA_qkv around SAM's attention qkv projection (dim -> 3·dim): the
// frozen projection is "qkv" inside the scope, and rank-r updates "linear_a_q",
// "linear_b_q" (added to the q third) and "linear_a_v", "linear_b_v" (the v third). With
// the scope of blocks.N.attn.qkv, names match AI-SAM's state_dict:
// blocks.N.attn.qkv.qkv.weight, blocks.N.attn.qkv.linear_a_q.weight, ...
type LoRAQKV struct {
	QKV    *Linear
	Q, V   *LoRA
	Dim    int
	merged bool
}

// NewLoRAQKV creates the wrapped projection and both adapters in s.
func NewLoRAQKV(s Scope, dim, r int, bias bool) *LoRAQKV {
	l := &LoRAQKV{QKV: NewLinear(s.Sub("qkv"), dim, 3*dim, bias), Dim: dim}
	l.Q = NewLoRA(s.Sub("linear_a_q"), s.Sub("linear_b_q"), dim, dim, r)
	l.V = NewLoRA(s.Sub("linear_a_v"), s.Sub("linear_b_v"), dim, dim, r)
	return l
}

// Forward returns qkv(x) with the low-rank updates added to its q and v thirds; after
// Merge it is the merged projection alone.
func (l *LoRAQKV) Forward(tp *ag.Tape, x *tensor.Tensor) *tensor.Tensor {
	base := l.QKV.Forward(tp, x)
	if l.merged {
		return base
	}
	dq := l.Q.Forward(tp, x)
	dv := l.V.Forward(tp, x)
	zk := tensor.New(dq.Shape()...)
	return tp.Add(base, tp.Concat(-1, dq, zk, dv))
}

// Merged reports whether Merge has folded the adapters into the projection.
func (l *LoRAQKV) Merged() bool { return l.merged }

// Merge folds B·A into the q and v rows of the projection's weight so that inference
// costs one Linear (and sam's fused paths that read QKV.Weight see the adapted weight).
// It is idempotent. The adapters' own tensors are left as they are, but the projection
// weight changes: save a SAMed-format checkpoint before merging, not after.
func (l *LoRAQKV) Merge() {
	if l.merged {
		return
	}
	addRows(l.QKV.Weight, l.Q.Delta(), 0)
	addRows(l.QKV.Weight, l.V.Delta(), 2*l.Dim)
	l.merged = true
}

// addRows adds d [n, in] to rows [row0, row0+n) of w [*, in].
func addRows(w, d *tensor.Tensor, row0 int) {
	in := w.Dim(1)
	dst := w.Data[row0*in : row0*in+d.Numel()]
	par.For(len(dst), 1<<14, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i] += d.Data[i]
		}
	})
}

// SAMedLoRAKeys maps the keys of a SAMed/AI-SAM LoRA checkpoint (save_lora_parameters:
// w_a_000, w_b_000, ... with two adapters per block, q then v) to state_dict names under
// encoder (e.g. "image_encoder") for blocks 0..n-1.
func SAMedLoRAKeys(encoder string, n int) map[string]string {
	m := make(map[string]string, 4*n)
	for i := 0; i < n; i++ {
		for j, qv := range []string{"q", "v"} {
			k := 2*i + j
			base := fmt.Sprintf("%s.blocks.%d.attn.qkv.", encoder, i)
			m[fmt.Sprintf("w_a_%03d", k)] = base + "linear_a_" + qv + ".weight"
			m[fmt.Sprintf("w_b_%03d", k)] = base + "linear_b_" + qv + ".weight"
		}
	}
	return m
}
