package dataset

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
)

func TestRot90FlipHand(t *testing.T) {
	// numpy: rot90([[1,2,3],[4,5,6]]) = [[3,6],[2,5],[1,4]]; rot90(k=2) = [[6,5,4],[3,2,1]];
	// rot90(k=3) = [[4,1],[5,2],[6,3]]; flip(axis=1) of k=1 = [[6,3],[5,2],[4,1]].
	s := &Slice{H: 2, W: 3, Image: []float32{1, 2, 3, 4, 5, 6}, Label: []int32{1, 2, 3, 4, 5, 6}}
	cases := []struct {
		k, flip int
		h, w    int
		want    []int32
	}{
		{1, -1, 3, 2, []int32{3, 6, 2, 5, 1, 4}},
		{2, -1, 2, 3, []int32{6, 5, 4, 3, 2, 1}},
		{3, -1, 3, 2, []int32{4, 1, 5, 2, 6, 3}},
		{1, 1, 3, 2, []int32{6, 3, 5, 2, 4, 1}},
		{1, 0, 3, 2, []int32{1, 4, 2, 5, 3, 6}},
		{0, 0, 2, 3, []int32{4, 5, 6, 1, 2, 3}},
	}
	for _, c := range cases {
		o := rot90Flip(s, c.k, c.flip)
		if o.H != c.h || o.W != c.w || !slices.Equal(o.Label, c.want) {
			t.Errorf("k=%d flip=%d: %dx%d %v, want %dx%d %v", c.k, c.flip, o.H, o.W, o.Label, c.h, c.w, c.want)
		}
		for i, l := range o.Label {
			if o.Image[i] != float32(l) {
				t.Errorf("k=%d flip=%d: image and label disagree at %d", c.k, c.flip, i)
			}
		}
	}
}

// piecewise returns a noise-free slice whose intensity is a function of the label, with
// a disk (1) and a square (2) away from the centre.
func piecewise(h, w int) *Slice {
	s := &Slice{H: h, W: w, Image: make([]float32, h*w), Label: make([]int32, h*w)}
	for y := range h {
		for x := range w {
			l := int32(0)
			if dy, dx := float64(y)-12, float64(x)-30; dy*dy+dx*dx < 36 {
				l = 1
			}
			if y >= 28 && y < 36 && x >= 8 && x < 18 {
				l = 2
			}
			s.Label[y*w+x] = l
			s.Image[y*w+x] = 0.2 + 0.3*float32(l)
		}
	}
	return s
}

func centroid(s *Slice, l int32) (float64, float64, int) {
	sy, sx, n := 0.0, 0.0, 0
	for i, v := range s.Label {
		if v == l {
			sy += float64(i / s.W)
			sx += float64(i % s.W)
			n++
		}
	}
	return sy / float64(n), sx / float64(n), n
}

func TestRotateAlignment(t *testing.T) {
	s := piecewise(41, 45)
	cy, cx := 20.0, 22.0
	for _, deg := range []float64{17, -20, 5.5} {
		r := Rotate(s, deg)
		// Labels move like the rotated geometry: counter-clockwise on screen.
		for _, l := range []int32{1, 2} {
			y0, x0, n0 := centroid(s, l)
			y1, x1, n1 := centroid(r, l)
			th := deg * math.Pi / 180
			dy, dx := y0-cy, x0-cx
			wy := cy + math.Cos(th)*dy - math.Sin(th)*dx
			wx := cx + math.Sin(th)*dy + math.Cos(th)*dx
			if math.Hypot(y1-wy, x1-wx) > 0.5 || math.Abs(float64(n1-n0)) > 0.1*float64(n0) {
				t.Errorf("%v°: class %d centroid (%.2f, %.2f) n=%d, want (%.2f, %.2f) n≈%d", deg, l, y1, x1, n1, wy, wx, n0)
			}
		}
		// The image thresholded back to classes agrees with the label everywhere except
		// at pixels next to a label boundary (where bilinear blends two levels).
		mismatch, boundary := 0, 0
		for y := range r.H {
			for x := range r.W {
				i := y*r.W + x
				cls := int32(math.Round((float64(r.Image[i]) - 0.2) / 0.3))
				if r.Image[i] == 0 { // outside the source: both zero-filled
					if r.Label[i] != 0 {
						t.Fatalf("%v°: image fill but label %d at (%d, %d)", deg, r.Label[i], y, x)
					}
					continue
				}
				if cls == r.Label[i] {
					continue
				}
				mismatch++
				near := false
				for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}, {-1, -1}, {1, 1}, {-1, 1}, {1, -1}} {
					yy, xx := y+d[0], x+d[1]
					if yy >= 0 && yy < r.H && xx >= 0 && xx < r.W && r.Label[yy*r.W+xx] != r.Label[i] {
						near = true
					}
				}
				if near {
					boundary++
				} else {
					t.Errorf("%v°: image says class %d, label %d at (%d, %d) away from any boundary", deg, cls, r.Label[i], y, x)
				}
			}
		}
		if mismatch > 60 {
			t.Errorf("%v°: %d mismatching pixels", deg, mismatch)
		}
	}
	// A quarter turn by Rotate is numpy's rot90 (square, odd size: exact centre).
	sq := piecewise(41, 41)
	a, b := Rotate(sq, 90), rot90Flip(sq, 1, -1)
	if !slices.Equal(a.Label, b.Label) {
		t.Error("Rotate(90) labels differ from rot90")
	}
	for i := range a.Image {
		if math.Abs(float64(a.Image[i]-b.Image[i])) > 1e-5 {
			t.Fatalf("Rotate(90) image differs from rot90 at %d: %v vs %v", i, a.Image[i], b.Image[i])
		}
	}
}

func TestAugmenterReproducibleAndDistributed(t *testing.T) {
	a := NewAugmenter(7)
	s := piecewise(40, 48)
	x1 := a.Apply(s, 3, 11)
	x2 := a.Apply(s, 3, 11)
	if x1.H != x2.H || !slices.Equal(x1.Image, x2.Image) || !slices.Equal(x1.Label, x2.Label) {
		t.Fatal("same (seed, epoch, index) gave different results")
	}
	if !slices.Equal(s.Label, piecewise(40, 48).Label) {
		t.Fatal("Apply modified its input")
	}
	const n = 4000
	var rot, ang, crp int
	distinct := map[AugParams]bool{}
	for i := range n {
		p := a.Sample(40, 48, 0, i)
		distinct[p] = true
		if p.Flip >= 0 {
			rot++
		}
		if p.Angle != 0 {
			ang++
			if math.Abs(p.Angle) > 20 {
				t.Fatalf("angle %v", p.Angle)
			}
		}
		if p.Crop {
			crp++
			h, w := 40, 48
			if p.Rot90%2 == 1 {
				h, w = w, h
			}
			fh, fw := float64(p.CropH)/float64(h), float64(p.CropW)/float64(w)
			if fh < 0.7-0.5/float64(h) || fh > 1 || fw < 0.7-0.5/float64(w) || fw > 1 ||
				p.CropY0 < 0 || p.CropY0+p.CropH > h || p.CropX0 < 0 || p.CropX0+p.CropW > w {
				t.Fatalf("crop %+v of %dx%d", p, h, w)
			}
		}
	}
	for name, c := range map[string]int{"rot90+flip": rot, "rotation": ang, "crop": crp} {
		if f := float64(c) / n; math.Abs(f-0.5) > 0.04 {
			t.Errorf("%s applied to %.3f of samples, want 0.5", name, f)
		}
	}
	if len(distinct) < n/2 {
		t.Errorf("only %d distinct draws of %d", len(distinct), n)
	}
	if b := NewAugmenter(8); b.Sample(40, 48, 3, 11) == a.Sample(40, 48, 3, 11) && b.Sample(40, 48, 3, 12) == a.Sample(40, 48, 3, 12) {
		t.Error("the seed does not change the draws")
	}
	// The crop takes exactly the window.
	p := AugParams{Flip: -1, Crop: true, CropY0: 3, CropX0: 5, CropH: 30, CropW: 36}
	c := ApplyAug(s, p)
	for y := range c.H {
		for x := range c.W {
			if c.Label[y*c.W+x] != s.Label[(y+3)*s.W+x+5] || c.Image[y*c.W+x] != s.Image[(y+3)*s.W+x+5] {
				t.Fatalf("crop differs at (%d, %d)", y, x)
			}
		}
	}
}

func TestResizeBilinearTorch(t *testing.T) {
	// torch.nn.functional.interpolate(arange(4).view(1,1,2,2), size=4, mode="bilinear",
	// align_corners=False).
	got := ResizeBilinear([]float32{0, 1, 2, 3}, 2, 2, 4, 4)
	want := []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	if !slices.Equal(got, want) {
		t.Errorf("bilinear 2→4: %v, want %v", got, want)
	}
	// Downsampling by 2 averages each 2x2 block's centre: (0+1+4+5)/4 = 2.5 etc.
	src := make([]float32, 16)
	for i := range src {
		src[i] = float32(i)
	}
	if got := ResizeBilinear(src, 4, 4, 2, 2); !slices.Equal(got, []float32{2.5, 4.5, 10.5, 12.5}) {
		t.Errorf("bilinear 4→2: %v", got)
	}
}

func TestResizeNearestExactFixture(t *testing.T) {
	// fixtures/metrics: case3_*.npy are the nearest-exact 64→32 downsampling of *_64.
	dir := testref.Dir(t, "fixtures/metrics/3d")
	for _, name := range []string{"case3_gt", "case3_pred"} {
		hi, err := npy.ReadFile(filepath.Join(dir, name+"_64.npy"))
		if err != nil {
			t.Fatal(err)
		}
		lo, err := npy.ReadFile(filepath.Join(dir, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		h64, _ := hi.Int64()
		l32, _ := lo.Int64()
		d := hi.Shape[0]
		legacyDiffers := false
		for z := range d {
			src := make([]int32, 64*64)
			for i := range src {
				src[i] = int32(h64[z*4096+i])
			}
			got := ResizeNearestExact(src, 64, 64, 32, 32)
			for i, v := range got {
				if int64(v) != l32[z*1024+i] {
					t.Fatalf("%s slice %d: pixel %d = %d, want %d", name, z, i, v, l32[z*1024+i])
				}
			}
			leg := ResizeNearest(src, 64, 64, 32, 32)
			if !slices.Equal(leg, got) {
				legacyDiffers = true
			}
			// Legacy nearest takes the even rows/columns.
			if leg[5*32+7] != src[10*64+14] {
				t.Fatalf("legacy nearest source index")
			}
		}
		if !legacyDiffers {
			t.Errorf("%s: legacy nearest equals nearest-exact on every slice", name)
		}
		vol := &Volume{D: d, H: 64, W: 64, Label: make([]int32, len(h64))}
		for i, x := range h64 {
			vol.Label[i] = int32(x)
		}
		for i, x := range vol.ResizeLabels(32, 32) {
			if int64(x) != l32[i] {
				t.Fatalf("%s: Volume.ResizeLabels differs at %d", name, i)
			}
		}
	}
}

func TestSyntheticGenerator(t *testing.T) {
	g, err := NewSynthetic(SyntheticOptions{Seed: 3, Depth: 10, Cases: 2})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := g.Case(1)
	v2, _ := g.Case(1)
	if !slices.Equal(v1.Image, v2.Image) || !slices.Equal(v1.Label, v2.Label) {
		t.Fatal("not reproducible")
	}
	v0, _ := g.Case(0)
	if slices.Equal(v0.Label, v1.Label) {
		t.Error("cases 0 and 1 are identical")
	}
	st := ComputeStats(v1.Image, v1.Label)
	if st.Min != 0 || st.Max != 1 {
		t.Errorf("range [%v, %v], want the window's [0, 1]", st.Min, st.Max)
	}
	for c := int32(1); c <= 8; c++ {
		if st.Hist[c] == 0 {
			t.Errorf("class %d (%s) never appears", c, SynapseClasses[c])
		}
	}
	// Not every slice has every class (organs come and go along z).
	full := 0
	for z := range v1.D {
		h := ComputeStats(nil, v1.Slice(z).Label).Hist
		if len(h) == 9 {
			full++
		}
	}
	if full == v1.D {
		t.Error("every slice has all classes")
	}
	// Organ intensities follow their HU: liver (60 HU) is brighter than fat-free
	// gallbladder (10 HU) on average, the aorta (250 HU) brightest.
	mean := func(c int32) float64 {
		s, n := 0.0, 0
		for i, l := range v1.Label {
			if l == c {
				s += float64(v1.Image[i])
				n++
			}
		}
		return s / float64(n)
	}
	if !(mean(7) > mean(5) && mean(5) > mean(4)) {
		t.Errorf("means aorta %v liver %v gallbladder %v", mean(7), mean(5), mean(4))
	}
	s, err := g.Slice(13)
	if err != nil || s.H != 64 || !slices.Equal(s.Label, v1.Slice(3).Label) {
		t.Errorf("slice 13 is not case 1 slice 3 (%v)", err)
	}
	if _, err := NewSynthetic(SyntheticOptions{H: 2}); err == nil {
		t.Error("2-pixel slices accepted")
	}
}

func TestModelInputAndTargets(t *testing.T) {
	s := &Slice{H: 2, W: 2, Image: []float32{0, 1, 2, 3}, Label: []int32{0, 1, 2, 3}}
	in := ModelInput(s, 4)
	want := []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	for c := range 3 {
		if !slices.Equal(in[c*16:(c+1)*16], want) {
			t.Errorf("channel %d: %v", c, in[c*16:(c+1)*16])
		}
	}
	// Nearest 2→4 repeats every label twice in each direction.
	if got := TargetLabels(s, 4); !slices.Equal(got, []int32{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3}) {
		t.Errorf("targets %v", got)
	}
	if got := TargetLabels(s, 2); !slices.Equal(got, s.Label) || &got[0] == &s.Label[0] {
		t.Error("same-size targets are not a copy")
	}
}

// TestAugmenterKeepsAlignment applies full random augmentations to a noise-free slice
// whose intensity encodes its label and checks, after every draw, that the label still
// matches the thresholded image away from label boundaries.
func TestAugmenterKeepsAlignment(t *testing.T) {
	a := NewAugmenter(11)
	s := piecewise(41, 45)
	for i := range 200 {
		r := a.Apply(s, 1, i)
		if len(r.Image) != r.H*r.W || len(r.Label) != r.H*r.W {
			t.Fatalf("draw %d: malformed %dx%d", i, r.H, r.W)
		}
		for y := range r.H {
			for x := range r.W {
				j := y*r.W + x
				if r.Image[j] == 0 {
					if r.Label[j] != 0 {
						t.Fatalf("draw %d: zero fill with label %d", i, r.Label[j])
					}
					continue
				}
				cls := int32(math.Round((float64(r.Image[j]) - 0.2) / 0.3))
				if cls == r.Label[j] {
					continue
				}
				// Pixels on the crop's edge have unseen neighbours: not interior.
				interior := true
				for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}, {-1, -1}, {1, 1}, {-1, 1}, {1, -1}} {
					yy, xx := y+d[0], x+d[1]
					if yy < 0 || yy >= r.H || xx < 0 || xx >= r.W || r.Label[yy*r.W+xx] != r.Label[j] {
						interior = false
					}
				}
				if interior {
					t.Fatalf("draw %d (%+v): image says %d, label %d at (%d, %d)", i, a.Sample(41, 45, 1, i), cls, r.Label[j], y, x)
				}
			}
		}
	}
}
