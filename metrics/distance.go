package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Options selects how surface distances are measured.
type Options struct {
	// Spacing is the voxel size per axis (same order as the shape); nil means unit
	// spacing, i.e. distances in voxels (what AI-SAM reports).
	Spacing []float64
	// Connectivity of the erosion that defines the surface: 1 (face neighbours, the
	// default when 0) up to the number of axes (all neighbours).
	Connectivity int
}

func normSpacing(sp []float64, nd int) ([]float64, error) {
	if sp == nil {
		out := make([]float64, nd)
		for i := range out {
			out[i] = 1
		}
		return out, nil
	}
	if len(sp) != nd {
		return nil, fmt.Errorf("metrics: %d spacings for %d axes", len(sp), nd)
	}
	for _, s := range sp {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("metrics: spacing %v must be positive and finite", sp)
		}
	}
	return sp, nil
}

func (o Options) resolve(nd int) ([]float64, int, error) {
	sp, err := normSpacing(o.Spacing, nd)
	if err != nil {
		return nil, 0, err
	}
	c := o.Connectivity
	if c == 0 {
		c = 1
	}
	if c < 1 || c > nd {
		return nil, 0, fmt.Errorf("metrics: connectivity %d outside 1..%d", c, nd)
	}
	return sp, c, nil
}

// Distances holds the directed surface distances of a mask pair, each in raster order
// of the surface voxels it starts from.
type Distances struct {
	PredToGT []float64 // from every surface voxel of the prediction to the GT surface
	GTToPred []float64 // from every surface voxel of the GT to the prediction surface
}

// SurfaceDistances measures the distance from every surface voxel of each mask to the
// surface of the other. It returns ErrEmptyPred or ErrEmptyGT (checked in that order)
// when a mask has no foreground.
func SurfaceDistances(pred, gt []bool, shape []int, opt Options) (*Distances, error) {
	if err := checkShape(shape, len(pred)); err != nil {
		return nil, err
	}
	if len(gt) != len(pred) {
		return nil, fmt.Errorf("metrics: prediction has %d voxels, ground truth %d", len(pred), len(gt))
	}
	sp, c, err := opt.resolve(len(shape))
	if err != nil {
		return nil, err
	}
	b := cropPair(pred, gt, true, shape)
	return b.distances(sp, c)
}

// HD95 returns the 95th percentile of the pooled surface distances of both directions.
func HD95(pred, gt []bool, shape []int, opt Options) (float64, error) {
	d, err := SurfaceDistances(pred, gt, shape, opt)
	if err != nil {
		return 0, err
	}
	return d.HD95(), nil
}

// ASSD returns the average symmetric surface distance (mean of the pooled distances).
func ASSD(pred, gt []bool, shape []int, opt Options) (float64, error) {
	d, err := SurfaceDistances(pred, gt, shape, opt)
	if err != nil {
		return 0, err
	}
	return d.ASSD(), nil
}

func (d *Distances) pooled() []float64 {
	all := make([]float64, 0, len(d.PredToGT)+len(d.GTToPred))
	all = append(all, d.PredToGT...)
	return append(all, d.GTToPred...)
}

// HD95 is the 95th percentile (numpy's linear interpolation) of the pooled distances.
func (d *Distances) HD95() float64 { return d.Percentile(95) }

// Percentile returns the p-th percentile (0..100) of the pooled distances with numpy's
// default linear interpolation (Hyndman–Fan type 7); NaN when there are none.
func (d *Distances) Percentile(p float64) float64 {
	all := d.pooled()
	slices.Sort(all)
	return percentileSorted(all, p)
}

// HD is the Hausdorff distance: the largest distance in either direction.
func (d *Distances) HD() float64 {
	m := math.NaN()
	for i, v := range d.pooled() {
		if i == 0 || v > m {
			m = v
		}
	}
	return m
}

// ASSD is the mean of the pooled distances of both directions (AI-SAM's vendored medpy).
func (d *Distances) ASSD() float64 {
	all := d.pooled()
	return pairwiseSum(all) / float64(len(all))
}

// ASSDMeanOfDirected is the mean of the two directed means (older medpy releases).
func (d *Distances) ASSDMeanOfDirected() float64 {
	a, b := meanOf(d.PredToGT), meanOf(d.GTToPred)
	return pairwiseSum([]float64{a, b}) / 2
}

// ASDPredToGT is the mean distance from the prediction's surface to the GT's.
func (d *Distances) ASDPredToGT() float64 { return meanOf(d.PredToGT) }

// ASDGTToPred is the mean distance from the GT's surface to the prediction's.
func (d *Distances) ASDGTToPred() float64 { return meanOf(d.GTToPred) }

func meanOf(x []float64) float64 { return pairwiseSum(x) / float64(len(x)) }

// percentileSorted is numpy.percentile(v, p) (method 'linear') of ascending v, with every
// operation rounded separately as numpy does.
func percentileSorted(v []float64, p float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	q := p / 100
	vi := float64(float64(n-1) * q)
	if vi >= float64(n-1) {
		return v[n-1]
	}
	if vi <= 0 {
		return v[0]
	}
	lo := math.Floor(vi)
	gamma := vi - lo
	i := int(lo)
	a, b := v[i], v[i+1]
	diff := b - a
	if gamma >= 0.5 {
		return b - float64(diff*(1-gamma))
	}
	return a + float64(diff*gamma)
}

// pairwiseSum adds like numpy's add.reduce on a contiguous float64 vector, so means
// match numpy to the last bit.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}
