package sam

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

func TestStabilityScoreHand(t *testing.T) {
	// > 1: {2, 1.5}; > -1: {2, 0.5, -0.5, 1.5} -> 2/4.
	if s := StabilityScore([]float32{2, 0.5, -0.5, -2, 1.5, -1}, 0, 1); s != 0.5 {
		t.Fatalf("stability %g, want 0.5", s)
	}
	if s := StabilityScore([]float32{-3, -2}, 0, 1); !math.IsNaN(float64(s)) {
		t.Fatalf("empty union gives %g, want NaN (0/0 as torch)", s)
	}
}

func TestNMSHand(t *testing.T) {
	boxes := [][4]float32{{0, 0, 10, 10}, {1, 1, 11, 11}, {0, 0, 10, 9}}
	scores := []float32{0.9, 0.8, 0.95}
	// Box 2 first; box 0 has IoU 90/100 = 0.9 with it (dropped); box 1 has
	// 72/(90+100-72) = 0.61 with box 2 (kept).
	if k := NMS(boxes, scores, 0.7); !slices.Equal(k, []int{2, 1}) {
		t.Fatalf("keep %v, want [2 1]", k)
	}
	// At 0.95 nothing overlaps enough; order is by score.
	if k := NMS(boxes, scores, 0.95); !slices.Equal(k, []int{2, 0, 1}) {
		t.Fatalf("keep %v, want [2 0 1]", k)
	}
	// IoU exactly at the threshold is kept (strictly greater suppresses).
	if k := NMS([][4]float32{{0, 0, 2, 1}, {0, 0, 1, 1}}, []float32{1, 0.5}, 0.5); !slices.Equal(k, []int{0, 1}) {
		t.Fatalf("keep %v, want [0 1]", k)
	}
}

func TestMaskToBoxHand(t *testing.T) {
	m := make([]bool, 4*5)
	m[1*5+2], m[3*5+1], m[2*5+3] = true, true, true
	if b := MaskToBox(m, 4, 5); b != [4]int{1, 1, 3, 3} {
		t.Fatalf("box %v, want [1 1 3 3]", b)
	}
	if b := MaskToBox(make([]bool, 6), 2, 3); b != [4]int{} {
		t.Fatalf("empty box %v, want zeros", b)
	}
}

func TestGenerateCropBoxesHand(t *testing.T) {
	// 100x200, overlap int(0.25*100*2/2) = 25, crop w ceil(225/2) = 113, h ceil(125/2) = 63.
	b, l := GenerateCropBoxes(100, 200, 1, 0.25)
	want := [][4]int{{0, 0, 200, 100}, {0, 0, 113, 63}, {0, 38, 113, 100}, {88, 0, 200, 63}, {88, 38, 200, 100}}
	if !slices.Equal(b, want) || !slices.Equal(l, []int{0, 1, 1, 1, 1}) {
		t.Fatalf("crops %v layers %v, want %v", b, l, want)
	}
}

func TestPointGrid(t *testing.T) {
	g := BuildPointGrid(2)
	want := [][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}}
	if !slices.Equal(g, want) {
		t.Fatalf("grid %v, want %v", g, want)
	}
	g = BuildPointGrid(32)
	if len(g) != 1024 || g[0] != [2]float64{1.0 / 64, 1.0 / 64} || g[1023] != [2]float64{1 - 1.0/64, 1 - 1.0/64} {
		t.Fatalf("32-grid: %d points, first %v last %v", len(g), g[0], g[1023])
	}
	if gs := BuildAllLayerPointGrids(32, 2, 2); len(gs[1]) != 256 || len(gs[2]) != 64 {
		t.Fatalf("layer grids %d, %d points, want 256, 64", len(gs[1]), len(gs[2]))
	}
	if g := BuildPointGrid(1); g[0] != [2]float64{0.5, 0.5} {
		t.Fatalf("1-grid %v", g)
	}
}

func parseMask(rows ...string) ([]bool, int, int) {
	var m []bool
	for _, r := range rows {
		for _, c := range r {
			m = append(m, c == '#')
		}
	}
	return m, len(rows), len(rows[0])
}

func TestRemoveSmallRegionsHand(t *testing.T) {
	m, h, w := parseMask(
		"#####...",
		"#.###...",
		"#####..#",
		"......#.",
		"##......",
	)
	// Holes: the one-pixel hole at (1,1) is filled; the big background stays.
	want, _, _ := parseMask(
		"#####...",
		"#####...",
		"#####..#",
		"......#.",
		"##......",
	)
	got, changed := RemoveSmallRegions(m, h, w, 3, true)
	if !changed || !slices.Equal(got, want) {
		t.Fatalf("holes: changed %v, mask %v", changed, got)
	}
	// Islands: the diagonal pair (8-connected, size 2) and the 2-pixel bar go.
	want, _, _ = parseMask(
		"#####...",
		"#.###...",
		"#####...",
		"........",
		"........",
	)
	got, changed = RemoveSmallRegions(m, h, w, 3, false)
	if !changed || !slices.Equal(got, want) {
		t.Fatalf("islands: changed %v, mask %v", changed, got)
	}
	// All islands small: the largest (first in raster order on a tie) is kept.
	got, changed = RemoveSmallRegions(m, h, w, 100, false)
	want, _, _ = parseMask(
		"#####...",
		"#.###...",
		"#####...",
		"........",
		"........",
	)
	if !changed || !slices.Equal(got, want) {
		t.Fatalf("all small: changed %v, mask %v", changed, got)
	}
	if _, changed := RemoveSmallRegions(m, h, w, 1, false); changed {
		t.Fatal("area 1 changed the mask")
	}
}

func TestBoxNearCropEdge(t *testing.T) {
	crop := [4]int{100, 0, 300, 200} // image 400 x 200
	for _, c := range []struct {
		box  [4]int
		want bool
	}{
		{[4]int{50, 50, 100, 100}, false}, // inside
		{[4]int{10, 50, 100, 100}, true},  // near the crop's left edge (x 110 vs 100)
		{[4]int{50, 0, 100, 100}, false},  // at the top, which is also the image's edge
		{[4]int{50, 50, 185, 100}, true},  // right edge x 285 vs 300
	} {
		if got := boxNearCropEdge(c.box, crop, 400, 200); got != c.want {
			t.Errorf("box %v: %v, want %v", c.box, got, c.want)
		}
	}
}

func TestMaskGeneratorOptionsErrors(t *testing.T) {
	p := NewPredictor(New(tinyTestConfig(), 1))
	for name, mod := range map[string]func(*AMGOptions){
		"zero side":   func(o *AMGOptions) { o.PointsPerSide = 0 },
		"zero batch":  func(o *AMGOptions) { o.PointsPerBatch = 0 },
		"bad mode":    func(o *AMGOptions) { o.OutputMode = "png" },
		"grids":       func(o *AMGOptions) { o.PointGrids = [][][2]float64{{{0.5, 0.5}}}; o.CropNLayers = 1 },
		"nan":         func(o *AMGOptions) { o.PredIoUThresh = math.NaN() },
		"overlap":     func(o *AMGOptions) { o.CropOverlapRatio = 1 },
		"neg layers":  func(o *AMGOptions) { o.CropNLayers = -1 },
		"neg min":     func(o *AMGOptions) { o.MinMaskRegionArea = -1 },
		"zero factor": func(o *AMGOptions) { o.CropNPointsDownscaleFactor = 0 },
		"huge side":   func(o *AMGOptions) { o.PointsPerSide = 100000 },
		"side 1025":   func(o *AMGOptions) { o.PointsPerSide = MaxPointsPerSide + 1 },
		"huge batch":  func(o *AMGOptions) { o.PointsPerBatch = 1 << 30 },
		"grid range":  func(o *AMGOptions) { o.PointGrids = [][][2]float64{{{0.5, 1.5}}} },
		"grid nan":    func(o *AMGOptions) { o.PointGrids = [][][2]float64{{{math.NaN(), 0.5}}} },
		"grid size": func(o *AMGOptions) {
			o.PointGrids = [][][2]float64{make([][2]float64, MaxPointsPerSide*MaxPointsPerSide+1)}
		},
	} {
		o := DefaultAMGOptions()
		mod(&o)
		if _, err := NewMaskGenerator(p, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The limits themselves are accepted.
	o := DefaultAMGOptions()
	o.PointsPerSide, o.PointsPerBatch = MaxPointsPerSide, MaxPointsPerBatch
	if g, err := NewMaskGenerator(p, o); err != nil || len(g.grids[0]) != MaxPointsPerSide*MaxPointsPerSide {
		t.Fatalf("points per side %d: %v", MaxPointsPerSide, err)
	}
}

// tinyTestConfig is the sam-tiny vectors' configuration.
func tinyTestConfig() Config {
	return Config{
		Type: "custom",
		Encoder: EncoderConfig{ImgSize: 256, PatchSize: 16, InChans: 3, EmbedDim: 64, Depth: 2, Heads: 2,
			MLPRatio: 4, OutChans: 32, WindowSize: 7, GlobalAttnIndexes: []int{1}, UseAbsPos: true, UseRelPos: true},
		Prompt: PromptConfig{EmbedDim: 32, ImageEmbeddingSize: 16, InputImageSize: 256, MaskInChans: 4},
		Decoder: DecoderConfig{TransformerDim: 32, Depth: 2, Heads: 2, MLPDim: 64, AttnDownsample: 2,
			NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 32},
	}
}

// checkRecords checks what every record must satisfy whatever the model.
func checkRecords(t *testing.T, recs []MaskRecord, o AMGOptions, h, w int) {
	t.Helper()
	for i, r := range recs {
		m, err := r.RLE.Decode()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if o.OutputMode == OutputBinaryMask && !slices.Equal(m, r.Segmentation) {
			t.Fatalf("record %d: segmentation differs from its RLE", i)
		}
		area := 0
		for _, v := range m {
			if v {
				area++
			}
		}
		if area != r.Area || area == 0 {
			t.Fatalf("record %d: area %d, mask has %d pixels", i, r.Area, area)
		}
		b := MaskToBox(m, h, w)
		if r.BBox != [4]int{b[0], b[1], b[2] - b[0], b[3] - b[1]} {
			t.Fatalf("record %d: bbox %v, mask box %v", i, r.BBox, b)
		}
		if o.PredIoUThresh > 0 && !(float32(r.PredictedIoU) > float32(o.PredIoUThresh)) {
			t.Fatalf("record %d: predicted IoU %g not above %g", i, r.PredictedIoU, o.PredIoUThresh)
		}
		if o.StabilityScoreThresh > 0 && !(float32(r.StabilityScore) >= float32(o.StabilityScoreThresh)) {
			t.Fatalf("record %d: stability %g below %g", i, r.StabilityScore, o.StabilityScoreThresh)
		}
		cb := r.CropBox
		pt := r.PointCoords[0]
		if len(r.PointCoords) != 1 || pt[0] < float64(cb[0]) || pt[0] > float64(cb[0]+cb[2]) || pt[1] < float64(cb[1]) || pt[1] > float64(cb[1]+cb[3]) {
			t.Fatalf("record %d: point %v outside its crop %v", i, r.PointCoords, cb)
		}
	}
}

func tinyImage(t *testing.T) RGB {
	dir := testref.Dir(t, "vectors/sam-tiny")
	return RGB{H: 200, W: 300, Pix: readU8(t, filepath.Join(dir, "image_uint8_HWC.npy"), 200, 300, 3)}
}

// TestMaskGeneratorTiny runs the generator on the sam-tiny weights and checks each
// whole-image record against an independent Predict with its point.
func TestMaskGeneratorTiny(t *testing.T) {
	m := loadTiny(t)
	im := tinyImage(t)
	p := NewPredictor(m)
	o := DefaultAMGOptions()
	// Random weights: logits are ~0.04 in size and predicted IoUs small, so the official
	// thresholds would keep nothing; scale them to the model.
	// The masks of a random model all span most of the image: no box NMS (IoU is never
	// above 1) so that several survive.
	o.PointsPerSide, o.PointsPerBatch, o.BoxNMSThresh = 6, 7, 1
	o.PredIoUThresh, o.StabilityScoreThresh, o.StabilityScoreOffset = 0.1, 0.01, 0.005
	g, err := NewMaskGenerator(p, o)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := g.Generate(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records", len(recs))
	if len(recs) < 2 {
		t.Fatalf("%d records, want several", len(recs))
	}
	checkRecords(t, recs, o, im.H, im.W)
	// Masks overlapping more than the NMS threshold cannot both survive.
	for i := range recs {
		for j := range i {
			a, b := recs[i].BBox, recs[j].BBox
			bi := [4]float32{float32(a[0]), float32(a[1]), float32(a[0] + a[2]), float32(a[1] + a[3])}
			bj := [4]float32{float32(b[0]), float32(b[1]), float32(b[0] + b[2]), float32(b[1] + b[3])}
			if k := NMS([][4]float32{bj, bi}, []float32{1, 0}, o.BoxNMSThresh); len(k) != 2 {
				t.Fatalf("records %d and %d overlap above the NMS threshold", j, i)
			}
		}
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].PredictedIoU > recs[i-1].PredictedIoU {
			t.Fatalf("records not in descending IoU order at %d", i)
		}
	}
	// Each record is one of the three masks Predict gives for its point, with its IoU and
	// stability score.
	for i, r := range recs {
		res, err := p.Predict(Prompt{Points: [][2]float64{r.PointCoords[0]}, Labels: []int{1}, Multimask: true})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for k, mk := range res.Masks {
			if slices.Equal(mk, r.Segmentation) && float64(res.IoU[k]) == r.PredictedIoU {
				hw := im.H * im.W
				s := StabilityScore(res.Logits.Data[k*hw:(k+1)*hw], 0, float32(o.StabilityScoreOffset))
				if float64(s) != r.StabilityScore {
					t.Fatalf("record %d: stability %g, Predict's mask gives %g", i, r.StabilityScore, s)
				}
				found = true
			}
		}
		if !found {
			t.Fatalf("record %d (point %v) is none of Predict's masks", i, r.PointCoords)
		}
	}
}

// TestMaskGeneratorCrop checks one crop's masks (a crop whose top edge is inside the
// image) against Predict on the cropped image: uncropped masks, boxes and points.
func TestMaskGeneratorCrop(t *testing.T) {
	m := loadTiny(t)
	im := tinyImage(t)
	p := NewPredictor(m)
	o := DefaultAMGOptions()
	o.PointsPerSide, o.BoxNMSThresh = 8, 1
	o.PredIoUThresh, o.StabilityScoreThresh, o.StabilityScoreOffset = 0, 0, 0.005
	g, err := NewMaskGenerator(p, o)
	if err != nil {
		t.Fatal(err)
	}
	crop := [4]int{0, 50, 300, 200}
	cands, err := g.processCrop(context.Background(), im, crop, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) < 3 {
		t.Fatalf("%d masks from the crop, want several", len(cands))
	}
	ch, cw := crop[3]-crop[1], crop[2]-crop[0]
	for i, c := range cands {
		full, err := c.rle.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if c.rle.H != im.H || c.rle.W != im.W || MaskToBox(full, im.H, im.W) != c.box || c.crop != crop {
			t.Fatalf("mask %d: %dx%d RLE, box %v (mask box %v), crop %v", i, c.rle.H, c.rle.W, c.box, MaskToBox(full, im.H, im.W), c.crop)
		}
		if c.box[1] < crop[1]+20 {
			t.Fatalf("mask %d: box %v within 20 pixels of the crop's top edge", i, c.box)
		}
		// The predictor still holds the cropped image.
		res, err := p.Predict(Prompt{Points: [][2]float64{{c.point[0] - float64(crop[0]), c.point[1] - float64(crop[1])}}, Labels: []int{1}, Multimask: true})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mk := range res.Masks {
			ok := true
			for y := range im.H {
				for x := range im.W {
					want := false
					if y >= crop[1] && y < crop[3] && x >= crop[0] && x < crop[2] {
						want = mk[(y-crop[1])*cw+x-crop[0]]
					}
					if full[y*im.W+x] != want {
						ok = false
					}
				}
			}
			found = found || ok
		}
		if !found || len(res.Masks[0]) != ch*cw {
			t.Fatalf("mask %d is none of Predict's masks on the crop", i)
		}
	}
}

// TestMaskGeneratorCropsAndSmallRegions runs crop layers and small-region removal.
func TestMaskGeneratorCropsAndSmallRegions(t *testing.T) {
	m := loadTiny(t)
	im := tinyImage(t)
	o := DefaultAMGOptions()
	o.PointsPerSide, o.PointsPerBatch, o.CropNLayers, o.CropNPointsDownscaleFactor = 4, 64, 1, 2
	o.PredIoUThresh, o.StabilityScoreThresh, o.StabilityScoreOffset = 0, 0, 0.005
	o.BoxNMSThresh, o.CropNMSThresh = 1, 1
	o.MinMaskRegionArea = 30
	o.OutputMode = OutputCOCORLE
	g, err := NewMaskGenerator(NewPredictor(m), o)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := g.Generate(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no masks")
	}
	checkRecords(t, recs, o, im.H, im.W)
	for i, r := range recs {
		if r.Segmentation != nil {
			t.Fatalf("record %d has a binary mask in coco_rle mode", i)
		}
		mk, _ := r.RLE.Decode()
		// After removal an island below the area is only left if it is the only one.
		if _, sizes := components8(mk, im.H, im.W); len(sizes) > 1 && slices.Min(sizes) < o.MinMaskRegionArea {
			t.Fatalf("record %d keeps islands %v below %d pixels", i, sizes, o.MinMaskRegionArea)
		}
	}
}
