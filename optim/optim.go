// Package optim holds aisam's optimiser, gradient clipping and learning-rate schedules,
// written to match torch.optim.AdamW, torch.nn.utils.clip_grad_norm_ and the schedules of
// SAMed (linear warm-up, then polynomial decay) step for step.
package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/aisam/aisam/tensor"
)

// AdamW is torch.optim.AdamW (amsgrad off): decoupled weight decay p -= lr·wd·p, then the
// Adam step with bias correction and eps added outside the square root. Moments are
// float32, as torch keeps them for float32 parameters, and the update follows torch's
// order of operations.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	steps map[*tensor.Tensor]int
	m, v  map[*tensor.Tensor][]float32
}

// NewAdamW returns AdamW with torch's defaults (betas 0.9, 0.999; eps 1e-8) and the
// given learning rate and weight decay (torch's default decay is 0.01).
func NewAdamW(lr, weightDecay float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		steps: map[*tensor.Tensor]int{}, m: map[*tensor.Tensor][]float32{}, v: map[*tensor.Tensor][]float32{}}
}

// ErrMismatch reports parameters and gradients that do not correspond.
var ErrMismatch = errors.New("optim: parameters and gradients do not match")

// Step updates each parameter with its gradient at the current LR. A nil gradient skips
// the parameter entirely (no decay, no state change), as torch does for p.grad None.
// The step count is per parameter, so parameters that start training later are
// bias-corrected from their own first step.
func (o *AdamW) Step(params, grads []*tensor.Tensor) error {
	if len(params) != len(grads) {
		return fmt.Errorf("%w: %d parameters, %d gradients", ErrMismatch, len(params), len(grads))
	}
	for i, p := range params {
		if grads[i] != nil && !tensor.SameShape(p, grads[i]) {
			return fmt.Errorf("%w: parameter %d has shape %v, gradient %v", ErrMismatch, i, p.Shape(), grads[i].Shape())
		}
	}
	for i, p := range params {
		g := grads[i]
		if g == nil {
			continue
		}
		m, ok := o.m[p]
		if !ok {
			m = make([]float32, p.Numel())
			o.m[p] = m
			o.v[p] = make([]float32, p.Numel())
		}
		v := o.v[p]
		o.steps[p]++
		step := float64(o.steps[p])
		decay := float32(1 - o.LR*o.WeightDecay)
		b1 := float32(1 - o.Beta1)
		b2, omb2 := float32(o.Beta2), float32(1-o.Beta2)
		bc1 := 1 - math.Pow(o.Beta1, step)
		bc2 := 1 - math.Pow(o.Beta2, step)
		negStep := float32(-(o.LR / bc1))
		bc2Sqrt := float32(math.Sqrt(bc2))
		eps := float32(o.Eps)
		for j, gj := range g.Data {
			pj := p.Data[j] * decay
			m[j] += (gj - m[j]) * b1 // torch's lerp_(grad, 1-beta1)
			v[j] = v[j]*b2 + omb2*gj*gj
			den := float32(math.Sqrt(float64(v[j])))/bc2Sqrt + eps
			p.Data[j] = pj + negStep*m[j]/den // addcdiv_(m, den, value=-step_size)
		}
	}
	return nil
}

// Reset forgets all moments and step counts.
func (o *AdamW) Reset() {
	o.steps = map[*tensor.Tensor]int{}
	o.m = map[*tensor.Tensor][]float32{}
	o.v = map[*tensor.Tensor][]float32{}
}

// ClipGradNorm is torch.nn.utils.clip_grad_norm_ with the L2 norm: it returns the total
// norm of all gradients (nil ones are skipped) and, when it exceeds maxNorm, scales every
// gradient in place by maxNorm/(norm+1e-6).
func ClipGradNorm(grads []*tensor.Tensor, maxNorm float64) float64 {
	var ss float64
	for _, g := range grads {
		if g == nil {
			continue
		}
		for _, v := range g.Data {
			ss += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(ss)
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		c := float32(coef)
		for _, g := range grads {
			if g == nil {
				continue
			}
			for i := range g.Data {
				g.Data[i] *= c
			}
		}
	}
	return norm
}

// State returns the optimiser's per-parameter state under names derived from the
// parameters' names: "<name>.exp_avg", "<name>.exp_avg_sq" (torch's keys) and
// "<name>.step" (a one-element tensor). Parameters never stepped are left out. The
// tensors are copies, ready to be saved with a checkpoint.
func (o *AdamW) State(names map[*tensor.Tensor]string) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for p, m := range o.m {
		name, ok := names[p]
		if !ok {
			continue
		}
		out[name+".exp_avg"] = tensor.FromSlice(append([]float32(nil), m...), p.Shape()...)
		out[name+".exp_avg_sq"] = tensor.FromSlice(append([]float32(nil), o.v[p]...), p.Shape()...)
		out[name+".step"] = tensor.FromSlice([]float32{float32(o.steps[p])}, 1)
	}
	return out
}

// LoadState restores what State saved, for the parameters in names. A parameter without
// saved state starts afresh; a saved tensor of the wrong size is an error and nothing
// is changed.
func (o *AdamW) LoadState(names map[*tensor.Tensor]string, st map[string]*tensor.Tensor) error {
	type entry struct {
		p       *tensor.Tensor
		m, v    []float32
		stepNum int
	}
	var es []entry
	for p, name := range names {
		m, v, s := st[name+".exp_avg"], st[name+".exp_avg_sq"], st[name+".step"]
		if m == nil && v == nil && s == nil {
			continue
		}
		if m == nil || v == nil || s == nil || m.Numel() != p.Numel() || v.Numel() != p.Numel() || s.Numel() != 1 {
			return fmt.Errorf("%w: optimiser state of %s is incomplete or mis-sized", ErrMismatch, name)
		}
		step := s.Data[0]
		if step < 1 || step != float32(int(step)) {
			return fmt.Errorf("%w: optimiser step %v of %s", ErrMismatch, step, name)
		}
		es = append(es, entry{p, append([]float32(nil), m.Data...), append([]float32(nil), v.Data...), int(step)})
	}
	for _, e := range es {
		o.m[e.p], o.v[e.p], o.steps[e.p] = e.m, e.v, e.stepNum
	}
	return nil
}
