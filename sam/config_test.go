package sam

import (
	"context"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// shapeDict fabricates the keys DetectConfig inspects, with the official shapes of a type
// (values are irrelevant to detection).
func shapeDict(c Config) map[string]*tensor.Tensor {
	e := c.Encoder
	g := e.GridSize()
	hd := e.EmbedDim / e.Heads
	sd := map[string]*tensor.Tensor{
		"image_encoder.patch_embed.proj.weight":                                     tensor.New(e.EmbedDim, 3, e.PatchSize, e.PatchSize),
		"image_encoder.pos_embed":                                                   tensor.New(1, g, g, e.EmbedDim),
		"image_encoder.neck.0.weight":                                               tensor.New(e.OutChans, e.EmbedDim, 1, 1),
		"prompt_encoder.mask_downscaling.3.weight":                                  tensor.New(c.Prompt.MaskInChans, c.Prompt.MaskInChans/4, 2, 2),
		"mask_decoder.transformer.layers.0.mlp.lin1.weight":                         tensor.New(c.Decoder.MLPDim, 256),
		"mask_decoder.transformer.layers.1.mlp.lin1.weight":                         tensor.New(c.Decoder.MLPDim, 256),
		"mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight": tensor.New(128, 256),
		"mask_decoder.mask_tokens.weight":                                           tensor.New(4, 256),
		"mask_decoder.iou_prediction_head.layers.0.weight":                          tensor.New(256, 256),
		"mask_decoder.iou_prediction_head.layers.1.weight":                          tensor.New(256, 256),
		"mask_decoder.iou_prediction_head.layers.2.weight":                          tensor.New(4, 256),
	}
	for i := range e.Depth {
		rows := 2*e.WindowSize - 1
		if e.IsGlobal(i) {
			rows = 2*g - 1
		}
		sd["image_encoder.blocks."+strconv.Itoa(i)+".attn.rel_pos_h"] = tensor.New(rows, hd)
		sd["image_encoder.blocks."+strconv.Itoa(i)+".mlp.lin1.weight"] = tensor.New(4*e.EmbedDim, 1)
	}
	return sd
}

func TestConfigForAndDetect(t *testing.T) {
	for _, tc := range []struct {
		typ           string
		embed, depth  int
		heads         int
		global        []int
		tensorsOfType int
	}{
		{"vit_b", 768, 12, 12, []int{2, 5, 8, 11}, 314},
		{"vit_l", 1024, 24, 16, []int{5, 11, 17, 23}, 482},
		{"vit_h", 1280, 32, 16, []int{7, 15, 23, 31}, 594},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			c, err := ConfigFor(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			e := c.Encoder
			if e.EmbedDim != tc.embed || e.Depth != tc.depth || e.Heads != tc.heads || e.ImgSize != 1024 || e.WindowSize != 14 {
				t.Errorf("config %+v", e)
			}
			for i, g := range tc.global {
				if e.GlobalAttnIndexes[i] != g {
					t.Errorf("global blocks %v, want %v", e.GlobalAttnIndexes, tc.global)
				}
			}
			if err := c.Validate(); err != nil {
				t.Error(err)
			}
			// SAM.md's key count, rebuilt from the module structure: per block 14
			// tensors (norm1, norm2, qkv, proj, lin1, lin2 weight+bias; rel_pos_h, _w),
			// patch_embed 2, pos_embed 1, neck 6; prompt encoder 17; decoder 120.
			if n := 14*tc.depth + 9 + 17 + 120; n != tc.tensorsOfType {
				t.Errorf("structure gives %d tensors, SAM.md says %d", n, tc.tensorsOfType)
			}
			got, err := DetectConfig(shapeDict(c))
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tc.typ {
				t.Errorf("detected %q", got.Type)
			}
		})
	}
	if _, err := ConfigFor("vit_x"); err == nil || !strings.Contains(err.Error(), "vit_x") {
		t.Errorf("unknown type: %v", err)
	}
}

// TestVitBParams builds the real vit_b and checks its keys and size against SAM.md
// (314 tensors, an 89.7M-parameter image encoder) and the official model's 93,735,472
// parameters (plus the 256-value Fourier buffer), and that detection round-trips.
func TestVitBParams(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates the 360 MB vit_b")
	}
	c, _ := ConfigFor("vit_b")
	m := New(c, 1)
	if n := len(m.Params.List()); n != 314 {
		t.Errorf("%d tensors, want 314", n)
	}
	if n := m.Params.Count(); n != 93735472+256 {
		t.Errorf("%d values, want 93735472 parameters + 256 buffer values", n)
	}
	enc := 0
	for _, p := range m.Params.List() {
		if strings.HasPrefix(p.Name, "image_encoder.") {
			enc += p.T.Numel()
		}
	}
	if math.Abs(float64(enc)-89.7e6) > 0.05e6 {
		t.Errorf("image encoder has %d parameters, want 89.7M", enc)
	}
	for _, k := range []string{"image_encoder.blocks.11.attn.rel_pos_w", "image_encoder.neck.3.bias",
		"prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "prompt_encoder.mask_downscaling.6.weight",
		"mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.bias",
		"mask_decoder.output_hypernetworks_mlps.3.layers.2.weight", "mask_decoder.iou_prediction_head.layers.2.bias"} {
		if m.Params.Get(k) == nil {
			t.Errorf("missing %s", k)
		}
	}
	got, err := DetectConfig(m.Params.StateDict())
	if err != nil || got.Type != "vit_b" {
		t.Errorf("detected %+v, %v", got.Type, err)
	}
}

func TestValidateRejects(t *testing.T) {
	good, _ := ConfigFor("vit_b")
	for name, mod := range map[string]func(c *Config){
		"patch":      func(c *Config) { c.Encoder.PatchSize = 15 },
		"heads":      func(c *Config) { c.Encoder.Heads = 7 },
		"global":     func(c *Config) { c.Encoder.GlobalAttnIndexes = []int{12} },
		"width":      func(c *Config) { c.Prompt.EmbedDim = 128 },
		"dec heads":  func(c *Config) { c.Decoder.Heads = 3 },
		"mask chans": func(c *Config) { c.Prompt.MaskInChans = 6 },
	} {
		c := good
		c.Encoder.GlobalAttnIndexes = append([]int(nil), good.Encoder.GlobalAttnIndexes...)
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
	}
}

// TestRelPosInterpolation checks getRelPos against torch's F.interpolate(mode="linear",
// align_corners=False) written out in float64: source x = (i+0.5)·in/out - 0.5, clamped
// at 0, between floor(x) and the next row.
func TestRelPosInterpolation(t *testing.T) {
	table := tensor.New(5, 3)
	for i := range table.Data {
		table.Data[i] = float32(math.Sin(float64(i) * 0.7))
	}
	got := getRelPos(nil, 4, 4, table) // needs 7 rows: interpolated 5 -> 7
	idx, rows := relPosIndex(4, 4)
	if rows != 7 {
		t.Fatalf("%d rows", rows)
	}
	for qk, r := range idx {
		x := math.Max((float64(r)+0.5)*5/7-0.5, 0)
		x0 := int(x)
		x1 := min(x0+1, 4)
		f := x - float64(x0)
		for d := range 3 {
			want := (1-f)*float64(table.At(x0, d)) + f*float64(table.At(x1, d))
			if g := float64(got.Data[qk*3+d]); math.Abs(g-want) > 1e-6 {
				t.Fatalf("pair %d dim %d: %g, want %g", qk, d, g, want)
			}
		}
	}
	// Equal sizes: row (q - k) + (k_size - 1) of the table itself.
	got = getRelPos(nil, 3, 3, tensor.FromSlice([]float32{0, 1, 2, 3, 4}, 5, 1))
	want := []float32{2, 1, 0, 3, 2, 1, 4, 3, 2}
	for i, w := range want {
		if got.Data[i] != w {
			t.Fatalf("indices %v, want %v", got.Data, want)
		}
	}
}

// TestOtherInputSize runs the tiny model at 128x128 (a SAMed-style smaller input): once
// with the checkpoint adapted like SAMed's load_from (pos_embed and global rel_pos tables
// resized) and once unadapted (resized at run time), which must agree; the fast and tape
// paths, two independent implementations, must agree on both.
func TestOtherInputSize(t *testing.T) {
	base := loadTiny(t)
	cfg := base.Config.WithImageSize(128)
	cfg.Encoder.PosEmbedSize = 0 // adapt the weights to an 8x8 grid
	adapted, err := FromStateDictConfig(base.Params.StateDict(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := adapted.Encoder.PosEmbed.Shape(); s[1] != 8 || adapted.Encoder.Blocks[1].Attn.RelPosH.Dim(0) != 15 {
		t.Fatalf("adapted shapes %v, %v", s, adapted.Encoder.Blocks[1].Attn.RelPosH.Shape())
	}
	// Bilinear 16 -> 8 with align_corners=False samples at 2i+0.5: the mean of 2x2 cells.
	pe := base.Encoder.PosEmbed
	for _, yx := range [][2]int{{0, 0}, {3, 5}, {7, 7}} {
		y, x := yx[0], yx[1]
		for ch := range 3 {
			want := (pe.At(0, 2*y, 2*x, ch) + pe.At(0, 2*y+1, 2*x, ch) + pe.At(0, 2*y, 2*x+1, ch) + pe.At(0, 2*y+1, 2*x+1, ch)) / 4
			if g := adapted.Encoder.PosEmbed.At(0, y, x, ch); math.Abs(float64(g-want)) > 1e-6 {
				t.Fatalf("pos_embed[%d,%d,%d] = %g, want %g", y, x, ch, g, want)
			}
		}
	}
	x := tensor.New(1, 3, 128, 128)
	for i := range x.Data {
		x.Data[i] = float32(math.Cos(float64(i) * 0.013))
	}
	runtime := base.Encoder.Forward(nil, x) // pos_embed and rel_pos resized on the fly
	for _, path := range []struct {
		name string
		enc  *ImageEncoder
		tp   *ag.Tape
	}{{"adapted/fast", adapted.Encoder, nil}, {"adapted/tape", adapted.Encoder, ag.NewTape()}, {"runtime/tape", base.Encoder, ag.NewTape()}} {
		got := path.enc.Forward(path.tp, x)
		if !tensor.EqualShape(got.Shape(), []int{1, 32, 8, 8}) {
			t.Fatalf("%s: shape %v", path.name, got.Shape())
		}
		if e := compare(path.name, got, runtime, 1e-5); e.bad != 0 {
			t.Errorf("%s differs from the run-time resizing: max abs %g", path.name, e.maxAbs)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.npz"), ""); err == nil {
		t.Error("missing file accepted")
	}
	bad := filepath.Join(dir, "bad.npz")
	if err := os.WriteFile(bad, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, ""); err == nil {
		t.Error("corrupt file accepted")
	}
	if _, err := Load(filepath.Join(dir, "x.bin"), ""); err == nil {
		t.Error("unknown format accepted")
	}
	// A checkpoint of another model: the error names the model found, in one short line.
	b, _ := ConfigFor("vit_b")
	l, _ := ConfigFor("vit_l")
	tinySD := New(tinyTestConfig(), 1).Params.StateDict()
	for _, c := range []struct {
		name string
		sd   map[string]*tensor.Tensor
		typ  string
		want string
	}{
		{"vit_b as vit_l", shapeDict(b), "vit_l", "checkpoint holds a vit_b model, not vit_l"},
		{"vit_l as vit_h", shapeDict(l), "vit_h", "checkpoint holds a vit_l model, not vit_h"},
		{"vit_b at 512 as vit_l", shapeDict(b.WithImageSize(512)), "vit_l", "checkpoint holds a vit_b model, not vit_l"},
		{"tiny as vit_b", tinySD, "vit_b", "checkpoint holds a custom model (encoder width 64, depth 2, patch 16, input 256; neck 32), not vit_b"},
	} {
		_, err := FromStateDict(c.sd, c.typ)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(err.Error()) > 200 {
			t.Errorf("%s: error %v, want a short one containing %q", c.name, err, c.want)
		}
	}
	// Shapes that describe no model: the key-by-key list is all there is to say.
	broken := maps.Clone(tinySD)
	delete(broken, "prompt_encoder.mask_downscaling.3.weight")
	_, err := FromStateDict(broken, "vit_b")
	var le *nn.LoadError
	if !errors.As(err, &le) || len(le.Mismatched)+len(le.Missing) == 0 {
		t.Errorf("undetectable checkpoint as vit_b: %v", err)
	}
	if _, err := DetectConfig(map[string]*tensor.Tensor{}); err == nil {
		t.Error("empty state dict detected")
	}
}

func TestPredictorRejectsBadInput(t *testing.T) {
	m := loadTiny(t)
	p := NewPredictor(m)
	if err := p.SetImage(context.Background(), RGB{H: 2, W: 2, Pix: make([]uint8, 5)}); err == nil {
		t.Error("short pixel buffer accepted")
	}
	if err := p.SetEncoderInput(context.Background(), tensor.New(1, 3, 64, 64), 10, 10); err == nil {
		t.Error("wrong encoder input size accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.SetEncoderInput(ctx, tensor.New(1, 3, 256, 256), 10, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled SetEncoderInput: %v", err)
	}
	if p.Embedding() != nil {
		t.Error("a cancelled encode installed an embedding")
	}
	im := RGB{H: 20, W: 30, Pix: make([]uint8, 20*30*3)}
	if err := p.SetImage(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	if h, w := p.InputSize(); h != 171 || w != 256 {
		t.Errorf("input size %dx%d, want 171x256", h, w)
	}
	nan := math.NaN()
	for name, pr := range map[string]Prompt{
		"empty":       {},
		"labels":      {Points: [][2]float64{{1, 2}}, Labels: []int{1, 0}},
		"label value": {Points: [][2]float64{{1, 2}}, Labels: []int{2}},
		"nan point":   {Points: [][2]float64{{nan, 2}}, Labels: []int{1}},
		"inf box":     {Box: &[4]float64{0, 0, math.Inf(1), 3}},
		"mask size":   {Points: [][2]float64{{1, 2}}, Labels: []int{1}, MaskInput: tensor.New(1, 32, 32)},
		"mask rank":   {Points: [][2]float64{{1, 2}}, Labels: []int{1}, MaskInput: tensor.New(4096)},
	} {
		if _, err := p.Predict(pr); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	res, err := p.Predict(Prompt{Points: [][2]float64{{10, 5}}, Labels: []int{1}, Multimask: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Masks) != 3 || len(res.Masks[0]) != 20*30 || !tensor.EqualShape(res.LowRes.Shape(), []int{3, 64, 64}) {
		t.Errorf("result shapes: %d masks of %d, low-res %v", len(res.Masks), len(res.Masks[0]), res.LowRes.Shape())
	}
}

func TestPreprocessShapeAndCoords(t *testing.T) {
	for _, tc := range []struct{ h, w, long, nh, nw int }{
		{200, 300, 256, 171, 256}, // 200*256/300 = 170.67 -> 171
		{1024, 1024, 1024, 1024, 1024},
		{480, 640, 1024, 768, 1024},
		{3, 1000, 1024, 3, 1024}, // 3.072 -> 3
		{1000, 5, 1024, 1024, 5}, // 5.12 -> 5
	} {
		if nh, nw := PreprocessShape(tc.h, tc.w, tc.long); nh != tc.nh || nw != tc.nw {
			t.Errorf("%dx%d -> %dx%d, want %dx%d", tc.h, tc.w, nh, nw, tc.nh, tc.nw)
		}
	}
	// Per-axis scaling: x by 256/300, y by 171/200.
	got := ApplyCoords([]float64{300, 200}, 200, 300, 256)
	if got[0] != 256 || got[1] != 171 {
		t.Errorf("corner maps to %v, want [256 171]", got)
	}
}

// TestPreprocessMatchesOfficialInput normalises and pads the official resized image and
// compares with the official encoder input (the resize itself is checked elsewhere).
func TestPreprocessMatchesOfficialInput(t *testing.T) {
	v := tinyVectors(t)
	r := v.get("resized_uint8_HWC")
	im := RGB{H: r.Dim(0), W: r.Dim(1), Pix: make([]uint8, r.Numel())}
	for i, f := range r.Data {
		im.Pix[i] = uint8(f)
	}
	x, err := Preprocess(im, 256)
	if err != nil {
		t.Fatal(err)
	}
	if e := compare("encoder_input", x, v.get("encoder_input_1x3xSxS"), 1e-6); e.bad != 0 {
		t.Errorf("encoder input: %d values differ (max abs %g)", e.bad, e.maxAbs)
	}
	if _, err := Preprocess(im, 128); err == nil {
		t.Error("image larger than the input size accepted")
	}
}

// TestLoadOfficialPth loads the PyTorch zip checkpoint (what the official code saves) and
// checks every tensor equals the .npz export of the same state dict.
func TestLoadOfficialPth(t *testing.T) {
	dir := tinyVectors(t).dir
	m, err := Load(filepath.Join(dir, "weights.pth"), "")
	if err != nil {
		t.Fatal(err)
	}
	ref := loadTiny(t)
	for _, p := range ref.Params.List() {
		q := m.Params.Get(p.Name)
		if q == nil {
			t.Fatalf("%s missing", p.Name)
		}
		for i, v := range p.T.Data {
			if q.T.Data[i] != v {
				t.Fatalf("%s[%d]: %g from .pth, %g from .npz", p.Name, i, q.T.Data[i], v)
			}
		}
	}
}

// TestCustomConfigsFastEqualsTape builds custom encoders (no relative positions, no
// absolute positions, all-global attention, windows that need padding on a rectangular
// input) and checks that the fused inference path equals the recorded path, two
// independent implementations of the same arithmetic.
func TestCustomConfigsFastEqualsTape(t *testing.T) {
	base := EncoderConfig{ImgSize: 64, PatchSize: 8, InChans: 3, EmbedDim: 32, Depth: 3, Heads: 4, MLPRatio: 2,
		OutChans: 16, WindowSize: 3, GlobalAttnIndexes: []int{1}, UseAbsPos: true, UseRelPos: true}
	for _, tc := range []struct {
		name string
		mod  func(c *EncoderConfig)
		h, w int
	}{
		{"default", func(c *EncoderConfig) {}, 64, 64},
		{"rectangular", func(c *EncoderConfig) {}, 48, 80},
		{"no-relpos", func(c *EncoderConfig) { c.UseRelPos = false }, 64, 64},
		{"no-abspos", func(c *EncoderConfig) { c.UseAbsPos = false }, 64, 64},
		{"all-global", func(c *EncoderConfig) { c.WindowSize = 0; c.GlobalAttnIndexes = nil }, 64, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.GlobalAttnIndexes = append([]int(nil), base.GlobalAttnIndexes...)
			tc.mod(&c)
			ps := nn.NewParams(7)
			e := NewImageEncoder(ps.Root(), c)
			// Perturb the zero-initialised tables so that they matter.
			for _, p := range ps.List() {
				if strings.Contains(p.Name, "rel_pos") || strings.HasSuffix(p.Name, "pos_embed") {
					for i := range p.T.Data {
						p.T.Data[i] = float32(math.Sin(float64(i)*0.37)) * 0.1
					}
				}
			}
			x := tensor.New(1, 3, tc.h, tc.w)
			for i := range x.Data {
				x.Data[i] = float32(math.Cos(float64(i) * 0.05))
			}
			fast := e.Forward(nil, x)
			tape := e.Forward(ag.NewTape(), x)
			if !tensor.EqualShape(fast.Shape(), []int{1, 16, tc.h / 8, tc.w / 8}) {
				t.Fatalf("shape %v", fast.Shape())
			}
			if r := compare(tc.name, fast, tape, 1e-5); r.bad != 0 {
				t.Errorf("fast and tape paths differ: %d values, max abs %g", r.bad, r.maxAbs)
			}
		})
	}
}

// TestCustomDecoderFastEqualsTape does the same for custom decoders (one layer, other
// head counts and downsampling, two multimask outputs, a batch of prompts with a mask).
func TestCustomDecoderFastEqualsTape(t *testing.T) {
	for _, d := range []DecoderConfig{
		{TransformerDim: 32, Depth: 1, Heads: 4, MLPDim: 48, AttnDownsample: 1, NumMultimaskOutputs: 2, IoUHeadDepth: 2, IoUHeadHidden: 24},
		{TransformerDim: 64, Depth: 3, Heads: 2, MLPDim: 32, AttnDownsample: 4, NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 16},
	} {
		pc := PromptConfig{EmbedDim: d.TransformerDim, ImageEmbeddingSize: 8, InputImageSize: 128, MaskInChans: 8}
		ps := nn.NewParams(3)
		pe := NewPromptEncoder(ps.Root().Sub("prompt_encoder"), pc)
		dec := NewMaskDecoder(ps.Root().Sub("mask_decoder"), d)
		for _, p := range ps.List() { // LayerNorms start at 1/0: perturb them
			if strings.Contains(p.Name, "norm") || strings.Contains(p.Name, "upscaling.1") || strings.Contains(p.Name, "downscaling.1") {
				for i := range p.T.Data {
					p.T.Data[i] += float32(math.Sin(float64(i)*0.7)) * 0.1
				}
			}
		}
		emb := tensor.New(1, d.TransformerDim, 8, 8)
		for i := range emb.Data {
			emb.Data[i] = float32(math.Cos(float64(i) * 0.11))
		}
		pts := &Points{Coords: tensor.FromSlice([]float32{10, 20, 90, 40, 50, 60, 5, 100}, 2, 2, 2), Labels: [][]int{{1, 0}, {1, -1}}}
		mask := tensor.New(2, 1, 32, 32)
		for i := range mask.Data {
			mask.Data[i] = float32(math.Sin(float64(i) * 0.03))
		}
		var outs [2][2]*tensor.Tensor
		for k, tp := range []*ag.Tape{nil, ag.NewTape()} {
			sp, de := pe.Forward(tp, pts, nil, mask)
			o := dec.ForwardAll(tp, emb, pe.DensePE(), sp, de)
			outs[k] = [2]*tensor.Tensor{o.Masks, o.IoU}
		}
		if !tensor.EqualShape(outs[0][0].Shape(), []int{2, d.NumMultimaskOutputs + 1, 32, 32}) {
			t.Fatalf("masks %v", outs[0][0].Shape())
		}
		for j, name := range []string{"masks", "iou"} {
			if r := compare(name, outs[0][j], outs[1][j], 1e-5); r.bad != 0 {
				t.Errorf("%+v: %s differ between paths (max abs %g)", d, name, r.maxAbs)
			}
		}
	}
}

// TestDecoderHeadsOverride: a custom decoder with 4 heads on a width of 32 has the shapes
// of the guessed 2 heads; LoadOptions.DecoderHeads restores the model exactly (its
// predictions equal the original's), while the guess loads but predicts otherwise.
func TestDecoderHeadsOverride(t *testing.T) {
	cfg := tinyTestConfig()
	cfg.Decoder.Heads = 4
	orig := New(cfg, 9)
	sd := orig.Params.StateDict()
	guessed, err := DetectConfig(sd)
	if err != nil {
		t.Fatal(err)
	}
	if guessed.Decoder.Heads != 32/16 {
		t.Fatalf("guess %d heads, the documented width/16 is 2", guessed.Decoder.Heads)
	}
	m, err := FromStateDictWith(sd, LoadOptions{DecoderHeads: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config; got.Decoder != cfg.Decoder || got.Prompt != cfg.Prompt || got.Encoder.EmbedDim != cfg.Encoder.EmbedDim {
		t.Fatalf("config %+v, want %+v", got, cfg)
	}
	mc, err := FromStateDictWith(sd, LoadOptions{ModelType: "custom", DecoderHeads: 4})
	if err != nil || mc.Config.Decoder.Heads != 4 {
		t.Fatalf("custom with 4 heads: %v", err)
	}
	mg, err := FromStateDict(sd, "")
	if err != nil {
		t.Fatal(err)
	}
	im := RGB{H: 20, W: 30, Pix: make([]uint8, 20*30*3)}
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 37 % 251)
	}
	predict := func(m *Model) []float32 {
		p := NewPredictor(m)
		if err := p.SetImage(context.Background(), im); err != nil {
			t.Fatal(err)
		}
		r, err := p.Predict(Prompt{Points: [][2]float64{{7, 5}}, Labels: []int{1}, Multimask: true})
		if err != nil {
			t.Fatal(err)
		}
		return r.Logits.Data
	}
	want := predict(orig)
	if got := predict(m); !slices.Equal(got, want) {
		t.Fatal("the model loaded with 4 heads predicts differently from the original")
	}
	if slices.Equal(predict(mg), want) {
		t.Fatal("the guessed 2 heads predict like 4: the test cannot tell the head counts apart")
	}
	for _, c := range []struct {
		name string
		o    LoadOptions
		want string
	}{
		{"negative", LoadOptions{DecoderHeads: -1}, "decoder heads -1"},
		{"not dividing", LoadOptions{DecoderHeads: 3}, "do not divide"},
		{"official type", LoadOptions{ModelType: "vit_b", DecoderHeads: 4}, "vit_b has 8 decoder heads"},
	} {
		if _, err := FromStateDictWith(sd, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
