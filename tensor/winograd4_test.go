package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv3x3Winograd4 compares F(4x4, 3x3) with a float64 direct convolution, for sizes
// that do and do not fill the last tile, with and without padding and bias.
func TestConv3x3Winograd4(t *testing.T) {
	cases := []struct{ n, c, o, h, w, pad int }{
		{2, 16, 24, 16, 16, 1}, {1, 32, 16, 13, 19, 1}, {1, 16, 16, 12, 10, 0}, {1, 24, 32, 9, 11, 2},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range cases {
		x := New(tc.n, tc.c, tc.h, tc.w)
		w := New(tc.o, tc.c, 3, 3)
		b := New(tc.o)
		for _, tt := range []*Tensor{x, w, b} {
			for i := range tt.Data {
				tt.Data[i] = float32(r.NormFloat64())
			}
		}
		got := Conv3x3Winograd4(x, w, b, tc.pad)
		if with := Conv3x3Winograd4With(x, NewWinograd4Weights(w), b, tc.pad); !equalData(with, got) {
			t.Fatalf("%+v: Conv3x3Winograd4With differs from Conv3x3Winograd4", tc)
		}
		oh, ow := tc.h+2*tc.pad-2, tc.w+2*tc.pad-2
		if got.Dim(0) != tc.n || got.Dim(1) != tc.o || got.Dim(2) != oh || got.Dim(3) != ow {
			t.Fatalf("%+v: shape %v", tc, got.Shape())
		}
		var worst, scale float64
		for n := range tc.n {
			for o := range tc.o {
				for y := range oh {
					for xx := range ow {
						acc := float64(b.Data[o])
						for c := range tc.c {
							for i := range 3 {
								for j := range 3 {
									iy, ix := y+i-tc.pad, xx+j-tc.pad
									if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
										continue
									}
									acc += float64(x.Data[((n*tc.c+c)*tc.h+iy)*tc.w+ix]) * float64(w.Data[((o*tc.c+c)*3+i)*3+j])
								}
							}
						}
						g := float64(got.Data[((n*tc.o+o)*oh+y)*ow+xx])
						worst = math.Max(worst, math.Abs(g-acc))
						scale = math.Max(scale, math.Abs(acc))
					}
				}
			}
		}
		// sqrt(9C) sized sums of unit normals; F(4x4)'s constants cost a few more roundings.
		t.Logf("%+v: max error %.3g relative", tc, worst/scale)
		if worst > 2e-5*scale {
			t.Errorf("%+v: max error %g (max |y| %g)", tc, worst, scale)
		}
	}
}

func equalData(a, b *Tensor) bool {
	if len(a.Data) != len(b.Data) {
		return false
	}
	for i, v := range a.Data {
		if math.Float32bits(v) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}
