package sam

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/tensor"
)

// TestSetImageFromRawImage runs the whole preprocessing (exact PIL resize, normalise, pad)
// from the raw uint8 image and compares the encoder input and the embedding with the
// official vectors.
func TestSetImageFromRawImage(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	v := tinyVectors(t)
	src := readU8(t, filepath.Join(dir, "image_uint8_HWC.npy"), 200, 300, 3)
	im := RGB{H: 200, W: 300, Pix: src}
	x, err := Preprocess(ResizeLongestSide(im, 256), 256)
	if err != nil {
		t.Fatal(err)
	}
	want := v.get("encoder_input_1x3xSxS")
	for i, w := range want.Data {
		if d := math.Abs(float64(x.Data[i] - w)); d > 1e-6 {
			t.Fatalf("encoder input %d: %g, want %g", i, x.Data[i], w)
		}
	}
	m := loadTiny(t)
	p := NewPredictor(m)
	if err := p.SetImage(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	if e := compare("image_embedding", p.Embedding(), v.get("image_embedding"), parityTol); e.bad != 0 {
		t.Fatalf("embedding: %d of %d values off (max abs %g)", e.bad, e.n, e.maxAbs)
	}
	// The box prompt goes through the per-axis coordinate transform.
	res, err := p.Predict(Prompt{Box: &[4]float64{60, 45, 150, 135}})
	if err != nil {
		t.Fatal(err)
	}
	if e := compare("box_only logits", res.Logits.Reshape(1, 1, 200, 300), v.get("box_only__masks_logits_orig_size"), parityTol); e.bad != 0 {
		t.Fatalf("box logits: %d of %d values off (max abs %g)", e.bad, e.n, e.maxAbs)
	}
}

func TestScaleCoordsPerAxis(t *testing.T) {
	// 200x300 -> 171x256: x by 256/300, y by 171/200 (not one common factor).
	got := ScaleCoords([]float64{105, 90, 300, 200}, 200, 300, 171, 256)
	want := []float32{float32(105 * 256.0 / 300), float32(90 * 171.0 / 200), 256, 171}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("coord %d: %g, want %g", i, got[i], want[i])
		}
	}
	v := tinyVectors(t)
	ref := v.get("points2_box_mask__point_coords_model")
	g := ScaleCoords([]float64{105, 90, 216, 90}, 200, 300, 171, 256)
	for i, w := range ref.Data {
		if g[i] != w {
			t.Fatalf("point coord %d: %g, want %g (official)", i, g[i], w)
		}
	}
}

func TestPreprocessMedSAM(t *testing.T) {
	im := RGB{H: 3, W: 5, Pix: make([]uint8, 45)}
	for i := range im.Pix {
		im.Pix[i] = uint8(50 + i)
	}
	x, err := PreprocessMedSAM(im, 8)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := float32(1), float32(0)
	for _, v := range x.Data {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 || x.Dim(2) != 8 || x.Dim(3) != 8 {
		t.Fatalf("MedSAM input %v in [%g, %g], want 8x8 in [0, 1]", x.Shape(), lo, hi)
	}
	if _, err := PreprocessMedSAM(RGB{H: 2, W: 2, Pix: make([]uint8, 3)}, 8); err == nil {
		t.Fatal("short image accepted")
	}
}

// TestMedSAMMasks: a constant-logit channel stays constant, and a two-valued row of
// logits resized 2 -> 4 thresholds where the interpolated sigmoid crosses 0.5, not where
// the interpolated logit crosses 0.
func TestMedSAMMasks(t *testing.T) {
	// Row logits [-4, 1]: bilinear 2 -> 4 (align_corners=False) samples at source
	// x = -0.25, 0.25, 0.75, 1.25 -> weights of the right pixel 0, 0.25, 0.75, 1.
	// sigmoid(-4) = 0.018, sigmoid(1) = 0.731: at 0.75, 0.25*0.018 + 0.75*0.731 = 0.553 > 0.5.
	// Interpolated logits there: 0.25*-4 + 0.75*1 = -0.25 < 0 (SAM's rule would say no).
	low := tensor.FromSlice([]float32{-4, 1, 2, 2}, 2, 1, 2)
	got, err := MedSAMMasks(low, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, false, true, true}; !slices.Equal(got[0], want) {
		t.Fatalf("mask 0 %v, want %v", got[0], want)
	}
	if want := []bool{true, true, true, true}; !slices.Equal(got[1], want) {
		t.Fatalf("mask 1 %v, want %v", got[1], want)
	}
	if _, err := MedSAMMasks(tensor.New(2, 2), 1, 4); err == nil {
		t.Fatal("rank-2 logits accepted")
	}
}

// TestElongatedImages: the official longest-side formula rounds the short side of these
// images to 0 pixels; they must still encode, predict at their own size and run the mask
// generator, without a panic.
func TestElongatedImages(t *testing.T) {
	p := NewPredictor(New(tinyTestConfig(), 3))
	for _, tc := range []struct{ h, w, inH, inW int }{
		{1, 3000, 1, 256},
		{3000, 1, 256, 1},
		{2, 5000, 1, 256}, // 2*256/5000 = 0.1 rounds to 0
		{1, 1, 256, 256},
		{600, 1, 256, 1}, // 256/600 = 0.43 rounds to 0
	} {
		// A constant image stays constant through any resize: 1 pixel of grey 77.
		im := RGB{H: tc.h, W: tc.w, Pix: make([]uint8, tc.h*tc.w*3)}
		for i := range im.Pix {
			im.Pix[i] = 77
		}
		r := ResizeLongestSide(im, 256)
		if r.H != tc.inH || r.W != tc.inW {
			t.Fatalf("%dx%d: resized to %dx%d, want %dx%d", tc.h, tc.w, r.H, r.W, tc.inH, tc.inW)
		}
		for i, v := range r.Pix {
			if v != 77 {
				t.Fatalf("%dx%d: resized byte %d is %d, want 77", tc.h, tc.w, i, v)
			}
		}
		if err := p.SetImage(context.Background(), im); err != nil {
			t.Fatalf("%dx%d: SetImage: %v", tc.h, tc.w, err)
		}
		if h, w := p.InputSize(); h != tc.inH || w != tc.inW {
			t.Fatalf("%dx%d: input size %dx%d, want %dx%d", tc.h, tc.w, h, w, tc.inH, tc.inW)
		}
		res, err := p.Predict(Prompt{Points: [][2]float64{{0, 0}}, Labels: []int{1}, Multimask: true})
		if err != nil {
			t.Fatalf("%dx%d: Predict: %v", tc.h, tc.w, err)
		}
		if got := res.Logits.Shape(); len(got) != 3 || got[1] != tc.h || got[2] != tc.w || len(res.Masks[0]) != tc.h*tc.w {
			t.Fatalf("%dx%d: logits %v", tc.h, tc.w, got)
		}
		o := DefaultAMGOptions()
		o.PointsPerSide, o.PredIoUThresh, o.StabilityScoreThresh = 2, 0, 0
		g, err := NewMaskGenerator(p, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Generate(context.Background(), im); err != nil {
			t.Fatalf("%dx%d: Generate: %v", tc.h, tc.w, err)
		}
	}
}
