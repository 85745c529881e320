package sam

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

const parityTol = 1e-4 // rtol and atol, as the issue asks

// vectors reads the sam-tiny reference arrays.
type vectors struct {
	t   testing.TB
	dir string
}

func tinyVectors(t testing.TB) vectors {
	return vectors{t: t, dir: testref.Dir(t, "vectors/sam-tiny")}
}

func (v vectors) get(name string) *tensor.Tensor {
	v.t.Helper()
	a, err := npy.ReadFile(filepath.Join(v.dir, name+".npy"))
	if err != nil {
		v.t.Fatalf("reading %s: %v", name, err)
	}
	x, err := a.Tensor()
	if err != nil {
		v.t.Fatalf("reading %s: %v", name, err)
	}
	return x
}

var (
	tinyOnce  sync.Once
	tinyModel *Model
	tinyErr   error
)

// loadTiny loads the tiny model (detecting its config from the shapes).
func loadTiny(t testing.TB) *Model {
	t.Helper()
	dir := testref.Dir(t, "vectors/sam-tiny")
	tinyOnce.Do(func() { tinyModel, tinyErr = Load(filepath.Join(dir, "weights.npz"), "") })
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyModel
}

// stageErr records the largest errors of one compared stage.
type stageErr struct {
	name           string
	maxAbs, maxRel float64
	bad            int
	n              int
}

// compare checks got against want elementwise with |g-w| <= atol + rtol|w|.
func compare(name string, got, want *tensor.Tensor, tol float64) stageErr {
	e := stageErr{name: name, n: want.Numel()}
	if got.Numel() != want.Numel() {
		e.bad = -1
		return e
	}
	for i, w := range want.Data {
		g := float64(got.Data[i])
		d := math.Abs(g - float64(w))
		if d != d {
			e.bad++
			continue
		}
		if d > e.maxAbs {
			e.maxAbs = d
		}
		if r := d / math.Max(math.Abs(float64(w)), 1e-3); r > e.maxRel {
			e.maxRel = r
		}
		if d > tol+tol*math.Abs(float64(w)) {
			e.bad++
		}
	}
	return e
}

type report struct {
	t      *testing.T
	stages []stageErr
}

func (r *report) check(name string, got, want *tensor.Tensor) {
	r.t.Helper()
	if !tensor.EqualShape(got.Shape(), want.Shape()) && got.Numel() != want.Numel() {
		r.t.Errorf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
		return
	}
	e := compare(name, got, want, parityTol)
	r.stages = append(r.stages, e)
	if e.bad != 0 {
		r.t.Errorf("%s: %d of %d values outside rtol=atol=%g (max abs %.3g, max rel %.3g)", name, e.bad, e.n, parityTol, e.maxAbs, e.maxRel)
	}
}

func (r *report) log() {
	var b strings.Builder
	for _, s := range r.stages {
		fmt.Fprintf(&b, "\n  %-44s max abs %.3e  max rel %.3e", s.name, s.maxAbs, s.maxRel)
	}
	r.t.Logf("largest errors per stage:%s", b.String())
}

func TestDetectTinyConfig(t *testing.T) {
	m := loadTiny(t)
	c := m.Config
	want := EncoderConfig{ImgSize: 256, PatchSize: 16, InChans: 3, EmbedDim: 64, Depth: 2, Heads: 2, MLPRatio: 4,
		OutChans: 32, WindowSize: 7, GlobalAttnIndexes: []int{1}, UseAbsPos: true, UseRelPos: true}
	if fmt.Sprint(c.Encoder) != fmt.Sprint(want) {
		t.Errorf("encoder config %+v, want %+v", c.Encoder, want)
	}
	wp := PromptConfig{EmbedDim: 32, ImageEmbeddingSize: 16, InputImageSize: 256, MaskInChans: 4}
	if c.Prompt != wp {
		t.Errorf("prompt config %+v, want %+v", c.Prompt, wp)
	}
	wd := DecoderConfig{TransformerDim: 32, Depth: 2, Heads: 2, MLPDim: 64, AttnDownsample: 2, NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 32}
	if c.Decoder != wd {
		t.Errorf("decoder config %+v, want %+v", c.Decoder, wd)
	}
}

// TestEncoderParity compares every encoder stage, on both the fused inference path (nil
// tape) and the recorded path (a tape), with the official outputs.
func TestEncoderParity(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	x := v.get("encoder_input_1x3xSxS")
	for _, path := range []struct {
		name string
		tp   *ag.Tape
	}{{"fast", nil}, {"tape", ag.NewTape()}} {
		t.Run(path.name, func(t *testing.T) {
			r := &report{t: t}
			got := map[string]*tensor.Tensor{}
			m.Encoder.Hook = func(name string, x *tensor.Tensor) { got[name] = x.Clone() }
			defer func() { m.Encoder.Hook = nil }()
			emb := m.Encoder.Forward(path.tp, x)
			r.check("enc_patch_embed", got["patch_embed"], v.get("enc_patch_embed"))
			r.check("enc_block00_out", got["block00"], v.get("enc_block00_out"))
			r.check("enc_block01_out", got["block01"], v.get("enc_block01_out"))
			r.check("image_embedding", emb, v.get("image_embedding"))
			r.log()
		})
	}
}

type tinyCase struct {
	name      string
	points    bool
	box       bool
	mask      bool
	multimask bool
}

var tinyCases = []tinyCase{
	{"point1_multi", true, false, false, true},
	{"point1_single", true, false, false, false},
	{"box_only", false, true, false, false},
	{"points2_box_mask", true, true, true, false},
}

// TestPromptDecoderParity runs every prompt case through the prompt encoder, the decoder and
// the postprocessing, on the embedding our encoder computed.
func TestPromptDecoderParity(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	emb := m.Encoder.Forward(nil, v.get("encoder_input_1x3xSxS"))
	r0 := &report{t: t}
	pe := m.Prompt.DensePE()
	r0.check("dense_pe", pe, v.get("dense_pe"))
	r0.log()
	const origH, origW = 200, 300
	for _, path := range []struct {
		name string
		tp   *ag.Tape
	}{{"fast", nil}, {"tape", ag.NewTape()}} {
		for _, tc := range tinyCases {
			t.Run(path.name+"/"+tc.name, func(t *testing.T) {
				tp := path.tp
				r := &report{t: t}
				var points *Points
				var box, mask *tensor.Tensor
				if tc.points {
					orig := v.get(tc.name + "__point_coords_orig")
					xy := make([]float64, orig.Numel())
					for i, f := range orig.Data {
						xy[i] = float64(f)
					}
					coords := CoordsTensor(xy, origH, origW, 256)
					r.check(tc.name+"__point_coords_model", coords, v.get(tc.name+"__point_coords_model"))
					lab := v.get(tc.name + "__point_labels")
					labels := make([]int, lab.Numel())
					for i, l := range lab.Data {
						labels[i] = int(l)
					}
					points = &Points{Coords: coords, Labels: [][]int{labels}}
				}
				if tc.box {
					orig := v.get(tc.name + "__box_orig")
					b := make([]float64, 4)
					for i, f := range orig.Data {
						b[i] = float64(f)
					}
					box = tensor.FromSlice(ApplyBoxes(b, origH, origW, 256), 1, 4)
					r.check(tc.name+"__box_model", box, v.get(tc.name+"__box_model"))
				}
				if tc.mask {
					mask = v.get(tc.name+"__mask_input").Reshape(1, 1, 64, 64)
				}
				sparse, dense := m.Prompt.Forward(tp, points, box, mask)
				r.check(tc.name+"__sparse_embeddings", sparse, v.get(tc.name+"__sparse_embeddings"))
				r.check(tc.name+"__dense_embeddings", dense, v.get(tc.name+"__dense_embeddings"))
				o := m.Decoder.ForwardAll(tp, emb, pe, sparse, dense)
				r.check(tc.name+"__dec_transformer_queries", o.Queries, v.get(tc.name+"__dec_transformer_queries"))
				r.check(tc.name+"__dec_transformer_keys", o.Keys, v.get(tc.name+"__dec_transformer_keys"))
				low, iou := m.Decoder.Forward(tp, emb, pe, sparse, dense, tc.multimask)
				r.check(tc.name+"__low_res_masks", low, v.get(tc.name+"__low_res_masks"))
				r.check(tc.name+"__iou_predictions", iou, v.get(tc.name+"__iou_predictions"))
				logits := PostprocessMasks(tp, low, 256, 171, 256, origH, origW)
				r.check(tc.name+"__masks_logits_orig_size", logits, v.get(tc.name+"__masks_logits_orig_size"))
				r.log()
			})
		}
	}
}

// TestPredictorParity runs the predictor end to end from the official encoder input and
// checks its outputs for every case, then checks concurrent Predict calls agree.
func TestPredictorParity(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	p := NewPredictor(m)
	if _, err := p.Predict(Prompt{Points: [][2]float64{{1, 1}}, Labels: []int{1}}); err != ErrNoImage {
		t.Fatalf("Predict before SetImage: %v, want ErrNoImage", err)
	}
	if err := p.SetEncoderInput(context.Background(), v.get("encoder_input_1x3xSxS"), 200, 300); err != nil {
		t.Fatal(err)
	}
	if h, w := p.InputSize(); h != 171 || w != 256 {
		t.Fatalf("input size %dx%d, want 171x256", h, w)
	}
	prompts := map[string]Prompt{}
	for _, tc := range tinyCases {
		var pr Prompt
		pr.Multimask = tc.multimask
		if tc.points {
			c := v.get(tc.name + "__point_coords_orig")
			l := v.get(tc.name + "__point_labels")
			for i := range l.Numel() {
				pr.Points = append(pr.Points, [2]float64{float64(c.Data[2*i]), float64(c.Data[2*i+1])})
				pr.Labels = append(pr.Labels, int(l.Data[i]))
			}
		}
		if tc.box {
			b := v.get(tc.name + "__box_orig")
			pr.Box = &[4]float64{float64(b.Data[0]), float64(b.Data[1]), float64(b.Data[2]), float64(b.Data[3])}
		}
		if tc.mask {
			pr.MaskInput = v.get(tc.name + "__mask_input")
		}
		prompts[tc.name] = pr
	}
	results := map[string]*Prediction{}
	for _, tc := range tinyCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Predict(prompts[tc.name])
			if err != nil {
				t.Fatal(err)
			}
			results[tc.name] = res
			r := &report{t: t}
			r.check("logits", res.Logits, v.get(tc.name+"__masks_logits_orig_size"))
			r.check("low_res", res.LowRes, v.get(tc.name+"__low_res_masks"))
			r.check("iou", tensor.FromSlice(res.IoU, 1, len(res.IoU)), v.get(tc.name+"__iou_predictions"))
			// Binary masks: every pixel whose reference logit is clearly away from 0 agrees.
			ref := v.get(tc.name + "__masks_logits_orig_size")
			bin := v.get(tc.name + "__masks_binary_orig_size")
			hw := 200 * 300
			for i, mk := range res.Masks {
				for j, b := range mk {
					k := i*hw + j
					if math.Abs(float64(ref.Data[k])) > 1e-3 && b != (bin.Data[k] != 0) {
						t.Fatalf("mask %d pixel %d: %v, reference %v (logit %g)", i, j, b, bin.Data[k], ref.Data[k])
					}
				}
			}
		})
	}
	// Concurrent predictions on one embedding give the sequential results bit for bit.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	names := make([]string, 0, len(prompts))
	for n := range prompts {
		names = append(names, n)
	}
	sort.Strings(names)
	for i := range 8 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := names[i%len(names)]
			res, err := p.Predict(prompts[n])
			if err != nil {
				errs <- err
				return
			}
			want := results[n]
			if want == nil {
				return
			}
			for j, x := range res.Logits.Data {
				if x != want.Logits.Data[j] {
					errs <- fmt.Errorf("%s: concurrent logits differ at %d: %g vs %g", n, j, x, want.Logits.Data[j])
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSetImageEndToEnd starts from the original uint8 image: SetImage (exact PIL resize,
// normalisation, padding, encoder) must give the official embedding, and Predict the
// official logits.
func TestSetImageEndToEnd(t *testing.T) {
	m := loadTiny(t)
	v := tinyVectors(t)
	img := v.get("image_uint8_HWC")
	im := RGB{H: img.Dim(0), W: img.Dim(1), Pix: make([]uint8, img.Numel())}
	for i, f := range img.Data {
		im.Pix[i] = uint8(f)
	}
	p := NewPredictor(m)
	if err := p.SetImage(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	r := &report{t: t}
	r.check("image_embedding (from uint8)", p.Embedding(), v.get("image_embedding"))
	res, err := p.Predict(Prompt{Points: [][2]float64{{105, 90}}, Labels: []int{1}, Multimask: true})
	if err != nil {
		t.Fatal(err)
	}
	r.check("point1_multi logits (from uint8)", res.Logits, v.get("point1_multi__masks_logits_orig_size"))
	r.log()
}
