package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SyntheticOptions configures the synthetic CT-like generator.
type SyntheticOptions struct {
	H, W    int     // slice size (default 64x64)
	Depth   int     // slices per case (default 8)
	Cases   int     // number of cases (default 2)
	Seed    uint64  // everything is a function of the seed
	NoiseHU float64 // Gaussian noise sd in HU (default 8)
}

// Synthetic generates multi-class CT-like volumes with the 8 Synapse organ classes
// (labels as in SynapseClasses): a body ellipse with a fat rim, ellipsoidal organs at
// their usual places (radiological convention: the patient's right on the image's
// left) whose cross-sections grow and vanish along z, an unlabelled vertebra, noise,
// and the abdominal window [-125, 275] HU → [0, 1]. For tests and demos; not anatomy.
type Synthetic struct {
	Opt SyntheticOptions
}

// NewSynthetic returns a generator with defaults filled in.
func NewSynthetic(opt SyntheticOptions) (*Synthetic, error) {
	if opt.H == 0 {
		opt.H = 64
	}
	if opt.W == 0 {
		opt.W = 64
	}
	if opt.Depth == 0 {
		opt.Depth = 8
	}
	if opt.Cases == 0 {
		opt.Cases = 2
	}
	if opt.NoiseHU == 0 {
		opt.NoiseHU = 8
	}
	if opt.H < 8 || opt.W < 8 || opt.Depth < 1 || opt.Cases < 1 || opt.H > 4096 || opt.W > 4096 || opt.Depth > 4096 || opt.NoiseHU < 0 {
		return nil, fmt.Errorf("dataset: bad synthetic options %+v", opt)
	}
	return &Synthetic{Opt: opt}, nil
}

// organ is an ellipsoid in body-relative coordinates: centre and radii in units of the
// body's half-axes (y down, x right), z centre and half-extent in [0, 1] of the case.
type organ struct {
	label      int32
	hu         float64
	cy, cx     float64
	ry, rx     float64
	cz, rz     float64
	jitterSize float64
}

var organs = []organ{
	{5, 60, -0.15, -0.45, 0.45, 0.40, 0.55, 0.55, 0.08}, // liver (patient right = image left)
	{1, 50, 0.20, 0.62, 0.22, 0.16, 0.55, 0.35, 0.10},   // spleen
	{6, 20, -0.30, 0.35, 0.28, 0.25, 0.60, 0.40, 0.10},  // stomach
	{2, 160, 0.45, -0.38, 0.18, 0.12, 0.45, 0.35, 0.10}, // right kidney
	{3, 160, 0.45, 0.38, 0.18, 0.12, 0.50, 0.35, 0.10},  // left kidney
	{4, 10, 0.05, -0.30, 0.10, 0.08, 0.40, 0.25, 0.15},  // gallbladder
	{8, 45, 0.05, 0.10, 0.08, 0.30, 0.45, 0.25, 0.10},   // pancreas
	{7, 250, 0.38, 0.06, 0.07, 0.07, 0.50, 0.60, 0.05},  // aorta
}

// Layout returns "synthetic".
func (g *Synthetic) Layout() string { return "synthetic" }

// Classes returns the Synapse class names.
func (g *Synthetic) Classes() []string { return SynapseClasses }

// NumSlices returns Cases × Depth.
func (g *Synthetic) NumSlices() int { return g.Opt.Cases * g.Opt.Depth }

// Slice returns slice i (case i / Depth, slice i % Depth).
func (g *Synthetic) Slice(i int) (*Slice, error) {
	if err := checkIndex(i, g.NumSlices(), "slice"); err != nil {
		return nil, err
	}
	v, err := g.Case(i / g.Opt.Depth)
	if err != nil {
		return nil, err
	}
	return v.Slice(i % g.Opt.Depth).Clone(), nil
}

// NumCases returns the number of cases.
func (g *Synthetic) NumCases() int { return g.Opt.Cases }

// Case generates case i.
func (g *Synthetic) Case(i int) (*Volume, error) {
	if err := checkIndex(i, g.Opt.Cases, "case"); err != nil {
		return nil, err
	}
	o := g.Opt
	rng := rand.New(rand.NewPCG(o.Seed, uint64(i)+1))
	h, w, d := o.H, o.W, o.Depth
	v := &Volume{Name: fmt.Sprintf("synth%04d", i), D: d, H: h, W: w,
		Image: make([]float32, d*h*w), Label: make([]int32, d*h*w), Spacing: [3]float64{3, 0.8 * 512 / float64(h), 0.8 * 512 / float64(w)}}
	// Per-case anatomy: body size and organ jitter.
	by, bx := float64(h)*(0.36+0.04*rng.Float64()), float64(w)*(0.44+0.03*rng.Float64())
	cy0, cx0 := float64(h-1)/2, float64(w-1)/2
	type placed struct {
		organ
		cy, cx, ry, rx, cz, rz float64
	}
	var ps []placed
	for _, og := range organs {
		j := func(s float64) float64 { return 1 + og.jitterSize*(2*rng.Float64()-1)*s }
		ps = append(ps, placed{organ: og,
			cy: cy0 + og.cy*by + og.jitterSize*by*(rng.Float64()-0.5)*0.5,
			cx: cx0 + og.cx*bx + og.jitterSize*bx*(rng.Float64()-0.5)*0.5,
			ry: og.ry * by * j(1), rx: og.rx * bx * j(1),
			cz: og.cz + 0.1*(rng.Float64()-0.5), rz: og.rz * j(1)})
	}
	for z := range d {
		zf := (float64(z) + 0.5) / float64(d)
		for y := range h {
			for x := range w {
				fy, fx := float64(y), float64(x)
				hu, lab := -1000.0, int32(0)
				ey, ex := (fy-cy0)/by, (fx-cx0)/bx
				r := ey*ey + ex*ex
				if r < 1 {
					hu = 40
					if r > 0.82 {
						hu = -100 // subcutaneous fat
					}
					// vertebral body, posterior midline
					vy, vx := (fy-(cy0+0.62*by))/(0.16*by), (fx-cx0)/(0.13*bx)
					if vy*vy+vx*vx < 1 {
						hu = 700
					}
					for _, p := range ps {
						dz := (zf - p.cz) / p.rz
						if dz*dz >= 1 {
							continue
						}
						s := math.Sqrt(1 - dz*dz)
						oy, ox := (fy-p.cy)/(p.ry*s), (fx-p.cx)/(p.rx*s)
						if oy*oy+ox*ox < 1 {
							hu, lab = p.hu, p.label
						}
					}
				}
				hu += math.Round(rng.NormFloat64() * o.NoiseHU)
				i := (z*h+y)*w + x
				v.Image[i] = (min(max(float32(hu), -125), 275) + 125) / 400
				v.Label[i] = lab
			}
		}
	}
	return v, nil
}
