package optim

import "math"

// Schedule gives the learning rate for a 0-based iteration.
type Schedule interface {
	LR(iter int) float64
}

// WarmupPoly is SAMed's schedule: during the first Warmup iterations the rate rises
// linearly, Base·(iter+1)/Warmup; afterwards it decays as Base·(1 - (iter-Warmup)/Total)^Power,
// where Total is the whole run's iteration count (SAMed's max_iterations, so the rate
// never quite reaches 0). SAMed uses Base 5e-3, Warmup 250, Power 7 (its lr_exp; its older
// script hard-codes 0.9). Warmup 0 means no warm-up. Rates are clamped at 0.
//
// SAMed assigns the rate for iteration i+1 after step i, so its very first step runs at
// the optimiser's initial rate; a caller that wants that exactly uses LR(i-1) for i > 0.
type WarmupPoly struct {
	Base          float64
	Warmup, Total int
	Power         float64
}

// LR implements Schedule.
func (s WarmupPoly) LR(iter int) float64 {
	if iter < s.Warmup {
		return s.Base * float64(iter+1) / float64(s.Warmup)
	}
	shift := iter - s.Warmup
	f := 1 - float64(shift)/float64(s.Total)
	if !(f > 0) { // also NaN, from Total 0
		return 0
	}
	return s.Base * math.Pow(f, s.Power)
}

// WarmupCosine rises linearly like WarmupPoly, then follows a half cosine from Base
// down to Min over the remaining Total-Warmup iterations, and stays at Min after.
type WarmupCosine struct {
	Base, Min     float64
	Warmup, Total int
}

// LR implements Schedule.
func (s WarmupCosine) LR(iter int) float64 {
	if iter < s.Warmup {
		return s.Base * float64(iter+1) / float64(s.Warmup)
	}
	span := s.Total - s.Warmup
	if span <= 0 || iter >= s.Total {
		return s.Min
	}
	t := float64(iter-s.Warmup) / float64(span)
	return s.Min + (s.Base-s.Min)*0.5*(1+math.Cos(math.Pi*t))
}

// Constant is a fixed rate.
type Constant float64

// LR implements Schedule.
func (c Constant) LR(int) float64 { return float64(c) }
