package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisam/aisam/aisam"
	"github.com/aisam/aisam/safetensors"
	"github.com/aisam/aisam/sam"
)

// tinyModelFile saves a small random AI-SAM (tiny ViT, 3 classes) in aisam's format.
func tinyModelFile(t *testing.T) string {
	t.Helper()
	return tinyModel(t, []string{"background", "RV", "LV"}, 1024, true)
}

// tinyModel saves a small random AI-SAM (tiny ViT at imgSize, 2 points per class) with the
// given classes: in aisam's format (config stored) if withConfig, else as a bare
// state_dict, like a converted AI-SAM checkpoint with no preprocessing stored.
func tinyModel(t *testing.T, classes []string, imgSize int, withConfig bool) string {
	t.Helper()
	cfg := aisam.Config{
		SAM: sam.Config{
			Type: "custom",
			Encoder: sam.EncoderConfig{ImgSize: imgSize, PatchSize: 16, InChans: 3, EmbedDim: 32, Depth: 1, Heads: 2, MLPRatio: 2,
				OutChans: 256, WindowSize: 0, UseAbsPos: true, UseRelPos: true},
			Prompt: sam.PromptConfig{EmbedDim: 256, ImageEmbeddingSize: imgSize / 16, InputImageSize: imgSize, MaskInChans: 16},
			Decoder: sam.DecoderConfig{TransformerDim: 256, Depth: 2, Heads: 8, MLPDim: 512, AttnDownsample: 2,
				NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 256},
		},
		AutoPrompt: aisam.AutoPromptConfig{NumClasses: len(classes), NumClassTokens: 2, NumPoints: 2, Dim: 256, EncoderDim: 32, Classifier: true},
		Classes:    classes,
		Preprocess: aisam.DefaultPreprocess,
	}
	m, err := aisam.New(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if withConfig {
		err = m.Save(path)
	} else {
		err = safetensors.WriteTensors(path, m.Params.StateDict(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func testPNG(t *testing.T, w, h int) string {
	t.Helper()
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetNRGBA(x, y, color.NRGBA{uint8(x * 5), uint8(y * 7), 90, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, im)
	p := filepath.Join(t.TempDir(), "in.png")
	os.WriteFile(p, b.Bytes(), 0o644)
	return p
}

// TestSegmentCLI runs segment on a PNG with clicks, a box and a forced class. The model's
// encoder works at 256 (a 16x16 embedding) so that it also runs under -short (CI).
func TestSegmentCLI(t *testing.T) {
	model := tinyModel(t, []string{"background", "RV", "LV"}, 256, true)
	img := testPNG(t, 40, 30)
	out := filepath.Join(t.TempDir(), "out")
	var stdout bytes.Buffer
	err := runSegment(&stdout, []string{"--model", model, "--image", img, "--out", out,
		"--point", "RV:10,12,1", "--point", "2:30.5,20,0", "--box", "LV:5,5,35,25", "--present", "RV"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "labels.png"))
	if err != nil {
		t.Fatal(err)
	}
	lab, err := png.Decode(f)
	f.Close()
	if err != nil || lab.Bounds().Dx() != 40 || lab.Bounds().Dy() != 30 {
		t.Fatalf("labels.png: %v %v", err, lab.Bounds())
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Width, Height int
		Classes       []struct {
			Name    string
			Present bool
			Forced  bool
			Area    int
			Points  []struct{ X, Y, Heat float64 }
			Box     *struct{ Mode string }
		}
		UserPoints []aisam.UserPoint `json:"user_points"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Classes) != 3 || res.Classes[1].Name != "RV" || !res.Classes[1].Present || !res.Classes[1].Forced {
		t.Fatalf("classes %+v", res.Classes)
	}
	area := 0
	gray := lab.(*image.Gray)
	counts := make([]int, 3)
	for _, v := range gray.Pix {
		counts[v]++
	}
	for i, c := range res.Classes {
		area += c.Area
		if c.Area != counts[i] {
			t.Errorf("class %d area %d, labels.png has %d", i, c.Area, counts[i])
		}
		if len(c.Points) != 2 {
			t.Errorf("class %d has %d generated points", i, len(c.Points))
		}
		for _, p := range c.Points {
			if p.X < 0 || p.X >= 40 || p.Y < 0 || p.Y >= 30 || p.Heat <= 0 || p.Heat > 1 {
				t.Errorf("class %d point %+v", i, p)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "class_"+string(rune('0'+i))+"_"+c.Name+".png")); err != nil {
			t.Error(err)
		}
	}
	if area != 1200 || len(res.UserPoints) != 2 || res.Classes[2].Box == nil || res.Classes[2].Box.Mode != "gate" {
		t.Errorf("area %d, user points %d, box %+v", area, len(res.UserPoints), res.Classes[2].Box)
	}
	// LV is gated to its box: no LV pixel outside it.
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			if gray.Pix[y*40+x] == 2 && (x < 5 || x > 35 || y < 5 || y > 25) {
				t.Fatalf("LV at (%d,%d) outside its box", x, y)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "overlay.png")); err != nil {
		t.Error(err)
	}
}

func TestSegmentCLIErrors(t *testing.T) {
	model := tinyModelFile(t)
	img := testPNG(t, 40, 30)
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", img, "--out", out}, "exactly one of --model"},
		{[]string{"--model", model, "--out", out}, "--image and --out"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "liver:1,2,1"}, `unknown class "liver"`},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "RV:1,2"}, "want class:x,y,label"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "RV:1,x,1"}, `"x" is not a number`},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "RV:1,2,7"}, "label"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "RV:NaN,2,1"}, "not a finite number"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "5:1,2,1"}, "class index 5"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point", "RV:41,2,1"}, "outside the 40x30 image"},
		{[]string{"--model", model, "--image", img, "--out", out, "--box", "RV:10,10,5,20"}, "swapped"},
		{[]string{"--model", model, "--image", img, "--out", out, "--box", "RV:1,2,3"}, "want 4"},
		{[]string{"--model", model, "--image", img, "--out", out, "--point-mode", "hard"}, "--point-mode"},
		{[]string{"--model", model, "--image", model, "--out", out}, "not a PNG or JPEG"},
		{[]string{"--model", img, "--image", img, "--out", out}, ""},
		{[]string{"--model", model, "--image", img, "--out", out, "--classes", "a,b"}, "2 class names"},
	} {
		err := runSegment(&bytes.Buffer{}, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}

// TestDrawBox checks the outline's pixels by hand: edges included, th pixels inside.
func TestDrawBox(t *testing.T) {
	im := image.NewNRGBA(image.Rect(0, 0, 12, 10))
	c := color.NRGBA{1, 2, 3, 255}
	drawBox(im, aisam.Box{X0: 1.6, Y0: 2, X1: 9.4, Y1: 7}, 2, c) // x 2..9, y 2..7
	for y := 0; y < 10; y++ {
		for x := 0; x < 12; x++ {
			in := x >= 2 && x <= 9 && y >= 2 && y <= 7
			inner := x >= 4 && x <= 7 && y >= 4 && y <= 5
			if want := in && !inner; (im.NRGBAAt(x, y) == c) != want {
				t.Errorf("(%d,%d): drawn %v, want %v", x, y, im.NRGBAAt(x, y) == c, want)
			}
		}
	}
}

// TestSegmentOverlayBoxes: overlay.png outlines each class's box in the class's colour
// (except where a generated point's disc is drawn over it).
func TestSegmentOverlayBoxes(t *testing.T) {
	model := tinyModel(t, []string{"background", "RV", "LV"}, 256, true)
	out := t.TempDir()
	boxes := map[int][4]int{1: {2, 2, 20, 20}, 2: {25, 5, 55, 35}}
	if err := runSegment(&bytes.Buffer{}, []string{"--model", model, "--image", testPNG(t, 60, 40), "--out", out,
		"--box", "RV:2,2,20,20", "--box", "LV:25,5,55,35"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "overlay.png"))
	if err != nil {
		t.Fatal(err)
	}
	ov, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Classes []struct {
			Present bool
			Points  []struct {
				X, Y    float64
				Removed bool
			}
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	nearPoint := func(x, y int) bool {
		for _, c := range res.Classes {
			for _, p := range c.Points {
				if c.Present && !p.Removed && math.Abs(float64(x)-math.Round(p.X)) <= 5 && math.Abs(float64(y)-math.Round(p.Y)) <= 5 {
					return true
				}
			}
		}
		return false
	}
	for ci, bx := range boxes {
		want := palette(ci)
		checked := 0
		for y := bx[1]; y <= bx[3]; y++ {
			for x := bx[0]; x <= bx[2]; x++ {
				if (x != bx[0] && x != bx[2] && y != bx[1] && y != bx[3]) || nearPoint(x, y) {
					continue
				}
				checked++
				if got := color.NRGBAModel.Convert(ov.At(x, y)).(color.NRGBA); got != want {
					t.Fatalf("class %d box edge (%d,%d) is %v, want %v", ci, x, y, got, want)
				}
			}
		}
		if checked < 20 {
			t.Errorf("class %d: only %d edge pixels away from points", ci, checked)
		}
	}
}
