package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/sam"
)

func readPNGMask(t *testing.T, path string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%s: %T, want 8-bit gray", path, img)
	}
	out := make([]bool, len(g.Pix))
	for i, v := range g.Pix {
		if v != 0 && v != 255 {
			t.Fatalf("%s: pixel value %d, want 0 or 255", path, v)
		}
		out[i] = v == 255
	}
	return out
}

func TestSAMPredictCLI(t *testing.T) {
	img := testPNG(t, 40, 30)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"--random-weights", "tiny", "--seed", "7", "--image", img, "--out", out,
		"--point", "10,12,1", "--point", "30,5,0", "--box", "5,5,25,20", "--multimask"}
	var sb strings.Builder
	if err := runSAMPredict(&sb, args); err != nil {
		t.Fatal(err)
	}
	z, err := npy.ReadNPZ(filepath.Join(out, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"image_embedding": {1, 32, 16, 16},
		"low_res_masks":   {1, 3, 64, 64},
		"iou_predictions": {1, 3},
		"masks":           {1, 3, 30, 40},
	}
	for k, shape := range want {
		a, ok := z[k]
		if !ok {
			t.Fatalf("result.npz has no %s", k)
		}
		if a.DType != npy.Float32 || !slices.Equal(a.Shape, shape) {
			t.Fatalf("%s: %s %v, want float32 %v", k, a.DType, a.Shape, shape)
		}
	}
	logits := z["masks"].Float32()
	for i := range 3 {
		mk := readPNGMask(t, filepath.Join(out, "mask_"+string(rune('0'+i))+".png"))
		for j, v := range mk {
			if v != (logits[i*1200+j] > 0) {
				t.Fatalf("mask_%d.png pixel %d differs from masks logits > 0", i, j)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "overlay.png")); err != nil {
		t.Fatal(err)
	}
	var info struct {
		Best    int   `json:"best"`
		Ranking []int `json:"ranking"`
		Masks   []struct {
			File         string  `json:"file"`
			PredictedIoU float64 `json:"predicted_iou"`
			Rank         int     `json:"rank"`
		} `json:"masks"`
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil || json.Unmarshal(b, &info) != nil || len(info.Masks) != 3 {
		t.Fatalf("result.json: %v %s", err, b)
	}
	iou := z["iou_predictions"].Float32()
	if float32(info.Masks[1].PredictedIoU) != iou[1] {
		t.Fatalf("result.json IoU %g, npz %g", info.Masks[1].PredictedIoU, iou[1])
	}
	// mask_N.png is output N (not a rank); the ranking in result.json orders the npz's
	// IoUs from highest to lowest, and each mask's rank is its place in it.
	if len(info.Ranking) != 3 || info.Best != info.Ranking[0] {
		t.Fatalf("result.json best %d, ranking %v", info.Best, info.Ranking)
	}
	seen := map[int]bool{}
	for r, i := range info.Ranking {
		if i < 0 || i >= 3 || seen[i] || info.Masks[i].Rank != r || info.Masks[i].File != fmt.Sprintf("mask_%d.png", i) {
			t.Fatalf("result.json ranking %v, masks %+v", info.Ranking, info.Masks)
		}
		seen[i] = true
		if r > 0 && iou[i] > iou[info.Ranking[r-1]] {
			t.Fatalf("ranking %v is not by descending IoU %v", info.Ranking, iou)
		}
	}
	if strings.Contains(samPredictUsage, "best IoU first") {
		t.Fatal("help still says the masks are written best IoU first")
	}

	// The low-res logits fed back as --mask-input, single mask.
	lr := z["low_res_masks"]
	mi, _ := npy.FromFloat32(lr.Float32()[:64*64], 1, 64, 64)
	mpath := filepath.Join(t.TempDir(), "mask.npy")
	if err := npy.WriteFile(mpath, mi); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "out2")
	if err := runSAMPredict(io.Discard, []string{"--random-weights", "tiny", "--seed", "7", "--image", img, "--out", out2,
		"--point", "10,12,1", "--mask-input", mpath}); err != nil {
		t.Fatal(err)
	}
	z2, err := npy.ReadNPZ(filepath.Join(out2, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if s := z2["masks"].Shape; !slices.Equal(s, []int{1, 1, 30, 40}) {
		t.Fatalf("single-mask masks shape %v", s)
	}
}

// TestSAMCoordRule pins the sam commands' bound on points and box corners: continuous
// pixel coordinates, the closed frame [0, W] x [0, H] (SAM's convention; a 40x30 image).
func TestSAMCoordRule(t *testing.T) {
	for _, c := range []struct {
		x, y float64
		ok   bool
	}{
		{0, 0, true}, {40, 30, true}, {39.5, 29.5, true}, {39, 29, true}, {40, 0, true}, {0, 30, true},
		{-0.001, 5, false}, {40.001, 5, false}, {5, 30.001, false}, {5, -1, false},
		{math.NaN(), 5, false}, {5, math.Inf(1), false},
	} {
		err := checkSAMCoord(c.x, c.y, 30, 40)
		if (err == nil) != c.ok {
			t.Errorf("(%g, %g): error %v, want ok=%v", c.x, c.y, err, c.ok)
		}
		_, _, perr := parseSAMPoint(fmt.Sprintf("%g,%g,1", c.x, c.y), 30, 40)
		_, berr := parseSAMBox(fmt.Sprintf("%g,%g,%g,%g", min(c.x, 0), min(c.y, 0), c.x, c.y), 30, 40)
		if (perr == nil) != c.ok {
			t.Errorf("point (%g, %g): error %v, want ok=%v", c.x, c.y, perr, c.ok)
		}
		// Box corners obey the same rule (the x0 < x1 check aside).
		if berr != nil && c.ok && c.x > 0 && c.y > 0 || berr == nil && !c.ok {
			t.Errorf("box corner (%g, %g): error %v, want ok=%v", c.x, c.y, berr, c.ok)
		}
	}
}

func TestSAMEverythingCLI(t *testing.T) {
	img := testPNG(t, 48, 32)
	out := filepath.Join(t.TempDir(), "out")
	// A random model's IoU predictions and logits are tiny: thresholds scaled to it.
	args := []string{"--random-weights", "tiny", "--image", img, "--out", out, "--points-per-side", "4",
		"--pred-iou-thresh", "0", "--stability-score-thresh", "0.01", "--stability-score-offset", "0.005", "--box-nms-thresh", "1"}
	if err := runSAMEverything(io.Discard, args); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "masks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Segmentation sam.COCORLE  `json:"segmentation"`
		Area         int          `json:"area"`
		BBox         [4]int       `json:"bbox"`
		PointCoords  [][2]float64 `json:"point_coords"`
		CropBox      [4]int       `json:"crop_box"`
		MaskFile     string       `json:"mask_file"`
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	for i, r := range recs {
		rle, err := r.Segmentation.Decode()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		mk, _ := rle.Decode()
		if png := readPNGMask(t, filepath.Join(out, r.MaskFile)); !slices.Equal(png, mk) {
			t.Fatalf("record %d: %s differs from its RLE", i, r.MaskFile)
		}
		if rle.Area() != r.Area || r.CropBox != [4]int{0, 0, 48, 32} || len(r.PointCoords) != 1 {
			t.Fatalf("record %d: area %d (RLE %d), crop %v, points %v", i, r.Area, rle.Area(), r.CropBox, r.PointCoords)
		}
		bx := sam.MaskToBox(mk, 32, 48)
		if r.BBox != [4]int{bx[0], bx[1], bx[2] - bx[0], bx[3] - bx[1]} {
			t.Fatalf("record %d: bbox %v, mask box %v", i, r.BBox, bx)
		}
	}
}

func TestSAMCLIErrors(t *testing.T) {
	img := testPNG(t, 40, 30)
	bad := filepath.Join(t.TempDir(), "bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	badMask := filepath.Join(t.TempDir(), "m.npy")
	a, _ := npy.FromFloat32(make([]float32, 32*32), 1, 32, 32)
	npy.WriteFile(badMask, a)
	out := t.TempDir()
	base := []string{"--random-weights", "tiny", "--image", img, "--out", out}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no prompt", base, "give a prompt"},
		{"two points fields", append(base, "--point", "1,2"), "want x,y,label"},
		{"not a number", append(base, "--point", "a,2,1"), "not a number"},
		{"bad label", append(base, "--point", "1,2,2"), "label"},
		{"outside left", append(base, "--point", "-1,5,1"), "outside"},
		{"outside right", append(base, "--point", "41,5,1"), "outside"},
		{"nan point", append(base, "--point", "NaN,5,1"), "outside"},
		{"just right", append(base, "--point", "40.001,5,1"), "0 <= x <= 40, 0 <= y <= 30"},
		{"just below", append(base, "--point", "5,30.5,1"), "0 <= x <= 40, 0 <= y <= 30"},
		{"inf point", append(base, "--point", "+Inf,5,1"), "outside"},
		{"box just right", append(base, "--box", "0,0,40.5,10"), "0 <= x <= 40"},
		{"box fields", append(base, "--box", "1,2,3"), "x0,y0,x1,y1"},
		{"box inverted", append(base, "--box", "20,20,10,25"), "x0 < x1"},
		{"box outside", append(base, "--box", "0,0,50,10"), "outside"},
		{"two boxes", append(base, "--box", "0,0,5,5", "--box", "1,1,6,6"), "one box"},
		{"mask shape", append(base, "--mask-input", badMask), "want [64 64]"},
		{"mask missing", append(base, "--mask-input", filepath.Join(out, "none.npy")), "mask-input"},
		{"unreadable image", []string{"--random-weights", "tiny", "--image", bad, "--out", out, "--point", "1,1,1"}, "reading image"},
		{"missing image", []string{"--random-weights", "tiny", "--image", filepath.Join(out, "no.png"), "--out", out, "--point", "1,1,1"}, "reading image"},
		{"no model", []string{"--image", img, "--out", out, "--point", "1,1,1"}, "exactly one of"},
		{"two models", append(base, "--checkpoint", "x.pth", "--point", "1,1,1"), "exactly one of"},
		{"bad random", []string{"--random-weights", "vit_q", "--image", img, "--out", out, "--point", "1,1,1"}, "random-weights"},
		{"bad checkpoint", []string{"--checkpoint", bad, "--image", img, "--out", out, "--point", "1,1,1"}, "checkpoint"},
		{"no out", []string{"--random-weights", "tiny", "--image", img, "--point", "1,1,1"}, "required"},
		{"preprocess", append(base, "--point", "1,1,1", "--preprocess", "x"), "preprocess"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := runSAMPredict(io.Discard, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"zero side", append(base, "--points-per-side", "0"), "points per side"},
		{"bad image", []string{"--random-weights", "tiny", "--image", bad, "--out", out}, "reading image"},
		{"crop layers", append(base, "--crop-n-layers", "-1"), "crop layers"},
		{"huge side", append(base, "--points-per-side", "100000"), "points per side 100000 is above"},
		{"huge batch", append(base, "--points-per-batch", "100000000"), "points per batch"},
	} {
		t.Run("everything "+c.name, func(t *testing.T) {
			err := runSAMEverything(io.Discard, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestSAMPredictCLIParity runs the CLI on the sam-tiny checkpoint and image and compares
// result.npz with the official outputs (PNG decode, exact PIL resize, box transform,
// postprocessing all included).
func TestSAMPredictCLIParity(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	out := t.TempDir()
	if err := runSAMPredict(io.Discard, []string{"--checkpoint", filepath.Join(dir, "weights.pth"), "--image", filepath.Join(dir, "image.png"),
		"--box", "60,45,150,135", "--out", out}); err != nil {
		t.Fatal(err)
	}
	z, err := npy.ReadNPZ(filepath.Join(out, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]string{
		"image_embedding": "image_embedding",
		"low_res_masks":   "box_only__low_res_masks",
		"iou_predictions": "box_only__iou_predictions",
		"masks":           "box_only__masks_logits_orig_size",
	} {
		w, err := npy.ReadFile(filepath.Join(dir, ref+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		g := z[name]
		if !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, g.Shape, w.Shape)
		}
		gv, wv := g.Float32(), w.Float32()
		for i := range wv {
			if d := math.Abs(float64(gv[i] - wv[i])); d > 1e-4+1e-4*math.Abs(float64(wv[i])) {
				t.Fatalf("%s[%d] = %g, want %g", name, i, gv[i], wv[i])
			}
		}
	}
}

func TestSAMPredictCLIMedSAM(t *testing.T) {
	img := testPNG(t, 40, 30)
	out := t.TempDir()
	if err := runSAMPredict(io.Discard, []string{"--random-weights", "tiny", "--image", img, "--out", out,
		"--box", "5,5,25,20", "--preprocess", "medsam"}); err != nil {
		t.Fatal(err)
	}
	z, err := npy.ReadNPZ(filepath.Join(out, "result.npz"))
	if err != nil {
		t.Fatal(err)
	}
	low, err := z["low_res_masks"].Tensor()
	if err != nil {
		t.Fatal(err)
	}
	want, err := sam.MedSAMMasks(low, 30, 40)
	if err != nil {
		t.Fatal(err)
	}
	if got := readPNGMask(t, filepath.Join(out, "mask_0.png")); !slices.Equal(got, want[0]) {
		t.Fatal("mask_0.png is not MedSAM's thresholded sigmoid")
	}
}

// TestSAMPredictMaskInputNPZ feeds an earlier result.npz (and .npy slices of it in every
// accepted shape) back as --mask-input: each run must equal the run on the single chosen
// [1 64 64] mask, and the default choice of an .npz is its highest predicted IoU.
func TestSAMPredictMaskInputNPZ(t *testing.T) {
	img := testPNG(t, 40, 30)
	first := filepath.Join(t.TempDir(), "first")
	// The tiny config's mask_in_chans 4 gives a 1-channel first LayerNorm2d, whose output
	// is its bias whatever the mask: a checkpoint with 8 lets the mask input matter.
	cfg := samTinyConfig()
	cfg.Prompt.MaskInChans = 8
	base := []string{"--checkpoint", samCheckpointNPZ(t, cfg, 5), "--image", img, "--point", "12,9,1"}
	if err := runSAMPredict(io.Discard, append(base, "--multimask", "--out", first)); err != nil {
		t.Fatal(err)
	}
	resNPZ := filepath.Join(first, "result.npz")
	z, err := npy.ReadNPZ(resNPZ)
	if err != nil {
		t.Fatal(err)
	}
	low, iou := z["low_res_masks"].Float32(), z["iou_predictions"].Float32()
	best := 0
	for i, v := range iou {
		if v > iou[best] {
			best = i
		}
	}
	if best == 0 {
		t.Fatalf("IoUs %v: the best is mask 0, so the default choice is not tested (change the seed)", iou)
	}
	dir := t.TempDir()
	write := func(name string, data []float32, shape ...int) string {
		a, err := npy.FromFloat32(data, shape...)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := npy.WriteFile(p, a); err != nil {
			t.Fatal(err)
		}
		return p
	}
	slice := func(k int) []float32 { return low[k*64*64 : (k+1)*64*64] }
	// predicted runs predict with extra args and returns its logits.
	predicted := func(extra ...string) []float32 {
		t.Helper()
		out := t.TempDir()
		if err := runSAMPredict(io.Discard, append(append(slices.Clone(base), "--out", out), extra...)); err != nil {
			t.Fatalf("%v: %v", extra, err)
		}
		r, err := npy.ReadNPZ(filepath.Join(out, "result.npz"))
		if err != nil {
			t.Fatal(err)
		}
		return r["masks"].Float32()
	}
	want := make([][]float32, 3)
	for k := range 3 {
		want[k] = predicted("--mask-input", write(fmt.Sprintf("m%d.npy", k), slice(k), 1, 64, 64))
	}
	if slices.Equal(want[0], want[1]) && slices.Equal(want[1], want[2]) {
		t.Fatal("the mask input does not change the prediction: the test cannot tell masks apart")
	}
	whole := write("whole.npy", low, 1, 3, 64, 64)
	for _, c := range []struct {
		name string
		args []string
		k    int
	}{
		{"npz default is best IoU", []string{"--mask-input", resNPZ}, best},
		{"npz index 0", []string{"--mask-input", resNPZ, "--mask-index", "0"}, 0},
		{"npz index 2", []string{"--mask-input", resNPZ, "--mask-index", "2"}, 2},
		{"npy [1 3 s s] default 0", []string{"--mask-input", whole}, 0},
		{"npy [1 3 s s] index 1", []string{"--mask-input", whole, "--mask-index", "1"}, 1},
		{"npy [3 s s] index 2", []string{"--mask-input", write("m3.npy", low, 3, 64, 64), "--mask-index", "2"}, 2},
		{"npy [s s]", []string{"--mask-input", write("ss.npy", slice(1), 64, 64)}, 1},
		{"npy [1 1 s s]", []string{"--mask-input", write("11ss.npy", slice(2), 1, 1, 64, 64)}, 2},
	} {
		if got := predicted(c.args...); !slices.Equal(got, want[c.k]) {
			t.Errorf("%s: logits differ from the run on mask %d alone", c.name, c.k)
		}
	}

	noLow := filepath.Join(dir, "nolow.npz")
	a, _ := npy.FromFloat32(slice(0), 1, 64, 64)
	if err := npy.WriteNPZ(noLow, []npy.Member{{Name: "masks", Array: a}}, false); err != nil {
		t.Fatal(err)
	}
	nan := slices.Clone(slice(0))
	nan[7] = float32(math.NaN())
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"index out of range", []string{"--mask-input", resNPZ, "--mask-index", "3"}, "holds 3 mask(s)"},
		{"index without input", []string{"--mask-index", "0"}, "needs --mask-input"},
		{"negative index", []string{"--mask-input", resNPZ, "--mask-index", "-2"}, "mask-index"},
		{"no low_res_masks", []string{"--mask-input", noLow}, "low_res_masks"},
		{"batch of 2", []string{"--mask-input", write("b2.npy", append(slices.Clone(low), low...), 2, 3, 64, 64)}, "want [64 64]"},
		{"wrong side", []string{"--mask-input", write("s32.npy", make([]float32, 32*32), 32, 32)}, "want [64 64]"},
		{"nan", []string{"--mask-input", write("nan.npy", nan, 64, 64)}, "non-finite"},
		{"not npy", []string{"--mask-input", img}, "mask-input"},
	} {
		out := t.TempDir()
		err := runSAMPredict(io.Discard, append(append(slices.Clone(base), "--out", out), c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// samCheckpointNPZ writes a seeded random SAM of cfg as an .npz state dict (official keys).
func samCheckpointNPZ(t *testing.T, cfg sam.Config, seed uint64) string {
	t.Helper()
	var members []npy.Member
	for k, v := range sam.New(cfg, seed).Params.StateDict() {
		members = append(members, npy.Member{Name: k, Array: npy.FromTensor(v)})
	}
	p := filepath.Join(t.TempDir(), "sam.npz")
	if err := npy.WriteNPZ(p, members, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSAMPredictWrongModelType: a checkpoint of another model than --model-type says
// gets one short error naming the model found, not the key-by-key mismatch list.
func TestSAMPredictWrongModelType(t *testing.T) {
	ckpt := samCheckpointNPZ(t, samTinyConfig(), 1)
	err := runSAMPredict(io.Discard, []string{"--checkpoint", ckpt, "--model-type", "vit_l", "--image", testPNG(t, 40, 30),
		"--out", t.TempDir(), "--point", "1,1,1"})
	want := "checkpoint holds a custom model (encoder width 64, depth 2, patch 16, input 256; neck 32), not vit_l"
	if err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 300 {
		t.Fatalf("error %v, want a short one containing %q", err, want)
	}
}

// TestSAMPredictDecoderHeads: --decoder-heads gives a detected checkpoint the head count
// its shapes cannot show; the CLI's logits then equal the original model's.
func TestSAMPredictDecoderHeads(t *testing.T) {
	cfg := samTinyConfig()
	cfg.Decoder.Heads = 4
	ckpt := samCheckpointNPZ(t, cfg, 2)
	img := testPNG(t, 40, 30)
	im, err := readSAMImage(img)
	if err != nil {
		t.Fatal(err)
	}
	p := sam.NewPredictor(sam.New(cfg, 2))
	if err := p.SetImage(t.Context(), im); err != nil {
		t.Fatal(err)
	}
	want, err := p.Predict(sam.Prompt{Points: [][2]float64{{12, 9}}, Labels: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{"", "custom"} {
		out := t.TempDir()
		args := []string{"--checkpoint", ckpt, "--decoder-heads", "4", "--image", img, "--out", out, "--point", "12,9,1"}
		if mt != "" {
			args = append(args, "--model-type", mt)
		}
		if err := runSAMPredict(io.Discard, args); err != nil {
			t.Fatal(err)
		}
		z, err := npy.ReadNPZ(filepath.Join(out, "result.npz"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(z["masks"].Float32(), want.Logits.Data) {
			t.Fatalf("model type %q: --decoder-heads 4 logits differ from the 4-head model's", mt)
		}
	}
	for _, args := range [][]string{
		{"--checkpoint", ckpt, "--decoder-heads", "-2"},
		{"--checkpoint", ckpt, "--model-type", "vit_b", "--decoder-heads", "4"},
		{"--random-weights", "tiny", "--decoder-heads", "4"},
	} {
		err := runSAMPredict(io.Discard, append(args, "--image", img, "--out", t.TempDir(), "--point", "1,1,1"))
		if err == nil || !strings.Contains(err.Error(), "--decoder-heads") {
			t.Errorf("%v: error %v, want one about --decoder-heads", args, err)
		}
	}
}
