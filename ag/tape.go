// Package ag is aisam's reverse-mode automatic differentiation. Model code computes on
// plain *tensor.Tensor values through the methods of a *Tape; a nil *Tape is valid and
// records nothing, which is how inference runs (no closures, no gradient buffers).
//
// Training: tp := ag.NewTape(); tp.Watch(params...); loss := model.Forward(tp, ...);
// tp.Backward(loss); g := tp.Grad(param). Only ops with at least one input that is
// watched (or computed from a watched tensor) are recorded, so frozen parts of a model
// cost nothing extra. A Tape is not safe for concurrent use: record from one goroutine
// (the kernels parallelise internally).
package ag

import (
	"fmt"

	"github.com/aisam/aisam/tensor"
)

// Tape records differentiable ops in order of execution.
type Tape struct {
	live  map[*tensor.Tensor]bool // tensors that need a gradient
	keep  map[*tensor.Tensor]bool // watched or retained: their gradients outlive Backward
	grads map[*tensor.Tensor]*tensor.Tensor
	ops   []op
}

type op struct {
	out *tensor.Tensor
	// back receives d loss / d out and accumulates into the inputs' gradients.
	back func(g *tensor.Tensor)
}

// NewTape returns an empty tape.
func NewTape() *Tape {
	return &Tape{live: map[*tensor.Tensor]bool{}, keep: map[*tensor.Tensor]bool{}, grads: map[*tensor.Tensor]*tensor.Tensor{}}
}

// Watch marks leaves (parameters, inputs) whose gradients are wanted.
func (tp *Tape) Watch(ts ...*tensor.Tensor) {
	if tp == nil {
		return
	}
	for _, t := range ts {
		tp.live[t] = true
		tp.keep[t] = true
	}
}

// Retain keeps the gradient of an intermediate tensor (torch's retain_grad): Backward
// otherwise frees each intermediate gradient once it has been propagated.
func (tp *Tape) Retain(ts ...*tensor.Tensor) {
	if tp == nil {
		return
	}
	for _, t := range ts {
		tp.keep[t] = true
	}
}

// Len returns the number of recorded ops (0 on a nil tape).
func (tp *Tape) Len() int {
	if tp == nil {
		return 0
	}
	return len(tp.ops)
}

// Recording reports whether an op over these inputs must be recorded.
func (tp *Tape) Recording(ins ...*tensor.Tensor) bool {
	if tp == nil {
		return false
	}
	for _, t := range ins {
		if t != nil && tp.live[t] {
			return true
		}
	}
	return false
}

// Record registers out as computed from live inputs; back turns d loss/d out into
// contributions accumulated with Accum. Callers check Recording first.
func (tp *Tape) Record(out *tensor.Tensor, back func(g *tensor.Tensor)) {
	tp.live[out] = true
	tp.ops = append(tp.ops, op{out: out, back: back})
}

// Live reports whether t needs a gradient on this tape.
func (tp *Tape) Live(t *tensor.Tensor) bool { return tp != nil && t != nil && tp.live[t] }

// Accum adds g to the gradient of t if t is live.
func (tp *Tape) Accum(t, g *tensor.Tensor) {
	if !tp.Live(t) {
		return
	}
	if !tensor.EqualShape(t.Shape(), g.Shape()) {
		panic(fmt.Sprintf("ag: gradient shape %v for tensor of shape %v", g.Shape(), t.Shape()))
	}
	if cur, ok := tp.grads[t]; ok {
		for i, v := range g.Data {
			cur.Data[i] += v
		}
		return
	}
	tp.grads[t] = g.Clone()
}

// Backward propagates from loss, a one-element tensor, seeding d loss/d loss = 1.
func (tp *Tape) Backward(loss *tensor.Tensor) {
	if loss.Numel() != 1 {
		panic(fmt.Sprintf("ag.Backward: loss has shape %v, want one element", loss.Shape()))
	}
	tp.BackwardWith(loss, tensor.Full(1, loss.Shape()...))
}

// BackwardWith propagates from out with the given upstream gradient. A tape runs one
// backward pass: the recorded ops and the intermediate gradients (unless retained) are
// released as they are consumed.
func (tp *Tape) BackwardWith(out, g *tensor.Tensor) {
	if tp == nil {
		return
	}
	if !tensor.EqualShape(out.Shape(), g.Shape()) {
		panic(fmt.Sprintf("ag.BackwardWith: gradient shape %v for output of shape %v", g.Shape(), out.Shape()))
	}
	tp.Accum(out, g)
	for i := len(tp.ops) - 1; i >= 0; i-- {
		o := tp.ops[i]
		tp.ops[i] = op{}
		if g, ok := tp.grads[o.out]; ok {
			if !tp.keep[o.out] {
				delete(tp.grads, o.out)
			}
			o.back(g)
		}
	}
	tp.ops = nil
}

// Grad returns the accumulated gradient of t, or nil if none reached it.
func (tp *Tape) Grad(t *tensor.Tensor) *tensor.Tensor {
	if tp == nil {
		return nil
	}
	return tp.grads[t]
}

// Grads returns the gradients of ts in order (nil where none reached a tensor).
func (tp *Tape) Grads(ts ...*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		out[i] = tp.Grad(t)
	}
	return out
}
