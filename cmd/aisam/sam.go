package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG input
	_ "image/png"  // PNG input
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
	"github.com/aisam/aisam/weights"
)

func init() {
	register(&command{
		name:    "sam predict",
		summary: "SAM masks for point/box/mask prompts: mask PNGs, overlay, result.npz",
		run:     func(args []string) error { return runSAMPredict(os.Stdout, args) },
	})
	register(&command{
		name:    "sam everything",
		summary: "SAM automatic mask generator: every mask as PNG and a JSON of records",
		run:     func(args []string) error { return runSAMEverything(os.Stdout, args) },
	})
}

// samModelFlags are the flags that choose the model.
type samModelFlags struct {
	checkpoint, modelType, random string
	seed                          uint64
	threads, decoderHeads         int
}

func (f *samModelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.checkpoint, "checkpoint", "", "SAM checkpoint (.pth, .safetensors or .npz state dict)")
	fs.StringVar(&f.modelType, "model-type", "", "vit_b, vit_l or vit_h, or custom (empty or custom: detected from the checkpoint's shapes)")
	fs.IntVar(&f.decoderHeads, "decoder-heads", 0, "mask decoder attention heads of a detected (custom) checkpoint; shapes do not fix it (0: guess 8 for width >= 256, else width/16)")
	fs.StringVar(&f.random, "random-weights", "", "use a seeded random model of this type instead of a checkpoint: vit_b, vit_l, vit_h or tiny (smoke tests, benchmarks)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for --random-weights")
	fs.IntVar(&f.threads, "threads", 0, "worker threads (0: all cores)")
}

func (f *samModelFlags) check() error {
	if (f.checkpoint == "") == (f.random == "") {
		return fmt.Errorf("give exactly one of --checkpoint FILE and --random-weights TYPE")
	}
	if f.random != "" && f.random != "tiny" {
		if _, err := sam.ConfigFor(f.random); err != nil {
			return fmt.Errorf("--random-weights: %w (or tiny)", err)
		}
	}
	official := f.modelType != "" && f.modelType != "custom"
	if official {
		if _, err := sam.ConfigFor(f.modelType); err != nil {
			return fmt.Errorf("--model-type: %w (or custom)", err)
		}
	}
	if f.decoderHeads < 0 || f.decoderHeads > 0 && (f.random != "" || official) {
		return fmt.Errorf("--decoder-heads %d: a positive count, for a --checkpoint whose type is detected (no --model-type, or custom)", f.decoderHeads)
	}
	if f.threads < 0 || f.threads > 1024 {
		return fmt.Errorf("--threads %d: must be in 0..1024", f.threads)
	}
	return nil
}

// parseSAMFlags parses the flags of a sam subcommand that reads --image and writes --out,
// checking them before any slow work starts.
func parseSAMFlags(fs *flag.FlagSet, args []string, mf *samModelFlags, image, out *string) (help bool, err error) {
	if help, err := parseFlagsNoArgs(fs, args); help || err != nil {
		return help, err
	}
	if err := mf.check(); err != nil {
		return false, err
	}
	if *image == "" || *out == "" {
		return false, fmt.Errorf("--image and --out are required")
	}
	return false, nil
}

// samTinyConfig is a small SAM (the shape of the sam-tiny reference vectors: 256 input,
// 16x16x32 embedding, 64x64 low-res masks) for tests.
func samTinyConfig() sam.Config {
	return sam.Config{
		Type: "custom",
		Encoder: sam.EncoderConfig{ImgSize: 256, PatchSize: 16, InChans: 3, EmbedDim: 64, Depth: 2, Heads: 2,
			MLPRatio: 4, OutChans: 32, WindowSize: 7, GlobalAttnIndexes: []int{1}, UseAbsPos: true, UseRelPos: true},
		Prompt: sam.PromptConfig{EmbedDim: 32, ImageEmbeddingSize: 16, InputImageSize: 256, MaskInChans: 4},
		Decoder: sam.DecoderConfig{TransformerDim: 32, Depth: 2, Heads: 2, MLPDim: 64, AttnDownsample: 2,
			NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 32},
	}
}

func (f *samModelFlags) load() (*sam.Model, error) {
	if f.random != "" {
		cfg := samTinyConfig()
		if f.random != "tiny" {
			var err error
			if cfg, err = sam.ConfigFor(f.random); err != nil {
				return nil, err
			}
		}
		return sam.New(cfg, f.seed), nil
	}
	sd, err := weights.Load(f.checkpoint)
	if err != nil {
		return nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	m, err := sam.FromStateDictWith(sd, sam.LoadOptions{ModelType: f.modelType, DecoderHeads: f.decoderHeads})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.checkpoint, err)
	}
	return m, nil
}

// readSAMImage reads a PNG or JPEG as RGB.
func readSAMImage(path string) (sam.RGB, error) {
	f, err := os.Open(path)
	if err != nil {
		return sam.RGB{}, fmt.Errorf("reading image: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return sam.RGB{}, fmt.Errorf("reading image %s: %w (want PNG or JPEG)", path, err)
	}
	im := sam.RGBFromImage(img)
	if im.H == 0 || im.W == 0 {
		return sam.RGB{}, fmt.Errorf("image %s is empty", path)
	}
	return im, nil
}

// parseSAMPoint parses x,y,label with label 1 (foreground) or 0 (background).
func parseSAMPoint(s string, h, w int) ([2]float64, int, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return [2]float64{}, 0, fmt.Errorf("--point %q: want x,y,label", s)
	}
	xy, err := parseFloats(parts[0]+","+parts[1], 2)
	if err != nil {
		return [2]float64{}, 0, fmt.Errorf("--point %q: %w", s, err)
	}
	var label int
	switch strings.TrimSpace(parts[2]) {
	case "1":
		label = 1
	case "0":
	default:
		return [2]float64{}, 0, fmt.Errorf("--point %q: label %q, want 1 (foreground) or 0 (background)", s, parts[2])
	}
	if err := checkSAMCoord(xy[0], xy[1], h, w); err != nil {
		return [2]float64{}, 0, fmt.Errorf("--point %q: %w", s, err)
	}
	return [2]float64{xy[0], xy[1]}, label, nil
}

// checkSAMCoord is the one bound for every point and box corner of the sam commands:
// SAM's coordinates are continuous (pixel column i spans [i, i+1), its centre is i+0.5,
// as the automatic mask generator's grid and apply_coords' per-axis scaling assume), so
// the image covers 0 <= x <= W and 0 <= y <= H, and a box reaching x1 = W covers the last
// column.
func checkSAMCoord(x, y float64, h, w int) error {
	if !(x >= 0 && x <= float64(w) && y >= 0 && y <= float64(h)) {
		return fmt.Errorf("(%g, %g) outside the %dx%d image (coordinates are continuous: 0 <= x <= %d, 0 <= y <= %d)", x, y, w, h, w, h)
	}
	return nil
}

// parseSAMBox parses x0,y0,x1,y1 inside the image with x0 < x1 and y0 < y1.
func parseSAMBox(s string, h, w int) ([4]float64, error) {
	v, err := parseFloats(s, 4)
	if err != nil {
		return [4]float64{}, fmt.Errorf("--box %q: %w (want x0,y0,x1,y1)", s, err)
	}
	for i := 0; i < 4; i += 2 {
		if err := checkSAMCoord(v[i], v[i+1], h, w); err != nil {
			return [4]float64{}, fmt.Errorf("--box %q: corner %w", s, err)
		}
	}
	if !(v[0] < v[2] && v[1] < v[3]) {
		return [4]float64{}, fmt.Errorf("--box %q: want x0 < x1 and y0 < y1", s)
	}
	return [4]float64{v[0], v[1], v[2], v[3]}, nil
}

// readMaskInput reads low-res mask logits for --mask-input: an .npy, or an .npz (an
// earlier result.npz) whose low_res_masks is used, of shape [s s], [1 s s], [M s s],
// [1 1 s s] or [1 M s s] with s = side. index picks one of the M masks; -1 means the
// highest iou_predictions of the .npz when it has them, else 0. It returns the mask as
// [1 s s] and the index taken.
func readMaskInput(path string, side, index int) (*tensor.Tensor, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--mask-input: %w", err)
	}
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	f.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("--mask-input %s: not an .npy or .npz file (%v)", path, err)
	}
	var a *npy.Array
	var iou []float32
	if string(magic[:2]) == "PK" {
		z, err := npy.OpenNPZ(path)
		if err != nil {
			return nil, 0, fmt.Errorf("--mask-input %s: %w", path, err)
		}
		defer z.Close()
		if a, err = z.Get("low_res_masks"); err != nil {
			return nil, 0, fmt.Errorf("--mask-input %s: %w (want an earlier result.npz with low_res_masks)", path, err)
		}
		if slices.Contains(z.Names(), "iou_predictions") {
			ia, err := z.Get("iou_predictions")
			if err != nil {
				return nil, 0, fmt.Errorf("--mask-input %s: %w", path, err)
			}
			if ia.DType.IsFloat() {
				iou = ia.Float32()
			}
		}
	} else if a, err = npy.ReadFile(path); err != nil {
		return nil, 0, fmt.Errorf("--mask-input %s: %w (want an .npy or an .npz)", path, err)
	}
	if !a.DType.IsFloat() {
		return nil, 0, fmt.Errorf("--mask-input %s: dtype %s, want float logits", path, a.DType)
	}
	m := 0
	switch sh := a.Shape; {
	case len(sh) == 2:
		m = 1
	case len(sh) == 3:
		m = sh[0]
	case len(sh) == 4 && sh[0] == 1:
		m = sh[1]
	}
	if n := len(a.Shape); m < 1 || a.Shape[n-2] != side || a.Shape[n-1] != side {
		return nil, 0, fmt.Errorf("--mask-input %s: shape %v, want [%d %d], [1 %d %d], [1 1 %d %d] or [1 M %d %d] (low-res logits of an earlier prediction for this model)",
			path, a.Shape, side, side, side, side, side, side, side, side)
	}
	if index < 0 {
		index = 0
		if len(iou) == m {
			index = iouRanking(iou)[0]
		}
	}
	if index >= m {
		return nil, 0, fmt.Errorf("--mask-index %d: %s holds %d mask(s)", index, path, m)
	}
	v := a.Float32()[index*side*side : (index+1)*side*side]
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, 0, fmt.Errorf("--mask-input %s: mask %d holds a non-finite logit", path, index)
		}
	}
	return tensor.FromSlice(slices.Clone(v), 1, side, side), index, nil
}

const samPredictUsage = `usage: aisam sam predict (--checkpoint FILE [--model-type vit_b] | --random-weights TYPE) --image IMG
       [--point x,y,label]... [--box x0,y0,x1,y1] [--mask-input FILE.npz|FILE.npy [--mask-index N]] [--multimask] --out DIR

Writes to DIR:
  mask_N.png    one 0/255 mask per output, in the model's output order (N is the index
                in result.npz, not a rank; result.json's "ranking" orders them)
  overlay.png   the best (highest predicted IoU) mask over the image, with the prompts
  result.npz    float32 image_embedding [1 C g g], low_res_masks [1 M 4g 4g],
                iou_predictions [1 M], masks [1 M H W] (logits at the original size)
  result.json   predicted IoU, rank (0 = best) and area per mask; "best" is the index of
                the highest predicted IoU and "ranking" all indices, best first

flags:`

func runSAMPredict(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("sam predict", flag.ContinueOnError)
	var mf samModelFlags
	mf.register(fs)
	var image, out, maskIn, preprocess string
	var points, boxes multiFlag
	var multimask bool
	var maskIndex int
	fs.StringVar(&image, "image", "", "input image (PNG or JPEG)")
	fs.Var(&points, "point", "x,y,label click in continuous image pixels, 0 <= x <= W, 0 <= y <= H (pixel i spans [i, i+1)); label 1 foreground, 0 background; repeatable")
	fs.Var(&boxes, "box", "x0,y0,x1,y1 box in continuous image pixels (x1 = W reaches the right edge)")
	fs.StringVar(&maskIn, "mask-input", "", "low-res mask logits from an earlier prediction: its result.npz (low_res_masks) or an .npy, [s s], [1 s s] or [1 M s s] with s = 4x the embedding grid (256 for the official models)")
	fs.IntVar(&maskIndex, "mask-index", -1, "which of --mask-input's M masks to use (default: the highest iou_predictions of an .npz, else 0)")
	fs.BoolVar(&multimask, "multimask", false, "return three masks (for ambiguous single clicks) instead of one")
	fs.StringVar(&preprocess, "preprocess", "sam", "sam (resize longest side, mean/std, pad) or medsam (bicubic to the square input, min-max to [0, 1])")
	fs.StringVar(&out, "out", "", "output directory")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), samPredictUsage)
		fs.PrintDefaults()
	}
	if help, err := parseSAMFlags(fs, args, &mf, &image, &out); help || err != nil {
		return err
	}
	if len(points) == 0 && len(boxes) == 0 && maskIn == "" {
		return fmt.Errorf("give a prompt: --point, --box or --mask-input")
	}
	if len(boxes) > 1 {
		return fmt.Errorf("--box given %d times; SAM takes one box per prompt", len(boxes))
	}
	if maskIndex < -1 || (maskIndex >= 0 && maskIn == "") {
		return fmt.Errorf("--mask-index %d: needs --mask-input and a non-negative index", maskIndex)
	}
	if preprocess != "sam" && preprocess != "medsam" {
		return fmt.Errorf("--preprocess %q: want sam or medsam", preprocess)
	}
	im, err := readSAMImage(image)
	if err != nil {
		return err
	}
	var pr sam.Prompt
	pr.Multimask = multimask
	for _, s := range points {
		xy, l, err := parseSAMPoint(s, im.H, im.W)
		if err != nil {
			return err
		}
		pr.Points = append(pr.Points, xy)
		pr.Labels = append(pr.Labels, l)
	}
	if len(boxes) == 1 {
		b, err := parseSAMBox(boxes[0], im.H, im.W)
		if err != nil {
			return err
		}
		pr.Box = &b
	}
	if mf.threads > 0 {
		defer par.SetWorkers(par.SetWorkers(mf.threads))
	}
	t0 := time.Now()
	m, err := mf.load()
	if err != nil {
		return err
	}
	if maskIn != "" {
		if pr.MaskInput, _, err = readMaskInput(maskIn, 4*m.Config.Prompt.ImageEmbeddingSize, maskIndex); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tLoad := time.Since(t0)
	p := sam.NewPredictor(m)
	t0 = time.Now()
	if preprocess == "medsam" {
		err = p.SetImageMedSAM(ctx, im)
	} else {
		err = p.SetImage(ctx, im)
	}
	if err != nil {
		return err
	}
	tEnc := time.Since(t0)
	t0 = time.Now()
	res, err := p.Predict(pr)
	if err != nil {
		return err
	}
	if preprocess == "medsam" {
		// MedSAM thresholds sigmoid probabilities resized straight to the image.
		if res.Masks, err = sam.MedSAMMasks(res.LowRes, im.H, im.W); err != nil {
			return err
		}
	}
	tDec := time.Since(t0)
	if err := writeSAMPredictOutputs(out, im, p, pr, res); err != nil {
		return err
	}
	best := iouRanking(res.IoU)[0]
	fmt.Fprintf(stdout, "%d mask(s), best %d (predicted IoU %.3f); load %.2fs, encoder %.2fs, decoder %.3fs; wrote %s\n",
		len(res.Masks), best, res.IoU[best], tLoad.Seconds(), tEnc.Seconds(), tDec.Seconds(), out)
	return nil
}

func writeSAMPredictOutputs(dir string, im sam.RGB, p *sam.Predictor, pr sam.Prompt, res *sam.Prediction) error {
	nm := len(res.Masks)
	type maskJSON struct {
		File         string  `json:"file"`
		PredictedIoU float64 `json:"predicted_iou"`
		Rank         int     `json:"rank"` // 0 = highest predicted IoU
		Area         int     `json:"area"`
	}
	var info struct {
		Image   [2]int       `json:"size"` // h, w
		Points  [][2]float64 `json:"points,omitempty"`
		Labels  []int        `json:"labels,omitempty"`
		Box     *[4]float64  `json:"box,omitempty"`
		Best    int          `json:"best"`
		Ranking []int        `json:"ranking"` // mask indices by descending predicted IoU
		Masks   []maskJSON   `json:"masks"`
	}
	info.Image, info.Points, info.Labels, info.Box = [2]int{im.H, im.W}, pr.Points, pr.Labels, pr.Box
	info.Ranking = iouRanking(res.IoU)
	rank := make([]int, nm)
	for r, i := range info.Ranking {
		rank[i] = r
	}
	best := info.Ranking[0]
	info.Best = best
	for i, mk := range res.Masks {
		name := fmt.Sprintf("mask_%d.png", i)
		if err := writePNG(filepath.Join(dir, name), samMaskImage(mk, im.H, im.W)); err != nil {
			return err
		}
		area := 0
		for _, v := range mk {
			if v {
				area++
			}
		}
		info.Masks = append(info.Masks, maskJSON{name, float64(res.IoU[i]), rank[i], area})
	}
	ov := samOverlay(im, [][]bool{res.Masks[best]})
	for i, q := range pr.Points {
		c := color.NRGBA{0, 200, 0, 255}
		if pr.Labels[i] == 0 {
			c = color.NRGBA{220, 0, 0, 255}
		}
		drawDisc(ov, q[0], q[1], 4, c, true)
	}
	if b := pr.Box; b != nil {
		samDrawRect(ov, b[0], b[1], b[2], b[3], color.NRGBA{0, 255, 0, 255})
	}
	if err := writePNG(filepath.Join(dir, "overlay.png"), ov); err != nil {
		return err
	}
	emb := p.Embedding()
	members := []npy.Member{
		{Name: "image_embedding", Array: npy.FromTensor(emb)},
		{Name: "low_res_masks", Array: npy.FromTensor(res.LowRes.Reshape(append([]int{1}, res.LowRes.Shape()...)...))},
		{Name: "iou_predictions", Array: npy.FromTensor(tensor.FromSlice(res.IoU, 1, nm))},
		{Name: "masks", Array: npy.FromTensor(res.Logits.Reshape(1, nm, im.H, im.W))},
	}
	if err := npy.WriteNPZ(filepath.Join(dir, "result.npz"), members, false); err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return fileio.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'))
}

// iouRanking returns the mask indices by descending predicted IoU (ties keep output order).
func iouRanking(iou []float32) []int {
	idx := make([]int, len(iou))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return iou[idx[a]] > iou[idx[b]] })
	return idx
}

func samMaskImage(mk []bool, h, w int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range mk {
		if v {
			g.Pix[i] = 255
		}
	}
	return g
}

// samOverlay blends each mask's colour (palette order) over the image at 50 %.
func samOverlay(im sam.RGB, masks [][]bool) *image.NRGBA {
	ov := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
	for i := range im.H * im.W {
		ov.Pix[4*i], ov.Pix[4*i+1], ov.Pix[4*i+2], ov.Pix[4*i+3] = im.Pix[3*i], im.Pix[3*i+1], im.Pix[3*i+2], 255
	}
	for k, mk := range masks {
		c := palette(k + 1)
		for i, v := range mk {
			if v {
				ov.Pix[4*i] = uint8((uint16(ov.Pix[4*i]) + uint16(c.R)) / 2)
				ov.Pix[4*i+1] = uint8((uint16(ov.Pix[4*i+1]) + uint16(c.G)) / 2)
				ov.Pix[4*i+2] = uint8((uint16(ov.Pix[4*i+2]) + uint16(c.B)) / 2)
			}
		}
	}
	return ov
}

func samDrawRect(im *image.NRGBA, x0, y0, x1, y1 float64, c color.NRGBA) {
	ix0, iy0, ix1, iy1 := int(x0), int(y0), int(x1), int(y1)
	for x := ix0; x <= ix1; x++ {
		im.SetNRGBA(x, iy0, c)
		im.SetNRGBA(x, iy1, c)
	}
	for y := iy0; y <= iy1; y++ {
		im.SetNRGBA(ix0, y, c)
		im.SetNRGBA(ix1, y, c)
	}
}

// samRecordJSON is one record of masks.json: the official record fields with the
// segmentation as COCO RLE, plus the mask's PNG.
type samRecordJSON struct {
	Segmentation sam.COCORLE `json:"segmentation"`
	sam.MaskRecord
	MaskFile string `json:"mask_file"`
}

func runSAMEverything(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("sam everything", flag.ContinueOnError)
	var mf samModelFlags
	mf.register(fs)
	o := sam.DefaultAMGOptions()
	var image, out string
	fs.StringVar(&image, "image", "", "input image (PNG or JPEG)")
	fs.StringVar(&out, "out", "", "output directory")
	fs.IntVar(&o.PointsPerSide, "points-per-side", o.PointsPerSide, "point grid side")
	fs.IntVar(&o.PointsPerBatch, "points-per-batch", o.PointsPerBatch, "points decoded together")
	fs.Float64Var(&o.PredIoUThresh, "pred-iou-thresh", o.PredIoUThresh, "keep masks with predicted IoU above this (0: off)")
	fs.Float64Var(&o.StabilityScoreThresh, "stability-score-thresh", o.StabilityScoreThresh, "keep masks with stability score at least this (0: off)")
	fs.Float64Var(&o.StabilityScoreOffset, "stability-score-offset", o.StabilityScoreOffset, "logit offset of the stability score")
	fs.Float64Var(&o.BoxNMSThresh, "box-nms-thresh", o.BoxNMSThresh, "box IoU above which duplicate masks are dropped")
	fs.IntVar(&o.CropNLayers, "crop-n-layers", o.CropNLayers, "layers of image crops (0: whole image only)")
	fs.Float64Var(&o.CropNMSThresh, "crop-nms-thresh", o.CropNMSThresh, "box NMS threshold between crops")
	fs.Float64Var(&o.CropOverlapRatio, "crop-overlap-ratio", o.CropOverlapRatio, "crop overlap as a fraction of the short side")
	fs.IntVar(&o.CropNPointsDownscaleFactor, "crop-n-points-downscale-factor", o.CropNPointsDownscaleFactor, "grid side divided by this per crop layer")
	fs.IntVar(&o.MinMaskRegionArea, "min-mask-region-area", o.MinMaskRegionArea, "remove holes and islands smaller than this (0: off)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisam sam everything (--checkpoint FILE [--model-type vit_b] | --random-weights TYPE) --image IMG --out DIR

Segments everything (SAM's automatic mask generator). Writes to DIR:
  mask_NNN.png  one 0/255 mask per record
  overlay.png   every mask in colour over the image
  masks.json    records: segmentation (COCO RLE), area, bbox (XYWH), predicted_iou,
                point_coords, stability_score, crop_box (XYWH), mask_file

flags:`)
		fs.PrintDefaults()
	}
	if help, err := parseSAMFlags(fs, args, &mf, &image, &out); help || err != nil {
		return err
	}
	o.OutputMode = sam.OutputUncompressedRLE
	// Check the options before the (possibly slow) model load.
	if _, err := sam.NewMaskGenerator(sam.NewPredictor(&sam.Model{}), o); err != nil {
		return err
	}
	im, err := readSAMImage(image)
	if err != nil {
		return err
	}
	if mf.threads > 0 {
		defer par.SetWorkers(par.SetWorkers(mf.threads))
	}
	t0 := time.Now()
	m, err := mf.load()
	if err != nil {
		return err
	}
	g, err := sam.NewMaskGenerator(sam.NewPredictor(m), o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tLoad := time.Since(t0)
	t0 = time.Now()
	recs, err := g.Generate(ctx, im)
	if err != nil {
		return err
	}
	tGen := time.Since(t0)
	js := make([]samRecordJSON, len(recs))
	masks := make([][]bool, len(recs))
	for i, r := range recs {
		mk, err := r.RLE.Decode()
		if err != nil {
			return err
		}
		masks[i] = mk
		name := fmt.Sprintf("mask_%03d.png", i)
		if err := writePNG(filepath.Join(out, name), samMaskImage(mk, im.H, im.W)); err != nil {
			return err
		}
		js[i] = samRecordJSON{Segmentation: r.RLE.COCO(), MaskRecord: r, MaskFile: name}
		if math.IsNaN(r.StabilityScore) { // an empty mask with the stability filter off; JSON has no NaN
			js[i].StabilityScore = 0
		}
	}
	if err := writePNG(filepath.Join(out, "overlay.png"), samOverlay(im, masks)); err != nil {
		return err
	}
	b, err := json.MarshalIndent(js, "", "  ")
	if err != nil {
		return err
	}
	if err := fileio.WriteFile(filepath.Join(out, "masks.json"), append(b, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d masks; load %.2fs, generate %.2fs; wrote %s\n", len(recs), tLoad.Seconds(), tGen.Seconds(), out)
	return nil
}
