package aisam

import (
	"fmt"
	"math"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/tensor"
)

// The prompt and mask losses are computed in float64 with hand-derived gradients: they
// reduce hundreds of thousands of terms to a scalar, where float32 accumulation would
// cost more precision than the whole model, and a fused backward avoids a dozen
// temporaries of the heatmaps' size.

// PromptLossConfig holds AttnMaskLoss's constants (the official gamma 0.1, temperature 7)
// and the weights of its diversity terms (0.2 within a class, 0.5 across classes).
type PromptLossConfig struct {
	Gamma, Temp          float64
	LocWeight, ClassLocW float64
}

// DefaultPromptLoss is the configuration of the AI-SAM training code.
var DefaultPromptLoss = PromptLossConfig{Gamma: 0.1, Temp: 7, LocWeight: 0.2, ClassLocW: 0.5}

// PromptLossTerms are AttnMaskLoss's intermediate values, named as in the official code.
type PromptLossTerms struct {
	Target         *tensor.Tensor // [B, C, h, w]: the one-hot target resized to the heatmap grid
	GTExist        []bool         // [B*C]: class present in the target
	TotalAttn      []float64      // [B*C*P] S
	CorrectAttn    []float64      // [B*C*P] Cr
	CorrectMaxAttn []float64      // [B*C*P] M
	Precision      []float64      // [B*C*P] L_pc
	Sharpness      []float64      // [B*C*P] L_ps
	AttnLoss       float64        // sum(2 L_pc + L_ps) / count(gt_exist)
	LocLoss        float64        // diversity among a class's points
	ClassLocLoss   float64        // diversity among classes, per point index
	LocLogits      []float64      // [B*C, P, P]
	ClassLocLogits []float64      // [B*P, C, C]
	Total          float64
}

// ResizeTargetAlignCorners resizes t [B, C, H, W] to [B, C, h, w] bilinearly with
// align_corners=True, computing source coordinates as torch does: float64(float32(H-1)/
// (h-1)) * i, with no rounding to float32 in between.
func ResizeTargetAlignCorners(t *tensor.Tensor, h, w int) *tensor.Tensor {
	b, c, H, W := t.Dim(0), t.Dim(1), t.Dim(2), t.Dim(3)
	out := tensor.New(b, c, h, w)
	scale := func(in, out int) float64 {
		if out <= 1 {
			return 0
		}
		return float64(float32(in-1) / float32(out-1))
	}
	sy, sx := scale(H, h), scale(W, w)
	type tap struct {
		i0, i1 int
		l1     float32
	}
	taps := func(n, in int, s float64) []tap {
		r := make([]tap, n)
		for i := range r {
			src := s * float64(i)
			i0 := int(src)
			if i0 > in-1 {
				i0 = in - 1
			}
			i1 := i0 + 1
			if i1 > in-1 {
				i1 = in - 1
			}
			r[i] = tap{i0, i1, float32(src - float64(i0))}
		}
		return r
	}
	ty, tx := taps(h, H, sy), taps(w, W, sx)
	for p := 0; p < b*c; p++ {
		src := t.Data[p*H*W : (p+1)*H*W]
		dst := out.Data[p*h*w : (p+1)*h*w]
		for y, a := range ty {
			l0y := 1 - a.l1
			for x, e := range tx {
				l0x := 1 - e.l1
				dst[y*w+x] = l0y*(l0x*src[a.i0*W+e.i0]+e.l1*src[a.i0*W+e.i1]) +
					a.l1*(l0x*src[a.i1*W+e.i0]+e.l1*src[a.i1*W+e.i1])
			}
		}
	}
	return out
}

// OneHot turns labels [B, H, W] (class indices) into [B, C, H, W]; it fails on a label
// outside [0, C).
func OneHot(labels []int, b, h, w, c int) (*tensor.Tensor, error) {
	if len(labels) != b*h*w {
		return nil, fmt.Errorf("aisam: %d labels for [%d %d %d]", len(labels), b, h, w)
	}
	out := tensor.New(b, c, h, w)
	for i, l := range labels {
		if l < 0 || l >= c {
			return nil, fmt.Errorf("aisam: label %d at %d outside [0, %d)", l, i, c)
		}
		bi, px := i/(h*w), i%(h*w)
		out.Data[(bi*c+l)*h*w+px] = 1
	}
	return out, nil
}

// PromptLoss is AI-SAM's AttnMaskLoss on the soft heatmaps attn [B, C, P, h, w] (or
// [B, C, P, h*w]) against a one-hot target [B, C, H, W], with the point-diversity terms
// on fwp [B, C, P, D] (feature_with_pe; nil skips them, as the official image_pe=None).
// It returns the scalar loss (recorded on tp for attn and fwp) and its terms. If no class
// is present the mean is NaN, as in the official code.
func PromptLoss(tp *ag.Tape, cfg PromptLossConfig, attn, target, fwp *tensor.Tensor) (*tensor.Tensor, *PromptLossTerms) {
	b, c, p := attn.Dim(0), attn.Dim(1), attn.Dim(2)
	hw := attn.Numel() / (b * c * p)
	var h, w int
	if attn.Rank() == 5 {
		h, w = attn.Dim(3), attn.Dim(4)
	} else {
		h = int(math.Sqrt(float64(hw))) // a flattened square grid
		w = hw / h
	}
	tr := ResizeTargetAlignCorners(target, h, w)
	g := cfg.Gamma
	terms := &PromptLossTerms{Target: tr, GTExist: make([]bool, b*c)}
	n := b * c * p
	terms.TotalAttn = make([]float64, n)
	terms.CorrectAttn = make([]float64, n)
	terms.CorrectMaxAttn = make([]float64, n)
	terms.Precision = make([]float64, n)
	terms.Sharpness = make([]float64, n)
	argMax := make([]int, n)
	count := 0.0
	for bc := 0; bc < b*c; bc++ {
		tg := tr.Data[bc*hw : (bc+1)*hw]
		var s float64
		for _, v := range tg {
			s += float64(v)
		}
		terms.GTExist[bc] = s > 0
	}
	for i := 0; i < n; i++ {
		bc := i / p
		if !terms.GTExist[bc] {
			continue
		}
		count++
		a := attn.Data[i*hw : (i+1)*hw]
		tg := tr.Data[bc*hw : (bc+1)*hw]
		var s, cr float64
		best, bi := float32(math.Inf(-1)), 0
		for j, v := range a {
			s += float64(v)
			prod := v * tg[j]
			cr += float64(prod)
			if prod > best {
				best, bi = prod, j
			}
		}
		terms.TotalAttn[i], terms.CorrectAttn[i], terms.CorrectMaxAttn[i] = s, cr, float64(best)
		argMax[i] = bi
		terms.Precision[i] = 1 - (cr+g)/(s+g)
		terms.Sharpness[i] = 1 - (float64(best)+g)/(cr+g)
	}
	var sum float64
	for i := 0; i < n; i++ {
		sum += 2*terms.Precision[i] + terms.Sharpness[i]
	}
	terms.AttnLoss = sum / count
	terms.Total = terms.AttnLoss
	d := 0
	var locGrad, classGrad []float64
	if fwp != nil {
		d = fwp.Dim(3)
		// loc: the P points of each (b, class).
		var lg []float64
		terms.LocLoss, terms.LocLogits, lg = diversity(fwp.Data, b*c, p, d, cfg.Temp, func(g, k int) int { return g*p + k })
		locGrad = lg
		// class_loc: the C classes of each (b, point index).
		idx := func(g, k int) int { bi, pi := g/p, g%p; return (bi*c+k)*p + pi }
		terms.ClassLocLoss, terms.ClassLocLogits, classGrad = diversity(fwp.Data, b*p, c, d, cfg.Temp, idx)
		terms.Total += cfg.LocWeight*terms.LocLoss + cfg.ClassLocW*terms.ClassLocLoss
	}
	out := tensor.Scalar(float32(terms.Total))
	if tp.Recording(attn, fwp) {
		tp.Record(out, func(gr *tensor.Tensor) {
			up := float64(gr.Data[0])
			if tp.Live(attn) {
				da := tensor.New(attn.Shape()...)
				for i := 0; i < n; i++ {
					bc := i / p
					if !terms.GTExist[bc] {
						continue
					}
					s, cr := terms.TotalAttn[i], terms.CorrectAttn[i]
					// d/dS and d/dCr of 2 L_pc, and d/dM of L_ps (Cr stopped there).
					dS := 2 * (cr + g) / ((s + g) * (s + g)) / count * up
					dCr := -2 / (s + g) / count * up
					dM := -1 / (cr + g) / count * up
					tg := tr.Data[bc*hw : (bc+1)*hw]
					row := da.Data[i*hw : (i+1)*hw]
					for j := range row {
						row[j] = float32(dS + dCr*float64(tg[j]))
					}
					row[argMax[i]] += float32(dM * float64(tg[argMax[i]]))
				}
				tp.Accum(attn, da)
			}
			if fwp != nil && tp.Live(fwp) {
				df := tensor.New(fwp.Shape()...)
				for i := range df.Data {
					df.Data[i] = float32(up * (cfg.LocWeight*locGrad[i] + cfg.ClassLocW*classGrad[i]))
				}
				tp.Accum(fwp, df)
			}
		})
	}
	return out, terms
}

// diversity is CE(temp * F F^T, I) over groups of n L2-normalised vectors of x, where
// vector k of group g is row at(g, k) of x [*, d]. The cross entropy takes the class along
// dim 1 of the (groups, n, n) logits, averaged over groups*n, as F.cross_entropy does. It
// returns the loss, the logits before the temperature and d loss / d x (in x's layout).
func diversity(x []float32, groups, n, d int, temp float64, at func(g, k int) int) (float64, []float64, []float64) {
	logits := make([]float64, groups*n*n)
	grad := make([]float64, len(x))
	var loss float64
	f := make([]float64, n*d)
	norms := make([]float64, n)
	z := make([]float64, n*n)
	gz := make([]float64, n*n)
	for g := 0; g < groups; g++ {
		for k := 0; k < n; k++ {
			row := x[at(g, k)*d : (at(g, k)+1)*d]
			var ss float64
			for _, v := range row {
				ss += float64(v) * float64(v)
			}
			nr := math.Max(math.Sqrt(ss), 1e-8)
			norms[k] = nr
			for j, v := range row {
				f[k*d+j] = float64(v) / nr
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for e := 0; e < d; e++ {
					s += f[i*d+e] * f[j*d+e]
				}
				logits[(g*n+i)*n+j] = s
				z[i*n+j] = temp * s
			}
		}
		// Column k: softmax over rows j of z[j, k], target j == k.
		for k := 0; k < n; k++ {
			mx := math.Inf(-1)
			for j := 0; j < n; j++ {
				mx = math.Max(mx, z[j*n+k])
			}
			var se float64
			for j := 0; j < n; j++ {
				se += math.Exp(z[j*n+k] - mx)
			}
			lse := mx + math.Log(se)
			loss += lse - z[k*n+k]
			for j := 0; j < n; j++ {
				q := math.Exp(z[j*n+k] - lse)
				if j == k {
					q--
				}
				gz[j*n+k] = q
			}
		}
		scale := temp / float64(groups*n)
		// d/dF = temp (G + G^T) F, then through the normalisation.
		for i := 0; i < n; i++ {
			df := make([]float64, d)
			for j := 0; j < n; j++ {
				c := (gz[i*n+j] + gz[j*n+i]) * scale
				for e := 0; e < d; e++ {
					df[e] += c * f[j*d+e]
				}
			}
			var dot float64
			for e := 0; e < d; e++ {
				dot += df[e] * f[i*d+e]
			}
			base := at(g, i) * d
			if norms[i] > 1e-8 {
				for e := 0; e < d; e++ {
					grad[base+e] = (df[e] - f[i*d+e]*dot) / norms[i]
				}
			} else {
				for e := 0; e < d; e++ {
					grad[base+e] = df[e] / 1e-8
				}
			}
		}
	}
	return loss / float64(groups*n), logits, grad
}

// MaskLossTerms are the parts of the mask loss.
type MaskLossTerms struct {
	CE, Dice     float64
	DicePerClass []float64 // each class's Dice loss, 1 - soft Dice coefficient
	Total        float64
}

// MaskLoss is aisam's segmentation loss on C-way logits [B, C, H, W] against labels
// (B*H*W class indices): ceWeight * cross-entropy (mean over pixels) + diceWeight * SAMed's
// soft Dice loss (softmax over classes; per class 1 - (2 I + s)/(sum p^2 + sum t + s) with
// s = 1e-5, averaged over classes). AI-SAM's recipe uses 0.2 and 0.8.
func MaskLoss(tp *ag.Tape, logits *tensor.Tensor, labels []int, ceWeight, diceWeight float64) (*tensor.Tensor, *MaskLossTerms, error) {
	b, c, h, w := logits.Dim(0), logits.Dim(1), logits.Dim(2), logits.Dim(3)
	hw := h * w
	if len(labels) != b*hw {
		return nil, nil, fmt.Errorf("aisam: %d labels for logits %v", len(labels), logits.Shape())
	}
	for i, l := range labels {
		if l < 0 || l >= c {
			return nil, nil, fmt.Errorf("aisam: label %d at %d outside [0, %d)", l, i, c)
		}
	}
	prob := make([]float64, len(logits.Data))
	var ce float64
	for bi := 0; bi < b; bi++ {
		for px := 0; px < hw; px++ {
			mx := math.Inf(-1)
			for k := 0; k < c; k++ {
				mx = math.Max(mx, float64(logits.Data[(bi*c+k)*hw+px]))
			}
			var se float64
			for k := 0; k < c; k++ {
				se += math.Exp(float64(logits.Data[(bi*c+k)*hw+px]) - mx)
			}
			lse := mx + math.Log(se)
			for k := 0; k < c; k++ {
				prob[(bi*c+k)*hw+px] = math.Exp(float64(logits.Data[(bi*c+k)*hw+px]) - lse)
			}
			ce += lse - float64(logits.Data[(bi*c+labels[bi*hw+px])*hw+px])
		}
	}
	npx := float64(b * hw)
	ce /= npx
	const smooth = 1e-5
	inter := make([]float64, c)
	zs := make([]float64, c)
	ys := make([]float64, c)
	for bi := 0; bi < b; bi++ {
		for k := 0; k < c; k++ {
			for px := 0; px < hw; px++ {
				pv := prob[(bi*c+k)*hw+px]
				zs[k] += pv * pv
				if labels[bi*hw+px] == k {
					inter[k] += pv
					ys[k]++
				}
			}
		}
	}
	terms := &MaskLossTerms{CE: ce, DicePerClass: make([]float64, c)}
	for k := 0; k < c; k++ {
		coef := (2*inter[k] + smooth) / (zs[k] + ys[k] + smooth)
		terms.DicePerClass[k] = 1 - coef
		terms.Dice += (1 - coef) / float64(c)
	}
	terms.Total = ceWeight*ce + diceWeight*terms.Dice
	out := tensor.Scalar(float32(terms.Total))
	if tp.Recording(logits) {
		tp.Record(out, func(gr *tensor.Tensor) {
			up := float64(gr.Data[0])
			dl := tensor.New(logits.Shape()...)
			dp := make([]float64, c)
			for bi := 0; bi < b; bi++ {
				for px := 0; px < hw; px++ {
					lab := labels[bi*hw+px]
					var dot float64
					for k := 0; k < c; k++ {
						pv := prob[(bi*c+k)*hw+px]
						den := zs[k] + ys[k] + smooth
						t := 0.0
						if lab == k {
							t = 1
						}
						// d (1 - coef_k) / d p = -(2 t den - (2 I + s) 2 p) / den^2, averaged over classes.
						dp[k] = -diceWeight / float64(c) * (2*t*den - (2*inter[k]+smooth)*2*pv) / (den * den)
						dot += dp[k] * pv
					}
					for k := 0; k < c; k++ {
						pv := prob[(bi*c+k)*hw+px]
						t := 0.0
						if lab == k {
							t = 1
						}
						v := pv*(dp[k]-dot) + ceWeight*(pv-t)/npx
						dl.Data[(bi*c+k)*hw+px] = float32(up * v)
					}
				}
			}
			tp.Accum(logits, dl)
		})
	}
	return out, terms, nil
}
