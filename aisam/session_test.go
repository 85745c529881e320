package aisam

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/aisam/aisam/tensor"
)

// refSession starts a session on run2's official image embedding (a 1024x1024 image, so
// image pixels are encoder pixels).
func refSession(t *testing.T, m *Model, opts Options) *Session {
	t.Helper()
	z := refFile(t, "run2_aisam.npz")
	s, err := m.NewSessionFromEmbedding(context.Background(), refTensor(t, z, "dbg/image_embedding"), 1024, 1024, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkLowRes compares a session's low-resolution logits with the official masks where
// those are finite.
func checkLowRes(t *testing.T, r *Result, want *tensor.Tensor) {
	t.Helper()
	checkMasks(t, r.LowRes.Reshape(want.Shape()...), finiteOnly(r.LowRes, want))
}

// finiteOnly copies want, replacing its -inf entries by got's (box gating is checked
// separately: the session gates at the image's resolution).
func finiteOnly(got, want *tensor.Tensor) *tensor.Tensor {
	w := want.Clone()
	for i, v := range w.Data {
		if math.IsInf(float64(v), -1) {
			w.Data[i] = got.Data[i]
		}
	}
	return w
}

// TestSessionParity checks that Segment's prompts reproduce the official forward:
// automatic, with the run2 points (class 1's (0,0) point is simply not given) and with
// the run2 boxes as AI-SAM box gating.
func TestSessionParity(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three AutoPrompt runs")
	}
	m := refModel(t)
	z := refFile(t, "run2_aisam.npz")
	cases := map[string]Options{
		"auto":   {},
		"points": {Points: []UserPoint{{Class: 0, X: 312.5, Y: 201.25, Positive: true}, {Class: 2, X: 700.75, Y: 815.5, Positive: true}}},
		"bbox": {Boxes: map[int]Box{
			1: {X0: 245, Y0: 150, X1: 810, Y1: 700},
			2: {X0: 21, Y0: 520, X1: 389, Y1: 999},
		}},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			s := refSession(t, m, opts)
			r := s.Result()
			want := refTensor(t, z, "out/"+name+"/masks")
			checkLowRes(t, r, want)
			if r.Timing.Decoded != 3 {
				t.Errorf("decoded %d classes, want 3", r.Timing.Decoded)
			}
			attn := make([]*tensor.Tensor, 3)
			for i := range attn {
				attn[i] = s.attn[i]
			}
			checkClose(t, "heatmaps", tensor.Stack(0, attn...), refTensor(t, z, "out/"+name+"/final_attn_weight_list"), 1e-4)
			// Gating: at the official 256 grid, a cell is -inf exactly where the session's
			// full-resolution logit at its sampled pixel (4i+2) is -inf.
			for c := 0; c < 3; c++ {
				for i := 0; i < 256; i++ {
					for j := 0; j < 256; j++ {
						o := math.IsInf(float64(want.Data[(c*256+i)*256+j]), -1)
						g := math.IsInf(float64(r.Logits.Data[(c*1024+4*i+2)*1024+4*j+2]), -1)
						if o != g {
							t.Fatalf("class %d cell (%d,%d): official -inf %v, session %v", c, i, j, o, g)
						}
					}
				}
			}
			// Every labelled pixel's class is the largest present logit.
			area := make([]int, 3)
			for _, l := range r.Labels {
				area[l]++
			}
			for c, cr := range r.Classes {
				if cr.Area != area[c] {
					t.Errorf("class %d area %d, labels say %d", c, cr.Area, area[c])
				}
			}
		})
	}
}

// TestSessionEdits checks incremental recomputation, undo/redo and the geometry of
// generated points. It also runs under -short (~3.5 s): CI's only check of the edits.
func TestSessionEdits(t *testing.T) {
	m := refModel(t)
	s := refSession(t, m, Options{PointMode: ArgmaxPoints})
	r0 := s.Result()
	base := r0.LowRes.Clone()

	// Presence changes recompose without decoding.
	r, err := s.SetPresence(1, PresenceOff)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing.Decoded != 0 || r.Classes[1].Area != 0 || !r.Classes[1].Forced {
		t.Errorf("presence off: decoded %d, area %d", r.Timing.Decoded, r.Classes[1].Area)
	}
	// A negative click only changes its own class's prompt.
	r, err = s.AddPoint(2, 100, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing.Decoded != 1 {
		t.Errorf("negative point: decoded %d classes, want 1", r.Timing.Decoded)
	}
	// A positive click is a negative for every other class (AI-SAM): all re-decode.
	r, err = s.AddPoint(1, 500, 400, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing.Decoded != 3 {
		t.Errorf("positive point: decoded %d classes, want 3", r.Timing.Decoded)
	}
	// A SAM box token changes one class.
	r, err = s.SetBox(0, Box{X0: 10, Y0: 10, X1: 900, Y1: 900, Mode: BoxToken})
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing.Decoded != 1 {
		t.Errorf("box token: decoded %d classes, want 1", r.Timing.Decoded)
	}
	// Undo everything: back to the automatic result, bit for bit.
	for i := 0; i < 4; i++ {
		if r, err = s.Undo(); err != nil {
			t.Fatal(err)
		}
	}
	if !sameTensor(r.LowRes, base) || r.Classes[1].Forced {
		t.Error("after undoing every edit the result differs from the automatic one")
	}
	if _, err := s.Undo(); err == nil {
		t.Error("undo with nothing to undo: no error")
	}
	r, err = s.Redo()
	if err != nil || !r.Classes[1].Forced {
		t.Fatalf("redo: %v", err)
	}
	s.Undo()

	// Moving a generated point onto itself (its cell centre) changes nothing: the moved
	// point's SAM encoding equals the dense PE of that cell.
	gp := r0.Classes[2].Points[1]
	if math.Mod(gp.X-7.5, 16) != 0 || math.Mod(gp.Y-7.5, 16) != 0 {
		t.Errorf("generated point (%g, %g) is not a cell centre 16k+7.5", gp.X, gp.Y)
	}
	r, err = s.MovePoint(2, 1, gp.X, gp.Y)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(r.LowRes.Data, base.Data); e > 1e-5 {
		t.Errorf("moving a point onto itself changed the masks by %.3g", e)
	}
	if !r.Classes[2].Points[1].Moved {
		t.Error("moved point not flagged")
	}
	r, err = s.RemoveGeneratedPoint(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing.Decoded != 3 || !r.Classes[2].Points[1].Removed {
		t.Errorf("remove: decoded %d", r.Timing.Decoded)
	}
	if e := relErr(r.LowRes.Data, base.Data); e < 1e-3 {
		t.Errorf("removing a generated point changed nothing (%.3g)", e)
	}

	// Bad edits are errors that leave the session unchanged.
	before := s.Result()
	for name, f := range map[string]func() (*Result, error){
		"class":   func() (*Result, error) { return s.AddPoint(3, 1, 1, true) },
		"outside": func() (*Result, error) { return s.AddPoint(1, 1024.5, 5, true) },
		"nan":     func() (*Result, error) { return s.AddPoint(1, math.NaN(), 5, true) },
		"box":     func() (*Result, error) { return s.SetBox(1, Box{X0: 50, Y0: 50, X1: 10, Y1: 60}) },
		"gen":     func() (*Result, error) { return s.MovePoint(1, 4, 5, 5) },
		"remove":  func() (*Result, error) { return s.RemovePoint(0) },
	} {
		if _, err := f(); err == nil || !strings.HasPrefix(err.Error(), "aisam:") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if s.Result() != before {
		t.Error("a failed edit changed the result")
	}
}

// TestSessionLocalEdits checks that with LocalEdits every edit decodes one class and
// that, before any edit, the result is the default one.
func TestSessionLocalEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	m := refModel(t)
	s := refSession(t, m, Options{LocalEdits: true})
	want := refTensor(t, refFile(t, "run2_aisam.npz"), "out/auto/masks")
	checkLowRes(t, s.Result(), want)
	for name, f := range map[string]func() (*Result, error){
		"move":     func() (*Result, error) { return s.MovePoint(1, 2, 300, 200) },
		"remove":   func() (*Result, error) { return s.RemoveGeneratedPoint(2, 0) },
		"positive": func() (*Result, error) { return s.AddPoint(0, 10, 10, true) },
		"gate":     func() (*Result, error) { return s.SetBox(2, Box{X0: 100, Y0: 100, X1: 600, Y1: 700}) },
	} {
		r, err := f()
		if err != nil {
			t.Fatal(err)
		}
		if r.Timing.Decoded != 1 {
			t.Errorf("%s: decoded %d classes, want 1", name, r.Timing.Decoded)
		}
	}
}

// TestPreprocess checks the encoder input and the coordinate mapping.
func TestPreprocess(t *testing.T) {
	cfg := refConfig()
	cfg.SAM.Encoder.ImgSize = 32
	im := &Image{H: 2, W: 4, Channels: 1, Pix: []uint8{0, 255, 0, 255, 51, 51, 51, 51}}
	cfg.Preprocess.Resize = "longest"
	x, g, err := cfg.preprocess(im)
	if err != nil {
		t.Fatal(err)
	}
	if g.InputH != 16 || g.InputW != 32 || x.Dim(2) != 32 {
		t.Fatalf("geometry %+v, input %v", g, x.Shape())
	}
	// Bottom padding is zero; the last row of the resized image is 51/255.
	if x.At(0, 1, 20, 5) != 0 || math.Abs(float64(x.At(0, 2, 15, 5))-0.2) > 1e-6 {
		t.Errorf("padding %g, last row %g", x.At(0, 1, 20, 5), x.At(0, 2, 15, 5))
	}
	if ex, ey := g.toEncoder(2, 1); ex != 16 || ey != 8 {
		t.Errorf("(2,1) -> (%g,%g), want (16,8)", ex, ey)
	}
	// A CT window maps [-125, 275] to [0, 1] and clips outside.
	cfg.Preprocess.Resize = "stretch"
	cfg.Preprocess.Window = &[2]float64{-125, 275}
	cfg.SAM.Encoder.ImgSize = 2
	x, _, err = cfg.preprocess(&Image{H: 2, W: 2, Values: []float32{-1000, -125, 75, 1000}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float32{0, 0, 0.5, 1} {
		if x.Data[i] != want {
			t.Errorf("window value %d = %g, want %g", i, x.Data[i], want)
		}
	}
	for _, bad := range []*Image{nil, {H: 2, W: 2}, {H: 2, W: 2, Channels: 2, Pix: make([]uint8, 8)}, {H: 2, W: 2, Values: make([]float32, 3)}, {H: 0, W: 2, Values: []float32{}}} {
		if _, _, err := cfg.preprocess(bad); err == nil {
			t.Errorf("image %+v: no error", bad)
		}
	}
}

// TestSessionRemoveAllPoints removes every generated point of a class (an empty own
// prompt) on a tiny model, then brings them back with undo.
func TestSessionRemoveAllPoints(t *testing.T) {
	m, err := New(tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	emb := tensor.New(1, 32, 8, 8)
	for i := range emb.Data {
		emb.Data[i] = float32(i%7) - 3
	}
	s, err := m.NewSessionFromEmbedding(context.Background(), emb, 30, 40, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := s.Result().LowRes.Clone()
	for i := 0; i < 2; i++ {
		if _, err := s.RemoveGeneratedPoint(1, i); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.AddPoint(1, 39, 29, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Classes[1].Points {
		if !p.Removed {
			t.Error("point not flagged removed")
		}
	}
	for i := 0; i < 3; i++ {
		r, err = s.Undo()
		if err != nil {
			t.Fatal(err)
		}
	}
	if !sameTensor(r.LowRes, base) {
		t.Error("undo did not restore the automatic result")
	}
	if r.H != 30 || r.W != 40 || len(r.Labels) != 1200 {
		t.Errorf("result %dx%d with %d labels", r.W, r.H, len(r.Labels))
	}
}

// TestSessionPromptMakesPresent: a positive click or a box on a class the classifier
// calls absent makes it present; a negative click does not; forcing it absent wins; undo
// restores the classifier's verdict.
func TestSessionPromptMakesPresent(t *testing.T) {
	m, err := New(tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	emb := tensor.New(1, 32, 8, 8)
	for i := range emb.Data {
		emb.Data[i] = float32(i%5) - 2
	}
	// A threshold no sigmoid score reaches: the classifier calls every class absent.
	s, err := m.NewSessionFromEmbedding(context.Background(), emb, 30, 40, Options{Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	present := func(r *Result, c int) bool {
		t.Helper()
		if !r.Classes[c].Present && r.Classes[c].Area > 0 {
			t.Errorf("class %d absent with area %d", c, r.Classes[c].Area)
		}
		return r.Classes[c].Present
	}
	steps := []struct {
		name string
		do   func() (*Result, error)
		want [2]bool // classes 1 and 2 present
	}{
		{"negative click", func() (*Result, error) { return s.AddPoint(1, 5, 5, false) }, [2]bool{false, false}},
		{"positive click", func() (*Result, error) { return s.AddPoint(1, 20, 15, true) }, [2]bool{true, false}},
		{"box", func() (*Result, error) { return s.SetBox(2, Box{X0: 2, Y0: 3, X1: 30, Y1: 25}) }, [2]bool{true, true}},
		{"force absent", func() (*Result, error) { return s.SetPresence(2, PresenceOff) }, [2]bool{true, false}},
		{"undo force", func() (*Result, error) { return s.Undo() }, [2]bool{true, true}},
		{"undo box", func() (*Result, error) { return s.Undo() }, [2]bool{true, false}},
		{"undo click", func() (*Result, error) { return s.Undo() }, [2]bool{false, false}},
		{"redo click", func() (*Result, error) { return s.Redo() }, [2]bool{true, false}},
	}
	if r := s.Result(); present(r, 1) || present(r, 2) {
		t.Fatal("a class is present at threshold 1")
	}
	for _, st := range steps {
		r, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := [2]bool{present(r, 1), present(r, 2)}; got != st.want {
			t.Errorf("%s: present %v, want %v", st.name, got, st.want)
		}
		for px, l := range r.Labels {
			if l != 0 && !r.Classes[l].Present {
				t.Fatalf("%s: pixel %d labelled with absent class %d", st.name, px, l)
			}
		}
	}
	// The same through Segment's options (the CLI's --point, --box and --absent).
	s, err = m.NewSessionFromEmbedding(context.Background(), emb, 30, 40, Options{Threshold: 1,
		Points:   []UserPoint{{Class: 1, X: 20, Y: 15, Positive: true}},
		Boxes:    map[int]Box{2: {X0: 2, Y0: 3, X1: 30, Y1: 25}},
		Presence: map[int]Presence{2: PresenceOff}})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Result(); !present(r, 1) || present(r, 2) {
		t.Errorf("options: present %v %v, want true false", r.Classes[1].Present, r.Classes[2].Present)
	}
}
