package aisam

import (
	"math"
	"testing"
)

// TestPreprocessWindow checks NIfTI intensities against hand-computed values: with a
// window they are clipped to [lo, hi] and mapped to [0, 1] (Synapse CT: [-125, 275]);
// without one a slice is min-max scaled.
func TestPreprocessWindow(t *testing.T) {
	cfg := Config{Preprocess: DefaultPreprocess}
	cfg.SAM.Encoder.ImgSize = 4
	vals := []float32{-1000, -125, -25, 75, 175, 275, 1000, 0, 0, 0, 0, 0, 0, 0, 0, float32(math.NaN())}
	for _, c := range []struct {
		name   string
		window *[2]float64
		want   []float64 // first 7 values
	}{
		{"synapse", &[2]float64{-125, 275}, []float64{0, 0, 0.25, 0.5, 0.75, 1, 1}},
		{"minmax", nil, []float64{0, 875.0 / 2000, 975.0 / 2000, 1075.0 / 2000, 1175.0 / 2000, 1275.0 / 2000, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg.Preprocess.Window = c.window
			x, _, err := cfg.preprocess(&Image{H: 4, W: 4, Values: vals})
			if err != nil {
				t.Fatal(err)
			}
			for ch := 0; ch < 3; ch++ {
				for i, w := range c.want {
					if got := float64(x.Data[ch*16+i]); math.Abs(got-w) > 1e-6 {
						t.Errorf("channel %d value %g -> %g, want %g", ch, vals[i], got, w)
					}
				}
				if got := x.Data[ch*16+15]; got != 0 {
					t.Errorf("NaN -> %g, want 0", got)
				}
			}
		})
	}
}
