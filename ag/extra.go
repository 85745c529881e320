package ag

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// Ops that AI-SAM's training needs beyond the kernels of package tensor.

// Neg returns -a.
func (tp *Tape) Neg(a *tensor.Tensor) *tensor.Tensor { return tp.Scale(a, -1) }

// Square returns a².
func (tp *Tape) Square(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Mul(a, a)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Scale(tensor.Mul(g, a), 2)) })
	}
	return out
}

// Abs returns |a| (gradient 0 at 0, as torch).
func (tp *Tape) Abs(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(a.Shape()...)
	for i, v := range a.Data {
		out.Data[i] = float32(math.Abs(float64(v)))
	}
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.AbsBackward(a, g)) })
	}
	return out
}

// Clamp limits a to [lo, hi]; the gradient passes where lo <= a <= hi, as torch.clamp.
func (tp *Tape) Clamp(a *tensor.Tensor, lo, hi float32) *tensor.Tensor {
	out := tensor.New(a.Shape()...)
	for i, v := range a.Data {
		out.Data[i] = min(max(v, lo), hi)
	}
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.ClampBackward(a, g, lo, hi)) })
	}
	return out
}

// Detach returns a tensor sharing a's data that the tape does not track (torch's detach,
// AI-SAM's stop-gradient).
func (tp *Tape) Detach(a *tensor.Tensor) *tensor.Tensor {
	return tensor.FromSlice(a.Data, a.Shape()...)
}

// BroadcastTo expands a to shape (NumPy rules); the gradient sums the copies.
func (tp *Tape) BroadcastTo(a *tensor.Tensor, shape ...int) *tensor.Tensor {
	out := tensor.BroadcastTo(a, shape...)
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.SumTo(g, a.Shape()...)) })
	}
	return out
}

// SumAll returns the sum of all elements as a 0-d tensor (accumulated in float64).
func (tp *Tape) SumAll(a *tensor.Tensor) *tensor.Tensor {
	out := tensor.Scalar(float32(tensor.SumAll(a)))
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Full(g.Data[0], a.Shape()...)) })
	}
	return out
}

// MeanAll returns the mean of all elements as a 0-d tensor.
func (tp *Tape) MeanAll(a *tensor.Tensor) *tensor.Tensor {
	n := float64(a.Numel())
	out := tensor.Scalar(float32(tensor.SumAll(a) / n))
	if tp.Recording(a) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(a, tensor.Full(float32(float64(g.Data[0])/n), a.Shape()...)) })
	}
	return out
}

// lines splits shape around axis into outer × n × inner.
func lines(op string, shape []int, axis int) (ax, outer, n, inner int) {
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		panic(fmt.Sprintf("ag.%s: axis out of range for shape %v", op, shape))
	}
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return axis, outer, shape[axis], inner
}

// forLines runs fn over every line (o, in) of a tensor split as outer × n × inner.
func forLines(outer, n, inner int, fn func(base int)) {
	grain := max(1, (1<<12)/max(n, 1))
	par.For(outer*inner, grain, func(lo, hi int) {
		for l := lo; l < hi; l++ {
			fn((l/inner)*n*inner + l%inner)
		}
	})
}

// L2Normalize divides x by max(‖x‖₂, eps) along axis, as torch.nn.functional.normalize.
func (tp *Tape) L2Normalize(x *tensor.Tensor, axis int, eps float32) *tensor.Tensor {
	_, outer, n, inner := lines("L2Normalize", x.Shape(), axis)
	out := tensor.New(x.Shape()...)
	var den []float64 // the clamped norms, kept for the backward
	if tp.Recording(x) {
		den = make([]float64, outer*inner)
	}
	forLines(outer, n, inner, func(base int) {
		var s float64
		for k := 0; k < n; k++ {
			v := float64(x.Data[base+k*inner])
			s += v * v
		}
		d := max(math.Sqrt(s), float64(eps))
		if den != nil {
			den[base/(n*inner)*inner+base%inner] = d
		}
		for k := 0; k < n; k++ {
			out.Data[base+k*inner] = float32(float64(x.Data[base+k*inner]) / d)
		}
	})
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(x.Shape()...)
			forLines(outer, n, inner, func(base int) {
				o, in := base/(n*inner), base%inner
				d := den[o*inner+in]
				var dot float64
				clamped := d == float64(eps)
				if !clamped {
					for k := 0; k < n; k++ {
						dot += float64(g.Data[base+k*inner]) * float64(out.Data[base+k*inner])
					}
				}
				for k := 0; k < n; k++ {
					i := base + k*inner
					dx.Data[i] = float32((float64(g.Data[i]) - float64(out.Data[i])*dot) / d)
				}
			})
			tp.Accum(x, dx)
		})
	}
	return out
}

// LogSoftmax returns log(softmax(x)) over the last axis, computed stably.
func (tp *Tape) LogSoftmax(x *tensor.Tensor) *tensor.Tensor {
	_, outer, n, _ := lines("LogSoftmax", x.Shape(), -1)
	out := tensor.New(x.Shape()...)
	forLines(outer, n, 1, func(base int) { logSoftmaxLine(x.Data[base:base+n], out.Data[base:base+n], 1) })
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(x.Shape()...)
			forLines(outer, n, 1, func(base int) {
				var s float64
				for _, v := range g.Data[base : base+n] {
					s += float64(v)
				}
				for k := 0; k < n; k++ {
					dx.Data[base+k] = float32(float64(g.Data[base+k]) - math.Exp(float64(out.Data[base+k]))*s)
				}
			})
			tp.Accum(x, dx)
		})
	}
	return out
}

// logSoftmaxLine writes log-softmax of the strided line x[0], x[st], ... into out (same stride).
func logSoftmaxLine(x, out []float32, st int) {
	n := (len(x) + st - 1) / st
	m := math.Inf(-1)
	for k := 0; k < n; k++ {
		m = max(m, float64(x[k*st]))
	}
	var s float64
	for k := 0; k < n; k++ {
		s += math.Exp(float64(x[k*st]) - m)
	}
	lse := m + math.Log(s)
	for k := 0; k < n; k++ {
		out[k*st] = float32(float64(x[k*st]) - lse)
	}
}

// IgnoreIndex is the label that CrossEntropy skips, torch's default ignore_index.
const IgnoreIndex = -100

// classLines checks logits [N, C, d1, ...] (or [C]) and returns N, C and the spatial size.
func classLines(op string, logits *tensor.Tensor) (n, c, inner int) {
	if logits.Rank() == 1 {
		return 1, logits.Dim(0), 1
	}
	if logits.Rank() < 2 {
		panic(fmt.Sprintf("ag.%s: logits %v need a class axis", op, logits.Shape()))
	}
	_, n, c, inner = lines(op, logits.Shape(), 1)
	return n, c, inner
}

// CrossEntropy is torch.nn.functional.cross_entropy with class indices and mean
// reduction: logits [N, C, d1, ...] (classes on axis 1, or a single [C] row), labels one
// per N·d1·..., in [0, C) or IgnoreIndex. The mean is over the labels not ignored.
func (tp *Tape) CrossEntropy(logits *tensor.Tensor, labels []int) *tensor.Tensor {
	n, c, inner := classLines("CrossEntropy", logits)
	if len(labels) != n*inner {
		panic(fmt.Sprintf("ag.CrossEntropy: %d labels for logits %v", len(labels), logits.Shape()))
	}
	logp := tensor.New(logits.Shape()...)
	var sum float64
	count := 0
	for o := 0; o < n; o++ {
		for in := 0; in < inner; in++ {
			y := labels[o*inner+in]
			if y == IgnoreIndex {
				continue
			}
			if y < 0 || y >= c {
				panic(fmt.Sprintf("ag.CrossEntropy: label %d outside [0,%d)", y, c))
			}
			base := o*c*inner + in
			logSoftmaxLine(logits.Data[base:base+(c-1)*inner+1], logp.Data[base:base+(c-1)*inner+1], inner)
			sum -= float64(logp.Data[base+y*inner])
			count++
		}
	}
	out := tensor.Scalar(float32(sum / float64(count)))
	if tp.Recording(logits) {
		labels := append([]int(nil), labels...) // the caller may reuse its slice
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(logits.Shape()...)
			scale := float64(g.Data[0]) / float64(count)
			for o := 0; o < n; o++ {
				for in := 0; in < inner; in++ {
					y := labels[o*inner+in]
					if y == IgnoreIndex {
						continue
					}
					base := o*c*inner + in
					for k := 0; k < c; k++ {
						p := math.Exp(float64(logp.Data[base+k*inner]))
						if k == y {
							p--
						}
						dx.Data[base+k*inner] = float32(p * scale)
					}
				}
			}
			tp.Accum(logits, dx)
		})
	}
	return out
}

// SoftCrossEntropy is torch.nn.functional.cross_entropy with class probabilities as the
// target (same shape as logits, classes on axis 1) and mean reduction: the sum over
// classes of -target·log_softmax, averaged over N·d1·... The target gets no gradient.
func (tp *Tape) SoftCrossEntropy(logits, target *tensor.Tensor) *tensor.Tensor {
	if !tensor.SameShape(logits, target) {
		panic(fmt.Sprintf("ag.SoftCrossEntropy: logits %v, target %v", logits.Shape(), target.Shape()))
	}
	n, c, inner := classLines("SoftCrossEntropy", logits)
	logp := tensor.New(logits.Shape()...)
	var sum float64
	for o := 0; o < n; o++ {
		for in := 0; in < inner; in++ {
			base := o*c*inner + in
			logSoftmaxLine(logits.Data[base:base+(c-1)*inner+1], logp.Data[base:base+(c-1)*inner+1], inner)
			for k := 0; k < c; k++ {
				sum -= float64(target.Data[base+k*inner]) * float64(logp.Data[base+k*inner])
			}
		}
	}
	m := float64(n * inner)
	out := tensor.Scalar(float32(sum / m))
	if tp.Recording(logits) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(logits.Shape()...)
			scale := float64(g.Data[0]) / m
			for o := 0; o < n; o++ {
				for in := 0; in < inner; in++ {
					base := o*c*inner + in
					var ts float64
					for k := 0; k < c; k++ {
						ts += float64(target.Data[base+k*inner])
					}
					for k := 0; k < c; k++ {
						i := base + k*inner
						dx.Data[i] = float32((math.Exp(float64(logp.Data[i]))*ts - float64(target.Data[i])) * scale)
					}
				}
			}
			tp.Accum(logits, dx)
		})
	}
	return out
}

// BCEWithLogits is torch's binary_cross_entropy_with_logits with mean reduction:
// mean(max(x,0) - x·t + log(1+e^-|x|)). The target gets no gradient.
func (tp *Tape) BCEWithLogits(x, target *tensor.Tensor) *tensor.Tensor {
	if !tensor.SameShape(x, target) {
		panic(fmt.Sprintf("ag.BCEWithLogits: logits %v, target %v", x.Shape(), target.Shape()))
	}
	var sum float64
	for i, v := range x.Data {
		xf, t := float64(v), float64(target.Data[i])
		sum += max(xf, 0) - xf*t + math.Log1p(math.Exp(-math.Abs(xf)))
	}
	m := float64(x.Numel())
	out := tensor.Scalar(float32(sum / m))
	if tp.Recording(x) {
		tp.Record(out, func(g *tensor.Tensor) {
			dx := tensor.New(x.Shape()...)
			scale := float64(g.Data[0]) / m
			for i, v := range x.Data {
				s := 1 / (1 + math.Exp(-float64(v)))
				dx.Data[i] = float32((s - float64(target.Data[i])) * scale)
			}
			tp.Accum(x, dx)
		})
	}
	return out
}

// Where returns a where mask (broadcast to a's shape) is non-zero and b elsewhere; a and
// b have the same shape. The mask gets no gradient.
func (tp *Tape) Where(mask, a, b *tensor.Tensor) *tensor.Tensor {
	if !tensor.SameShape(a, b) {
		panic(fmt.Sprintf("ag.Where: a %v, b %v", a.Shape(), b.Shape()))
	}
	inv := tensor.New(mask.Shape()...)
	for i, v := range mask.Data {
		if v == 0 {
			inv.Data[i] = 1
		}
	}
	out := tensor.Add(tensor.MaskedFill(a, mask, 0), tensor.MaskedFill(b, inv, 0))
	if tp.Recording(a, b) {
		tp.Record(out, func(g *tensor.Tensor) {
			if tp.Live(a) {
				tp.Accum(a, tensor.MaskedFill(g, mask, 0))
			}
			if tp.Live(b) {
				tp.Accum(b, tensor.MaskedFill(g, inv, 0))
			}
		})
	}
	return out
}

// GumbelSoftmaxST is torch.nn.functional.gumbel_softmax over the last axis: soft =
// softmax((logits + G)/tau) with G = -log(Exp(1)) noise drawn from rng (nil: the global
// source). With hard, the value is the one-hot of argmax(soft) (first on ties), written as
// torch does, (onehot - soft) + soft, and the gradient is that of soft (straight-through).
func (tp *Tape) GumbelSoftmaxST(logits *tensor.Tensor, tau float32, hard bool, rng *rand.Rand) *tensor.Tensor {
	noise := tensor.New(logits.Shape()...)
	for i := range noise.Data {
		var e float64
		if rng != nil {
			e = rng.ExpFloat64()
		} else {
			e = rand.ExpFloat64()
		}
		noise.Data[i] = -float32(math.Log(e))
	}
	return tp.GumbelSoftmaxNoise(logits, noise, tau, hard)
}

// GumbelSoftmaxNoise is GumbelSoftmaxST with the Gumbel noise given (same shape as logits).
func (tp *Tape) GumbelSoftmaxNoise(logits, noise *tensor.Tensor, tau float32, hard bool) *tensor.Tensor {
	if !tensor.SameShape(logits, noise) {
		panic(fmt.Sprintf("ag.GumbelSoftmaxNoise: logits %v, noise %v", logits.Shape(), noise.Shape()))
	}
	z := tensor.New(logits.Shape()...)
	for i, v := range logits.Data {
		z.Data[i] = (v + noise.Data[i]) / tau
	}
	soft := tensor.Softmax(z, nil)
	out := soft
	if hard && soft.Numel() > 0 {
		out = tensor.New(soft.Shape()...)
		n := soft.Dim(-1)
		for r, k := range tensor.ArgMax(soft) {
			row, dst := soft.Data[r*n:(r+1)*n], out.Data[r*n:(r+1)*n]
			for i, s := range row {
				var h float32
				if i == k {
					h = 1
				}
				d := h - s
				dst[i] = d + s
			}
		}
	}
	if tp.Recording(logits) {
		tp.Record(out, func(g *tensor.Tensor) { tp.Accum(logits, tensor.Scale(tensor.SoftmaxBackward(soft, g), 1/tau)) })
	}
	return out
}
