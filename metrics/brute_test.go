package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteSurface is the definition, voxel by voxel: a voxel of the mask is interior iff
// every offset in {-1,0,1}^nd with at most c non-zero components lands inside the
// array on a mask voxel (outside the array is background, scipy's border_value=0).
func bruteSurface(m []bool, shape []int, c int) []bool {
	nd := len(shape)
	out := make([]bool, len(m))
	coord := make([]int, nd)
	off := make([]int, nd)
	for i, v := range m {
		if !v {
			continue
		}
		r := i
		for k := nd - 1; k >= 0; k-- {
			coord[k] = r % shape[k]
			r /= shape[k]
		}
		interior := true
		for code := 0; code < pow3(nd) && interior; code++ {
			x, nz := code, 0
			for k := range nd {
				off[k] = x%3 - 1
				x /= 3
				if off[k] != 0 {
					nz++
				}
			}
			if nz > c {
				continue
			}
			j := 0
			for k := range nd {
				q := coord[k] + off[k]
				if q < 0 || q >= shape[k] {
					interior = false
					break
				}
				j = j*shape[k] + q
			}
			if interior && !m[j] {
				interior = false
			}
		}
		out[i] = !interior
	}
	return out
}

func pow3(n int) int {
	p := 1
	for range n {
		p *= 3
	}
	return p
}

// bruteDirected is the minimum over the surface voxels q of b of the spacing-scaled
// Euclidean distance from each surface voxel p of a (raster order), squares summed in
// axis order with every product rounded, then one square root (scipy's arithmetic).
func bruteDirected(a, b []bool, shape []int, sp []float64) []float64 {
	nd := len(shape)
	coords := func(i int) []int {
		c := make([]int, nd)
		for k := nd - 1; k >= 0; k-- {
			c[k] = i % shape[k]
			i /= shape[k]
		}
		return c
	}
	var bs [][]int
	for q, v := range b {
		if v {
			bs = append(bs, coords(q))
		}
	}
	var out []float64
	for p, v := range a {
		if !v {
			continue
		}
		pc := coords(p)
		best := math.Inf(1)
		for _, qc := range bs {
			s := 0.0
			for k := range nd {
				d := float64(float64(qc[k]-pc[k]) * sp[k])
				s += float64(d * d)
			}
			best = min(best, s)
		}
		out = append(out, math.Sqrt(best))
	}
	return out
}

// brutePercentile is numpy.percentile(v, p) with method 'linear', step by step as the
// metrics fixtures' README spells it out.
func brutePercentile(v []float64, p float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	vi := float64(n-1) * (p / 100)
	if vi >= float64(n-1) {
		return v[n-1]
	}
	lo := math.Floor(vi)
	g := vi - lo
	a, b := v[int(lo)], v[int(lo)+1]
	diff := b - a
	if g >= 0.5 {
		return b - float64(diff*(1-g))
	}
	return a + float64(diff*g)
}

// TestEvaluateCaseBruteForce scores random multi-class 2-D and 3-D label maps (blobs
// touching the array borders, noise voxels, classes missing from one side) with every
// connectivity and anisotropic spacings, and compares HD95, HD and ASSD with the
// brute-force definitions above: this covers the per-class bounding-box crops, the
// connectivity-2/3 surfaces in 3-D (the reference fixtures use connectivity 1 in 3-D)
// and the plane-by-plane distance sampling.
func TestEvaluateCaseBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][]int{{6, 9, 11}, {1, 8, 8}, {5, 1, 7}, {4, 12, 3}, {10, 13}, {7, 5, 6}}
	classes := []int{1, 2, 3}
	compared := map[int]int{} // by connectivity
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		nd := len(shape)
		for trial := range 4 {
			pred, gt := make([]int32, n), make([]int32, n)
			for _, lab := range [][]int32{pred, gt} {
				// A few axis-aligned blobs, often reaching the border, then noise.
				for range 1 + rng.IntN(4) {
					cls := int32(1 + rng.IntN(3))
					lo, hi := make([]int, nd), make([]int, nd)
					for k := range nd {
						lo[k] = rng.IntN(shape[k])
						hi[k] = min(shape[k], lo[k]+1+rng.IntN(shape[k]))
					}
					for i := range n {
						r, in := i, true
						for k := nd - 1; k >= 0; k-- {
							c := r % shape[k]
							r /= shape[k]
							in = in && c >= lo[k] && c < hi[k]
						}
						if in {
							lab[i] = cls
						}
					}
				}
				for i := range n {
					if rng.Float64() < 0.05 {
						lab[i] = int32(rng.IntN(4))
					}
				}
			}
			sp := make([]float64, nd)
			for k := range sp {
				sp[k] = []float64{1, 0.8, 2.5, 0.7}[rng.IntN(4)]
			}
			if trial == 0 {
				sp = nil
			}
			for c := 1; c <= nd; c++ {
				got, err := EvaluateCase(pred, gt, shape, classes, CaseOptions{Options: Options{Spacing: sp, Connectivity: c}})
				if err != nil {
					t.Fatal(err)
				}
				usp := sp
				if usp == nil {
					usp = []float64{1, 1, 1}[:nd]
				}
				for j, cl := range classes {
					pm, gm := make([]bool, n), make([]bool, n)
					for i := range n {
						pm[i], gm[i] = pred[i] == int32(cl), gt[i] == int32(cl)
					}
					s := got[j]
					np, ng, _ := counts(pm, gm)
					if np == 0 || ng == 0 {
						if s.Defined || !math.IsNaN(s.HD95) {
							t.Errorf("shape %v c=%d class %d: n=%d/%d but defined %v hd95 %v", shape, c, cl, np, ng, s.Defined, s.HD95)
						}
						continue
					}
					compared[c]++
					ps, gs := bruteSurface(pm, shape, c), bruteSurface(gm, shape, c)
					all := append(bruteDirected(ps, gs, shape, usp), bruteDirected(gs, ps, shape, usp)...)
					hd95 := brutePercentile(all, 95)
					hd, sum := 0.0, 0.0
					for _, v := range all {
						hd = max(hd, v)
						sum += v
					}
					assd := sum / float64(len(all))
					if s.HD95 != hd95 || s.HD != hd || math.Abs(s.ASSD-assd) > 1e-12*max(1, assd) {
						t.Errorf("shape %v spacing %v c=%d class %d: (hd95, hd, assd) = (%v, %v, %v), want (%v, %v, %v)",
							shape, sp, c, cl, s.HD95, s.HD, s.ASSD, hd95, hd, assd)
					}
					if s.Dice != Dice(pm, gm) {
						t.Errorf("shape %v class %d: dice %v, want %v", shape, cl, s.Dice, Dice(pm, gm))
					}
				}
			}
		}
	}
	if compared[1] < 40 || compared[2] < 40 || compared[3] < 20 {
		t.Errorf("too few defined class pairs compared per connectivity: %v", compared)
	}
}

func TestNames(t *testing.T) {
	for o, want := range map[Outcome]string{BothPresent: "both present", FalsePositive: "false positive",
		Miss: "miss", BothEmpty: "both empty", Outcome(9): "Outcome(9)", Outcome(-1): "Outcome(-1)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome %d: %q, want %q", int(o), got, want)
		}
	}
	for _, s := range []string{"standard", "aisam"} {
		c, err := ParseConvention(s)
		if err != nil || c.String() != s {
			t.Errorf("ParseConvention(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseConvention("medpy"); err == nil {
		t.Error("unknown convention accepted")
	}
}
