package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG input
	"image/png"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aisam/aisam/aisam"
	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/nifti"
)

func init() {
	register(&command{
		name:    "segment",
		summary: "AI-SAM segmentation of a PNG/JPEG/NIfTI image: label map, overlay, masks, result.json",
		run:     func(args []string) error { return runSegment(os.Stdout, args) },
	})
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type segmentArgs struct {
	model, image, out, classes, lora, modelType, sliceSpec, pointMode, boxMode string
	window                                                                     string
	random                                                                     bool
	seed                                                                       uint64
	threads                                                                    int
	points, boxes, present, absent                                             multiFlag
	local                                                                      bool
}

func runSegment(stdout io.Writer, args []string) error {
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	var a segmentArgs
	fs.StringVar(&a.model, "model", "", "model file: aisam's own (.safetensors with config) or an AI-SAM checkpoint (.pth)")
	fs.BoolVar(&a.random, "random-weights", false, "use a randomly initialised model instead of --model (smoke tests)")
	fs.StringVar(&a.modelType, "model-type", "vit_b", "SAM type for --random-weights (vit_b, vit_l, vit_h); empty detects it for checkpoints")
	fs.Uint64Var(&a.seed, "seed", 1, "seed for --random-weights")
	fs.StringVar(&a.lora, "lora", "", "SAMed LoRA file merged into a checkpoint's encoder")
	fs.StringVar(&a.image, "image", "", "input image: PNG, JPEG, or NIfTI (.nii, .nii.gz)")
	fs.StringVar(&a.sliceSpec, "slice", "all", "NIfTI: slice index along the third axis, or all")
	fs.StringVar(&a.window, "window", "auto", "NIfTI intensity window lo,hi (clipped, then mapped to [0,1]), none (min-max per slice), or auto (see above)")
	fs.StringVar(&a.classes, "classes", "", "comma-separated class names, background first (for checkpoints without names, or to rename)")
	fs.Var(&a.points, "point", "class:x,y,label click in image pixels (label 1 positive, 0 negative); repeatable")
	fs.Var(&a.boxes, "box", "class:x0,y0,x1,y1 box in image pixels; repeatable")
	fs.StringVar(&a.boxMode, "box-mode", "gate", "gate (AI-SAM: heatmaps and logits restricted to the box) or token (SAM's box prompt)")
	fs.Var(&a.present, "present", "force a class present (repeatable)")
	fs.Var(&a.absent, "absent", "force a class absent (repeatable); otherwise a positive --point or a --box on a class makes it present whatever the classifier says")
	fs.StringVar(&a.pointMode, "point-mode", "soft", "soft (generalized points, as trained) or argmax (each heatmap's maximum)")
	fs.BoolVar(&a.local, "local-edits", false, "prompts of one class do not enter the others' (default, as AI-SAM: a class's points are negatives for every other class)")
	fs.StringVar(&a.out, "out", "", "output directory")
	fs.IntVar(&a.threads, "threads", 0, "worker threads (0: all cores)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisam segment --model FILE --image IMG [--point class:x,y,label]... [--box class:x0,y0,x1,y1]... [--classes a,b,c] --out DIR

Segments every class automatically (AutoPrompt points, classifier presence), with optional
clicks and boxes. Classes are given by name or index. Writes to DIR (for a NIfTI volume,
one folder per slice and labels.nii.gz):
  labels.png       class index per pixel (8-bit gray)
  overlay.png      colour overlay with the generated (discs) and user (squares: positive,
                   rings: negative) points and each class's box outlined in its colour
  class_N_NAME.png one 0/255 mask per class
  result.json      classes, presence scores, generated points with heat, areas

NIfTI intensities: --window lo,hi clips to [lo, hi] and maps it to [0, 1]; --window none
min-max scales each slice. The default (auto) keeps a window stored in an aisam model
file; for a checkpoint without stored preprocessing (.pth, .npz, bare safetensors, or
--random-weights) whose classes are Synapse's, a CT volume (HU-like values: minimum
<= -500 and maximum >= 100) gets Synapse's training window [-125, 275]; anything else
is min-max scaled per slice. The choice is printed and recorded in result.json.

flags:`)
		fs.PrintDefaults()
	}
	if help, err := parseFlagsNoArgs(fs, args); help || err != nil {
		return err
	}
	if (a.model == "") == !a.random {
		return fmt.Errorf("give exactly one of --model FILE and --random-weights")
	}
	if a.image == "" || a.out == "" {
		return fmt.Errorf("--image and --out are required")
	}
	if a.threads < 0 || a.threads > 1024 {
		return fmt.Errorf("--threads %d: must be in 0..1024", a.threads)
	}
	if a.threads > 0 {
		defer par.SetWorkers(par.SetWorkers(a.threads))
	}
	var names []string
	if a.classes != "" {
		for _, n := range strings.Split(a.classes, ",") {
			n = strings.TrimSpace(n)
			if n == "" {
				return fmt.Errorf("--classes %q: empty class name", a.classes)
			}
			names = append(names, n)
		}
	}
	opts := aisam.Options{LocalEdits: a.local}
	switch a.pointMode {
	case "soft":
	case "argmax":
		opts.PointMode = aisam.ArgmaxPoints
	default:
		return fmt.Errorf("--point-mode %q: want soft or argmax", a.pointMode)
	}
	var boxMode aisam.BoxMode
	switch a.boxMode {
	case "gate":
	case "token":
		boxMode = aisam.BoxToken
	default:
		return fmt.Errorf("--box-mode %q: want gate or token", a.boxMode)
	}
	imgs, vol, err := readSegmentInput(a.image, a.sliceSpec)
	if err != nil {
		return err
	}
	if vol == nil && a.window != "auto" {
		return fmt.Errorf("--window is for NIfTI input (8-bit images map to [0, 1] by /255)")
	}
	if len(imgs) > 1 && (len(a.points) > 0 || len(a.boxes) > 0) {
		return fmt.Errorf("--point and --box need a single --slice of a %d-slice volume", len(imgs))
	}
	m, err := loadSegmentModel(a, names)
	if err != nil {
		return err
	}
	if vol != nil {
		stored := !a.random && aisam.HasConfig(a.model)
		win, why, err := chooseWindow(a.window, m.Cfg, stored, vol.Data)
		if err != nil {
			return err
		}
		m.Cfg.Preprocess.Window = win
		fmt.Fprintf(stdout, "intensity window: %s\n", why)
		for i := range imgs {
			imgs[i].rgb = grayDisplay(imgs[i].img.Values, win)
		}
	}
	for _, s := range a.points {
		p, err := parsePointFlag(m, s)
		if err != nil {
			return err
		}
		opts.Points = append(opts.Points, p)
	}
	for _, s := range a.boxes {
		c, b, err := parseBoxFlag(m, s)
		if err != nil {
			return err
		}
		b.Mode = boxMode
		if opts.Boxes == nil {
			opts.Boxes = map[int]aisam.Box{}
		}
		if _, dup := opts.Boxes[c]; dup {
			return fmt.Errorf("--box %q: class %s already has a box", s, m.Cfg.Classes[c])
		}
		opts.Boxes[c] = b
	}
	for _, f := range []struct {
		list multiFlag
		p    aisam.Presence
	}{{a.present, aisam.PresenceOn}, {a.absent, aisam.PresenceOff}} {
		for _, s := range f.list {
			c, err := classArg(m, s)
			if err != nil {
				return err
			}
			if opts.Presence == nil {
				opts.Presence = map[int]aisam.Presence{}
			}
			opts.Presence[c] = f.p
		}
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var labels [][]uint8
	for _, in := range imgs {
		res, err := m.Segment(ctx, in.img, opts)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		dir := a.out
		if len(imgs) > 1 {
			dir = filepath.Join(a.out, fmt.Sprintf("slice_%03d", in.index))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err := writeSegmentOutputs(dir, in, m, res); err != nil {
			return err
		}
		labels = append(labels, res.Labels)
		fmt.Fprintf(stdout, "%s: %s (encoder %.2fs, after embedding %.2fs)\n", in.name, summarize(res),
			res.Timing.Embed.Seconds(), (res.Timing.AutoPrompt + res.Timing.Decode + res.Timing.Post).Seconds())
	}
	if vol != nil && len(imgs) == vol.Dims[2] {
		return writeLabelVolume(filepath.Join(a.out, "labels.nii.gz"), vol, labels)
	}
	return nil
}

func summarize(r *aisam.Result) string {
	var parts []string
	for i, c := range r.Classes {
		if i == 0 || !c.Present {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d px (p=%.2f)", c.Name, c.Area, c.Score))
	}
	if len(parts) == 0 {
		return "no class present"
	}
	return strings.Join(parts, ", ")
}

func loadSegmentModel(a segmentArgs, names []string) (*aisam.Model, error) {
	if a.random {
		if a.lora != "" {
			return nil, fmt.Errorf("--lora needs --model")
		}
		if names == nil {
			names = aisam.SynapseClasses
		}
		cfg, err := aisam.NewConfig(a.modelType, names)
		if err != nil {
			return nil, err
		}
		return aisam.New(cfg, a.seed)
	}
	opts := aisam.LoadOptions{Classes: names, LoRA: a.lora}
	if a.modelType != "vit_b" {
		opts.SAMType = a.modelType
	}
	return aisam.Load(a.model, opts)
}

// classArg resolves a class given by name or index.
func classArg(m *aisam.Model, s string) (int, error) {
	s = strings.TrimSpace(s)
	if i := m.ClassIndex(s); i >= 0 {
		return i, nil
	}
	if i, err := strconv.Atoi(s); err == nil {
		if i < 0 || i >= m.NumClasses() {
			return 0, fmt.Errorf("class index %d outside 0..%d", i, m.NumClasses()-1)
		}
		return i, nil
	}
	return 0, fmt.Errorf("unknown class %q (classes: %s)", s, strings.Join(m.Cfg.Classes, ", "))
}

func parseFloats(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("want %d comma-separated numbers, got %d", n, len(parts))
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out[i] = v
	}
	return out, nil
}

// finite rejects NaN and infinite coordinates.
func finite(v []float64) error {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("coordinate %g is not a finite number", x)
		}
	}
	return nil
}

// parsePointFlag parses class:x,y,label.
func parsePointFlag(m *aisam.Model, s string) (aisam.UserPoint, error) {
	cls, rest, ok := strings.Cut(s, ":")
	if !ok {
		return aisam.UserPoint{}, fmt.Errorf("--point %q: want class:x,y,label", s)
	}
	c, err := classArg(m, cls)
	if err != nil {
		return aisam.UserPoint{}, fmt.Errorf("--point %q: %w", s, err)
	}
	parts := strings.Split(rest, ",")
	if len(parts) != 3 {
		return aisam.UserPoint{}, fmt.Errorf("--point %q: want class:x,y,label", s)
	}
	xy, err := parseFloats(parts[0]+","+parts[1], 2)
	if err == nil {
		err = finite(xy)
	}
	if err != nil {
		return aisam.UserPoint{}, fmt.Errorf("--point %q: %w", s, err)
	}
	var pos bool
	switch strings.TrimSpace(parts[2]) {
	case "1", "pos", "+":
		pos = true
	case "0", "neg", "-":
	default:
		return aisam.UserPoint{}, fmt.Errorf("--point %q: label %q, want 1 (positive) or 0 (negative)", s, parts[2])
	}
	return aisam.UserPoint{Class: c, X: xy[0], Y: xy[1], Positive: pos}, nil
}

// parseBoxFlag parses class:x0,y0,x1,y1.
func parseBoxFlag(m *aisam.Model, s string) (int, aisam.Box, error) {
	cls, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, aisam.Box{}, fmt.Errorf("--box %q: want class:x0,y0,x1,y1", s)
	}
	c, err := classArg(m, cls)
	if err != nil {
		return 0, aisam.Box{}, fmt.Errorf("--box %q: %w", s, err)
	}
	v, err := parseFloats(rest, 4)
	if err == nil {
		err = finite(v)
	}
	if err != nil {
		return 0, aisam.Box{}, fmt.Errorf("--box %q: %w", s, err)
	}
	return c, aisam.Box{X0: v[0], Y0: v[1], X1: v[2], Y1: v[3]}, nil
}

// segInput is one 2-D image to segment, with what is needed to draw it.
type segInput struct {
	name  string
	index int // slice index in a volume
	img   *aisam.Image
	rgb   []uint8 // display pixels, HWC RGB
}

// readSegmentInput reads a PNG/JPEG (one image) or a NIfTI volume (the chosen slices).
func readSegmentInput(path, sliceSpec string) ([]segInput, *nifti.Volume, error) {
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".nii") || strings.HasSuffix(lower, ".nii.gz") || strings.HasSuffix(lower, ".hdr") || strings.HasSuffix(lower, ".hdr.gz") {
		v, err := nifti.Open(path)
		if err != nil {
			return nil, nil, err
		}
		if len(v.Dims) < 2 {
			return nil, nil, fmt.Errorf("%s: %d-D NIfTI image, want 2-D or 3-D", path, len(v.Dims))
		}
		for len(v.Dims) < 3 {
			v.Dims = append(v.Dims, 1)
		}
		for _, d := range v.Dims[3:] {
			if d > 1 {
				return nil, nil, fmt.Errorf("%s: %v NIfTI image has more than 3 dimensions", path, v.Dims)
			}
		}
		nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
		var idx []int
		if sliceSpec == "all" {
			for k := 0; k < nz; k++ {
				idx = append(idx, k)
			}
		} else {
			k, err := strconv.Atoi(sliceSpec)
			if err != nil || k < 0 || k >= nz {
				return nil, nil, fmt.Errorf("--slice %q: want all or an index in 0..%d", sliceSpec, nz-1)
			}
			idx = []int{k}
		}
		var out []segInput
		for _, k := range idx {
			vals := append([]float32(nil), v.Data[k*nx*ny:(k+1)*nx*ny]...)
			out = append(out, segInput{
				name: fmt.Sprintf("%s slice %d", filepath.Base(path), k), index: k,
				img: &aisam.Image{H: ny, W: nx, Values: vals},
			})
		}
		return out, v, nil
	}
	if sliceSpec != "all" {
		return nil, nil, fmt.Errorf("--slice is for NIfTI volumes")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	im, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a PNG or JPEG image: %w", path, err)
	}
	bd := im.Bounds()
	w, h := bd.Dx(), bd.Dy()
	if w == 0 || h == 0 || w > 1<<14 || h > 1<<14 {
		return nil, nil, fmt.Errorf("%s: image size %dx%d", path, w, h)
	}
	pix := make([]uint8, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(im.At(bd.Min.X+x, bd.Min.Y+y)).(color.NRGBA)
			i := (y*w + x) * 3
			pix[i], pix[i+1], pix[i+2] = c.R, c.G, c.B
		}
	}
	return []segInput{{name: filepath.Base(path), img: &aisam.Image{H: h, W: w, Channels: 3, Pix: pix}, rgb: pix}}, nil, nil
}

// chooseWindow resolves --window (lo,hi, none or auto) for a volume with values vals;
// see the usage text for auto. It returns the window (nil: min-max per slice) and a
// description for the user.
func chooseWindow(flagVal string, cfg aisam.Config, stored bool, vals []float32) (*[2]float64, string, error) {
	switch flagVal {
	case "none":
		return nil, "none (min-max per slice)", nil
	case "auto":
	default:
		v, err := parseFloats(flagVal, 2)
		if err == nil {
			err = finite(v)
		}
		if err == nil && !(v[0] < v[1]) {
			err = fmt.Errorf("lo %g must be below hi %g", v[0], v[1])
		}
		if err != nil {
			return nil, "", fmt.Errorf("--window %q: want lo,hi, none or auto: %w", flagVal, err)
		}
		return &[2]float64{v[0], v[1]}, fmt.Sprintf("[%g, %g] (--window)", v[0], v[1]), nil
	}
	if w := cfg.Preprocess.Window; w != nil {
		return w, fmt.Sprintf("[%g, %g] (stored in the model)", w[0], w[1]), nil
	}
	if stored {
		return nil, "none (the model's stored preprocessing: min-max per slice)", nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range vals {
		if f := float64(x); !math.IsNaN(f) {
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
	}
	if slices.Equal(cfg.Classes, aisam.SynapseClasses) && lo <= -500 && hi >= 100 {
		return &[2]float64{-125, 275}, "[-125, 275] (Synapse CT default: HU-like volume, Synapse classes)", nil
	}
	return nil, "none (min-max per slice: not a Synapse model on a HU-like volume)", nil
}

// grayDisplay maps intensities to 8-bit RGB for the overlay: through win when set (the
// model's view), else min-max.
func grayDisplay(v []float32, win *[2]float64) []uint8 {
	lo, hi := float32(0), float32(0)
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	if win != nil {
		lo, hi = float32(win[0]), float32(win[1])
	}
	out := make([]uint8, 3*len(v))
	for i, x := range v {
		g := uint8(0)
		if hi > lo {
			g = uint8((min(max(x, lo), hi) - lo) / (hi - lo) * 255)
		}
		out[3*i], out[3*i+1], out[3*i+2] = g, g, g
	}
	return out
}

// palette gives class i (>0) a distinct colour.
func palette(i int) color.NRGBA {
	base := []color.NRGBA{{230, 25, 75, 255}, {60, 180, 75, 255}, {255, 225, 25, 255}, {0, 130, 200, 255}, {245, 130, 48, 255},
		{145, 30, 180, 255}, {70, 240, 240, 255}, {240, 50, 230, 255}, {210, 245, 60, 255}, {250, 190, 212, 255},
		{0, 128, 128, 255}, {170, 110, 40, 255}}
	if i <= 0 {
		return color.NRGBA{0, 0, 0, 255}
	}
	return base[(i-1)%len(base)]
}

type resultJSON struct {
	Image      string             `json:"image"`
	Slice      *int               `json:"slice,omitempty"`
	Width      int                `json:"width"`
	Height     int                `json:"height"`
	Classes    []classJSON        `json:"classes"`
	UserPoints []aisam.UserPoint  `json:"user_points"`
	Window     *[2]float64        `json:"window,omitempty"` // NIfTI intensity window used (absent: min-max)
	Timing     map[string]float64 `json:"timing_seconds"`
}

type classJSON struct {
	Index int `json:"index"`
	aisam.ClassResult
	Box *boxJSON `json:"box,omitempty"`
}

type boxJSON struct {
	X0, Y0, X1, Y1 float64
	Mode           string `json:"mode"`
}

func writeSegmentOutputs(dir string, in segInput, m *aisam.Model, r *aisam.Result) error {
	h, w := r.H, r.W
	lab := image.NewGray(image.Rect(0, 0, w, h))
	copy(lab.Pix, r.Labels)
	if err := writePNG(filepath.Join(dir, "labels.png"), lab); err != nil {
		return err
	}
	ov := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, l := range r.Labels {
		c := color.NRGBA{in.rgb[3*i], in.rgb[3*i+1], in.rgb[3*i+2], 255}
		if l > 0 {
			p := palette(int(l))
			c.R = uint8((uint16(c.R)*55 + uint16(p.R)*45) / 100)
			c.G = uint8((uint16(c.G)*55 + uint16(p.G)*45) / 100)
			c.B = uint8((uint16(c.B)*55 + uint16(p.B)*45) / 100)
		}
		ov.Pix[4*i], ov.Pix[4*i+1], ov.Pix[4*i+2], ov.Pix[4*i+3] = c.R, c.G, c.B, 255
	}
	rad := max(3, min(w, h)/100)
	for ci, c := range r.Classes {
		if c.Box != nil {
			drawBox(ov, *c.Box, max(1, min(w, h)/200), palette(ci))
		}
	}
	for ci, c := range r.Classes {
		if !c.Present {
			continue
		}
		for _, p := range c.Points {
			if !p.Removed {
				drawDisc(ov, p.X, p.Y, rad, palette(ci), true)
			}
		}
	}
	for _, p := range r.UserPoints {
		drawSquare(ov, p.X, p.Y, rad, palette(p.Class), p.Positive)
	}
	if err := writePNG(filepath.Join(dir, "overlay.png"), ov); err != nil {
		return err
	}
	for ci, c := range r.Classes {
		mk := image.NewGray(image.Rect(0, 0, w, h))
		for i, l := range r.Labels {
			if int(l) == ci {
				mk.Pix[i] = 255
			}
		}
		if err := writePNG(filepath.Join(dir, fmt.Sprintf("class_%d_%s.png", ci, safeName(c.Name))), mk); err != nil {
			return err
		}
	}
	js := resultJSON{Image: in.name, Width: w, Height: h, UserPoints: r.UserPoints, Timing: map[string]float64{
		"embed": r.Timing.Embed.Seconds(), "autoprompt": r.Timing.AutoPrompt.Seconds(),
		"decode": r.Timing.Decode.Seconds(), "post": r.Timing.Post.Seconds(),
	}}
	if in.img.Values != nil {
		k := in.index
		js.Slice = &k
		js.Window = m.Cfg.Preprocess.Window
	}
	if js.UserPoints == nil {
		js.UserPoints = []aisam.UserPoint{}
	}
	for ci, c := range r.Classes {
		cj := classJSON{Index: ci, ClassResult: c}
		if c.Box != nil {
			mode := "gate"
			if c.Box.Mode == aisam.BoxToken {
				mode = "token"
			}
			cj.Box = &boxJSON{c.Box.X0, c.Box.Y0, c.Box.X1, c.Box.Y1, mode}
		}
		js.Classes = append(js.Classes, cj)
	}
	b, err := json.MarshalIndent(js, "", " ")
	if err != nil {
		return err
	}
	return fileio.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

func drawDisc(im *image.NRGBA, cx, cy float64, r int, c color.NRGBA, outline bool) {
	x0, y0 := int(cx+0.5), int(cy+0.5)
	for dy := -r - 1; dy <= r+1; dy++ {
		for dx := -r - 1; dx <= r+1; dx++ {
			d2 := dx*dx + dy*dy
			switch {
			case d2 <= r*r:
				im.SetNRGBA(x0+dx, y0+dy, c)
			case outline && d2 <= (r+1)*(r+1):
				im.SetNRGBA(x0+dx, y0+dy, color.NRGBA{0, 0, 0, 255})
			}
		}
	}
}

// drawBox outlines b (image pixels, edges included) with lines th pixels wide, inside
// the box so the outline shows what the box keeps.
func drawBox(im *image.NRGBA, b aisam.Box, th int, c color.NRGBA) {
	x0, y0 := int(math.Round(b.X0)), int(math.Round(b.Y0))
	x1, y1 := int(math.Round(b.X1)), int(math.Round(b.Y1))
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			if x < x0+th || x > x1-th || y < y0+th || y > y1-th {
				im.SetNRGBA(x, y, c)
			}
		}
	}
}

// drawSquare marks a user click: a filled square (positive) or a hollow ring (negative).
func drawSquare(im *image.NRGBA, cx, cy float64, r int, c color.NRGBA, filled bool) {
	x0, y0 := int(cx+0.5), int(cy+0.5)
	white := color.NRGBA{255, 255, 255, 255}
	for dy := -r - 1; dy <= r+1; dy++ {
		for dx := -r - 1; dx <= r+1; dx++ {
			edge := dx == -r-1 || dx == r+1 || dy == -r-1 || dy == r+1
			switch {
			case edge:
				im.SetNRGBA(x0+dx, y0+dy, white)
			case filled || dx <= -r+1 || dx >= r-1 || dy <= -r+1 || dy >= r-1:
				im.SetNRGBA(x0+dx, y0+dy, c)
			}
		}
	}
}

func writePNG(path string, im image.Image) error {
	return fileio.WriteAtomic(path, func(w io.Writer) error { return png.Encode(w, im) })
}

// writeLabelVolume writes the per-slice label maps as a NIfTI label volume with the
// input's geometry.
func writeLabelVolume(path string, v *nifti.Volume, labels [][]uint8) error {
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	data := make([]uint8, 0, nx*ny*nz)
	for _, l := range labels {
		data = append(data, l...)
	}
	sp := append([]float64(nil), v.Spacing...)
	for len(sp) < 3 {
		sp = append(sp, 1)
	}
	return nifti.WriteLabels(path, []int{nx, ny, nz}, sp[:3], v.Affine, data)
}
