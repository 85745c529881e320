package sam

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// Output modes of the automatic mask generator (the official output_mode values).
const (
	OutputBinaryMask      = "binary_mask"
	OutputUncompressedRLE = "uncompressed_rle"
	OutputCOCORLE         = "coco_rle"
)

// Limits of the mask generator's prompt counts: each grid point is a decoder prompt, so
// 1024 per side is already a million prompts per crop (32 is the official default), and a
// batch holds its prompts' low-res masks and upscaled logits at once.
const (
	MaxPointsPerSide  = 1024
	MaxPointsPerBatch = 4096
)

// AMGOptions are SamAutomaticMaskGenerator's parameters.
type AMGOptions struct {
	// PointsPerSide is the grid side on the whole image (32); ignored if PointGrids is set.
	PointsPerSide int
	// PointsPerBatch prompts run through the decoder together (64).
	PointsPerBatch int
	// PredIoUThresh keeps masks whose predicted IoU is above it (0.88; 0 disables).
	PredIoUThresh float64
	// StabilityScoreThresh keeps masks whose stability score is at least it (0.95; 0 disables).
	StabilityScoreThresh float64
	// StabilityScoreOffset is how far the logit threshold moves for the stability score (1).
	StabilityScoreOffset float64
	// BoxNMSThresh is the box IoU above which a lower-scored mask of one crop is dropped (0.7).
	BoxNMSThresh float64
	// CropNLayers adds layers of 4^i overlapping crops (0).
	CropNLayers int
	// CropNMSThresh is the box NMS threshold between crops (0.7).
	CropNMSThresh float64
	// CropOverlapRatio is the crop overlap as a fraction of the short side (512/1500).
	CropOverlapRatio float64
	// CropNPointsDownscaleFactor divides the grid side per crop layer (1).
	CropNPointsDownscaleFactor int
	// PointGrids, if set, gives one grid per crop layer in [0, 1] x [0, 1] (x, y).
	PointGrids [][][2]float64
	// MinMaskRegionArea removes holes and islands smaller than it (0 disables).
	MinMaskRegionArea int
	// OutputMode is OutputBinaryMask (records carry Segmentation), OutputUncompressedRLE or
	// OutputCOCORLE (records carry only RLE).
	OutputMode string
}

// DefaultAMGOptions returns the official defaults.
func DefaultAMGOptions() AMGOptions {
	return AMGOptions{
		PointsPerSide: 32, PointsPerBatch: 64, PredIoUThresh: 0.88,
		StabilityScoreThresh: 0.95, StabilityScoreOffset: 1, BoxNMSThresh: 0.7,
		CropNMSThresh: 0.7, CropOverlapRatio: 512.0 / 1500, CropNPointsDownscaleFactor: 1,
		OutputMode: OutputBinaryMask,
	}
}

// MaskRecord is one generated mask, as the official generate's records.
type MaskRecord struct {
	// Segmentation is the row-major H x W mask (OutputBinaryMask only).
	Segmentation []bool `json:"-"`
	// RLE is the mask's uncompressed COCO RLE (always set).
	RLE            RLE          `json:"-"`
	Area           int          `json:"area"`
	BBox           [4]int       `json:"bbox"` // XYWH; W = x1 - x0 with x1 the last column, as the official code
	PredictedIoU   float64      `json:"predicted_iou"`
	PointCoords    [][2]float64 `json:"point_coords"`
	StabilityScore float64      `json:"stability_score"`
	CropBox        [4]int       `json:"crop_box"` // XYWH
}

// MaskGenerator is SamAutomaticMaskGenerator: it prompts the model with a grid of points
// and keeps the good, stable, non-duplicate masks. Generate replaces the predictor's image.
type MaskGenerator struct {
	Predictor *Predictor
	Options   AMGOptions
	grids     [][][2]float64
}

// NewMaskGenerator checks o and builds the point grids.
func NewMaskGenerator(p *Predictor, o AMGOptions) (*MaskGenerator, error) {
	if p == nil || p.Model == nil {
		return nil, fmt.Errorf("sam: mask generator needs a predictor with a model")
	}
	switch {
	case o.PointGrids == nil && o.PointsPerSide <= 0:
		return nil, fmt.Errorf("sam: points per side %d must be positive (or give point grids)", o.PointsPerSide)
	case o.PointGrids == nil && o.PointsPerSide > MaxPointsPerSide:
		return nil, fmt.Errorf("sam: points per side %d is above %d (%d prompts per crop; the official default is 32)", o.PointsPerSide, MaxPointsPerSide, MaxPointsPerSide*MaxPointsPerSide)
	case o.PointsPerBatch <= 0 || o.PointsPerBatch > MaxPointsPerBatch:
		return nil, fmt.Errorf("sam: points per batch %d outside 1..%d", o.PointsPerBatch, MaxPointsPerBatch)
	case o.CropNLayers < 0 || o.CropNLayers > 8:
		return nil, fmt.Errorf("sam: crop layers %d outside 0..8", o.CropNLayers)
	case o.CropNPointsDownscaleFactor < 1:
		return nil, fmt.Errorf("sam: crop points downscale factor %d must be at least 1", o.CropNPointsDownscaleFactor)
	case o.MinMaskRegionArea < 0:
		return nil, fmt.Errorf("sam: min mask region area %d is negative", o.MinMaskRegionArea)
	case !(o.CropOverlapRatio >= 0 && o.CropOverlapRatio < 1):
		return nil, fmt.Errorf("sam: crop overlap ratio %g outside [0, 1)", o.CropOverlapRatio)
	}
	for _, v := range []float64{o.PredIoUThresh, o.StabilityScoreThresh, o.StabilityScoreOffset, o.BoxNMSThresh, o.CropNMSThresh} {
		if !finite(v) {
			return nil, fmt.Errorf("sam: mask generator threshold %g is not finite", v)
		}
	}
	switch o.OutputMode {
	case "":
		o.OutputMode = OutputBinaryMask
	case OutputBinaryMask, OutputUncompressedRLE, OutputCOCORLE:
	default:
		return nil, fmt.Errorf("sam: output mode %q (want %s, %s or %s)", o.OutputMode, OutputBinaryMask, OutputUncompressedRLE, OutputCOCORLE)
	}
	g := &MaskGenerator{Predictor: p, Options: o}
	if o.PointGrids != nil {
		if len(o.PointGrids) != o.CropNLayers+1 {
			return nil, fmt.Errorf("sam: %d point grids for %d crop layers (want one per layer)", len(o.PointGrids), o.CropNLayers+1)
		}
		for i, gr := range o.PointGrids {
			if len(gr) > MaxPointsPerSide*MaxPointsPerSide {
				return nil, fmt.Errorf("sam: point grid %d has %d points, above %d", i, len(gr), MaxPointsPerSide*MaxPointsPerSide)
			}
			for _, q := range gr {
				if !(q[0] >= 0 && q[0] <= 1 && q[1] >= 0 && q[1] <= 1) {
					return nil, fmt.Errorf("sam: point grid %d has point (%g, %g) outside [0, 1]^2", i, q[0], q[1])
				}
			}
		}
		g.grids = o.PointGrids
	} else {
		g.grids = BuildAllLayerPointGrids(o.PointsPerSide, o.CropNLayers, o.CropNPointsDownscaleFactor)
	}
	for i, gr := range g.grids {
		if len(gr) == 0 {
			return nil, fmt.Errorf("sam: point grid %d is empty", i)
		}
	}
	return g, nil
}

// BuildPointGrid returns n x n points evenly spaced in [0, 1]^2 (cell centres), x fastest,
// as numpy's linspace(1/2n, 1-1/2n, n).
func BuildPointGrid(n int) [][2]float64 {
	off := 1 / float64(2*n)
	side := make([]float64, n)
	step := (1 - off - off) / float64(n-1)
	for i := range side {
		side[i] = float64(float64(i)*step) + off
	}
	if n > 1 {
		side[n-1] = 1 - off
	} else {
		side[0] = off
	}
	out := make([][2]float64, 0, n*n)
	for _, y := range side {
		for _, x := range side {
			out = append(out, [2]float64{x, y})
		}
	}
	return out
}

// BuildAllLayerPointGrids returns one grid per crop layer, the side divided by
// scale^layer (truncated).
func BuildAllLayerPointGrids(n, layers, scale int) [][][2]float64 {
	out := make([][][2]float64, 0, layers+1)
	for i := range layers + 1 {
		out = append(out, BuildPointGrid(int(float64(n)/math.Pow(float64(scale), float64(i)))))
	}
	return out
}

// GenerateCropBoxes returns the crop boxes (XYXY) and their layers: the whole image, then
// for layer i 2^i x 2^i overlapping crops (x outer, y inner, as the official product).
func GenerateCropBoxes(h, w, layers int, overlapRatio float64) (boxes [][4]int, layerIdx []int) {
	boxes = append(boxes, [4]int{0, 0, w, h})
	layerIdx = append(layerIdx, 0)
	short := min(h, w)
	cropLen := func(orig, n, overlap int) int {
		return int(math.Ceil(float64(overlap*(n-1)+orig) / float64(n)))
	}
	for l := range layers {
		n := 1 << (l + 1)
		overlap := int(float64(overlapRatio*float64(short)) * (2 / float64(n)))
		cw, ch := cropLen(w, n, overlap), cropLen(h, n, overlap)
		for i := range n {
			for j := range n {
				x0, y0 := (cw-overlap)*i, (ch-overlap)*j
				boxes = append(boxes, [4]int{x0, y0, min(x0+cw, w), min(y0+ch, h)})
				layerIdx = append(layerIdx, l+1)
			}
		}
	}
	return boxes, layerIdx
}

// StabilityScore is the IoU of the mask at logit threshold thr+offset with the mask at
// thr-offset (the first is inside the second), in float32 as the official code; NaN for
// an empty union.
func StabilityScore(logits []float32, thr, offset float32) float32 {
	hi, lo := thr+offset, thr-offset
	var inter, union int32
	for _, v := range logits {
		if v > hi {
			inter++
		}
		if v > lo {
			union++
		}
	}
	return float32(inter) / float32(union)
}

// MaskToBox returns the mask's box XYXY with inclusive maxima (the last set column and
// row), or zeros for an empty mask, as batched_mask_to_box.
func MaskToBox(mask []bool, h, w int) [4]int {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := range h {
		row := mask[y*w : (y+1)*w]
		for x, v := range row {
			if v {
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return [4]int{}
	}
	return [4]int{x0, y0, x1, y1}
}

// NMS is torchvision's nms: boxes XYXY sorted by descending score (stably), each kept
// box suppressing later ones whose IoU with it (float32) is above thresh. It returns the
// kept indices in descending score order.
func NMS(boxes [][4]float32, scores []float32, thresh float64) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	area := func(b [4]float32) float32 { return (b[2] - b[0]) * (b[3] - b[1]) }
	suppressed := make([]bool, len(boxes))
	var keep []int
	for oi, i := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, i)
		bi, ai := boxes[i], area(boxes[i])
		for _, j := range order[oi+1:] {
			if suppressed[j] {
				continue
			}
			bj := boxes[j]
			w := max(0, min(bi[2], bj[2])-max(bi[0], bj[0]))
			h := max(0, min(bi[3], bj[3])-max(bi[1], bj[1]))
			inter := w * h
			if iou := inter / (ai + area(bj) - inter); float64(iou) > thresh {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// boxNearCropEdge reports whether a box (crop frame, XYXY) lies within 20 pixels of a crop
// edge that is not also an image edge (such masks are likely cut by the crop).
func boxNearCropEdge(box, crop [4]int, origW, origH int) bool {
	const atol = 20
	orig := [4]int{0, 0, origW, origH}
	for i := range 4 {
		v := box[i] + crop[i%2]
		nearCrop := math.Abs(float64(v-crop[i])) <= atol
		nearImage := math.Abs(float64(v-orig[i])) <= atol
		if nearCrop && !nearImage {
			return true
		}
	}
	return false
}

// RemoveSmallRegions is the official remove_small_regions with 8-connectivity: with holes
// it fills background components smaller than area; otherwise it drops islands smaller
// than area (keeping the largest if all are). It reports whether the mask changed.
func RemoveSmallRegions(mask []bool, h, w, area int, holes bool) ([]bool, bool) {
	work := make([]bool, len(mask))
	for i, v := range mask {
		work[i] = v != holes
	}
	labels, sizes := components8(work, h, w)
	small := map[int32]bool{}
	for i, s := range sizes {
		if s < area {
			small[int32(i+1)] = true
		}
	}
	if len(small) == 0 {
		return mask, false
	}
	out := make([]bool, len(mask))
	if holes {
		for i, l := range labels {
			out[i] = l == 0 || small[l]
		}
		return out, true
	}
	keepLargest := int32(0)
	if len(small) == len(sizes) {
		keepLargest = int32(1 + slices.Index(sizes, slices.Max(sizes)))
	}
	for i, l := range labels {
		out[i] = l != 0 && (!small[l] || l == keepLargest)
	}
	return out, true
}

// components8 labels the 8-connected components of set pixels 1, 2, ... in raster order of
// their first pixel (as OpenCV numbers them) and returns their sizes.
func components8(m []bool, h, w int) ([]int32, []int) {
	labels := make([]int32, len(m))
	var sizes []int
	var stack []int
	for start, v := range m {
		if !v || labels[start] != 0 {
			continue
		}
		id := int32(len(sizes) + 1)
		labels[start] = id
		n := 0
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			py, px := p/w, p%w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					y, x := py+dy, px+dx
					if y < 0 || y >= h || x < 0 || x >= w {
						continue
					}
					q := y*w + x
					if m[q] && labels[q] == 0 {
						labels[q] = id
						stack = append(stack, q)
					}
				}
			}
		}
		sizes = append(sizes, n)
	}
	return labels, sizes
}

// candidate is one mask kept so far (boxes and points in the original frame).
type candidate struct {
	rle   RLE
	box   [4]int // XYXY inclusive
	iou   float32
	stab  float32
	point [2]float64
	crop  [4]int // XYXY
}

// Generate returns the records of every mask found in im (HWC RGB), best first within
// each NMS pass, as the official generate.
func (g *MaskGenerator) Generate(ctx context.Context, im RGB) (recs []MaskRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			recs, err = nil, fmt.Errorf("sam: generate masks for a %dx%d image: %v", im.H, im.W, r)
		}
	}()
	if err := im.validate(); err != nil {
		return nil, err
	}
	o := g.Options
	crops, layers := GenerateCropBoxes(im.H, im.W, o.CropNLayers, o.CropOverlapRatio)
	var data []candidate
	for i, crop := range crops {
		c, err := g.processCrop(ctx, im, crop, layers[i])
		if err != nil {
			return nil, err
		}
		data = append(data, c...)
	}
	if len(crops) > 1 {
		boxes := make([][4]float32, len(data))
		scores := make([]float32, len(data))
		for i, d := range data {
			boxes[i] = boxF32(d.box)
			scores[i] = 1 / float32((d.crop[2]-d.crop[0])*(d.crop[3]-d.crop[1]))
		}
		data = pick(data, NMS(boxes, scores, o.CropNMSThresh))
	}
	if o.MinMaskRegionArea > 0 {
		if data, err = postprocessSmallRegions(data, o.MinMaskRegionArea, max(o.BoxNMSThresh, o.CropNMSThresh)); err != nil {
			return nil, err
		}
	}
	recs = make([]MaskRecord, len(data))
	for i, d := range data {
		r := MaskRecord{
			RLE: d.rle, Area: d.rle.Area(),
			BBox:           [4]int{d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]},
			PredictedIoU:   float64(d.iou),
			PointCoords:    [][2]float64{d.point},
			StabilityScore: float64(d.stab),
			CropBox:        [4]int{d.crop[0], d.crop[1], d.crop[2] - d.crop[0], d.crop[3] - d.crop[1]},
		}
		if o.OutputMode == OutputBinaryMask {
			m, err := d.rle.Decode()
			if err != nil {
				return nil, err
			}
			r.Segmentation = m
		}
		recs[i] = r
	}
	return recs, nil
}

func boxF32(b [4]int) [4]float32 {
	return [4]float32{float32(b[0]), float32(b[1]), float32(b[2]), float32(b[3])}
}

func pick(data []candidate, idx []int) []candidate {
	out := make([]candidate, len(idx))
	for i, j := range idx {
		out[i] = data[j]
	}
	return out
}

// processCrop runs the point grid of one crop and returns its masks after the crop's NMS.
func (g *MaskGenerator) processCrop(ctx context.Context, im RGB, crop [4]int, layer int) ([]candidate, error) {
	o := g.Options
	p := g.Predictor
	x0, y0, x1, y1 := crop[0], crop[1], crop[2], crop[3]
	cw, ch := x1-x0, y1-y0
	sub := im
	if cw != im.W || ch != im.H {
		sub = RGB{H: ch, W: cw, Pix: make([]uint8, 0, ch*cw*3)}
		for y := y0; y < y1; y++ {
			sub.Pix = append(sub.Pix, im.Pix[(y*im.W+x0)*3:(y*im.W+x1)*3]...)
		}
	}
	if err := p.SetImage(ctx, sub); err != nil {
		return nil, err
	}
	inH, inW := p.InputSize()
	pts := make([][2]float64, len(g.grids[layer]))
	for i, q := range g.grids[layer] {
		pts[i] = [2]float64{q[0] * float64(cw), q[1] * float64(ch)}
	}
	var data []candidate
	for b0 := 0; b0 < len(pts); b0 += o.PointsPerBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := pts[b0:min(b0+o.PointsPerBatch, len(pts))]
		c, err := g.processBatch(batch, crop, im.H, im.W, inH, inW)
		if err != nil {
			return nil, err
		}
		data = append(data, c...)
	}
	boxes := make([][4]float32, len(data))
	scores := make([]float32, len(data))
	for i, d := range data {
		boxes[i] = boxF32(d.box)
		scores[i] = d.iou
	}
	data = pick(data, NMS(boxes, scores, o.BoxNMSThresh))
	for i := range data {
		d := &data[i]
		d.box = [4]int{d.box[0] + x0, d.box[1] + y0, d.box[2] + x0, d.box[3] + y0}
		d.point = [2]float64{d.point[0] + float64(x0), d.point[1] + float64(y0)}
		d.crop = crop
	}
	return data, nil
}

// processBatch prompts with one batch of points (crop frame) and returns the masks that pass
// the IoU, stability and crop-edge filters (boxes and points still in the crop frame).
func (g *MaskGenerator) processBatch(pts [][2]float64, crop [4]int, origH, origW, inH, inW int) ([]candidate, error) {
	o := g.Options
	p := g.Predictor
	cw, ch := crop[2]-crop[0], crop[3]-crop[1]
	xy := make([]float64, 0, 2*len(pts))
	labels := make([][]int, len(pts))
	for i, q := range pts {
		xy = append(xy, q[0], q[1])
		labels[i] = []int{1}
	}
	coords := tensor.FromSlice(ScaleCoords(xy, ch, cw, inH, inW), len(pts), 1, 2)
	low, iou, err := p.PredictInput(&Points{Coords: coords, Labels: labels}, nil, nil, true)
	if err != nil {
		return nil, err
	}
	nm, lh, lw := low.Dim(1), low.Dim(2), low.Dim(3)
	n := len(pts) * nm
	out := make([]*candidate, n)
	errs := make([]error, n)
	iouThr, stabThr := float32(o.PredIoUThresh), float32(o.StabilityScoreThresh)
	full := cw == origW && ch == origH
	par.ForEach(n, func(i int) {
		score := iou.Data[i]
		if o.PredIoUThresh > 0 && !(score > iouThr) {
			return
		}
		one := tensor.FromSlice(low.Data[i*lh*lw:(i+1)*lh*lw], 1, 1, lh, lw)
		logits, err := p.Postprocess(one)
		if err != nil {
			errs[i] = err
			return
		}
		stab := StabilityScore(logits.Data, MaskThreshold, float32(o.StabilityScoreOffset))
		if o.StabilityScoreThresh > 0 && !(stab >= stabThr) {
			return
		}
		mask := make([]bool, ch*cw)
		for j, v := range logits.Data {
			mask[j] = v > MaskThreshold
		}
		box := MaskToBox(mask, ch, cw)
		if boxNearCropEdge(box, crop, origW, origH) {
			return
		}
		if !full {
			big := make([]bool, origH*origW)
			for y := range ch {
				copy(big[(y+crop[1])*origW+crop[0]:], mask[y*cw:(y+1)*cw])
			}
			mask = big
		}
		rle, err := EncodeRLE(mask, origH, origW)
		if err != nil {
			errs[i] = err
			return
		}
		out[i] = &candidate{rle: rle, box: box, iou: score, stab: stab, point: pts[i/nm]}
	})
	var res []candidate
	for i, c := range out {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if c != nil {
			res = append(res, *c)
		}
	}
	return res, nil
}

// postprocessSmallRegions removes small holes and islands from every mask; changed masks
// get score 0 and unchanged ones 1 in an NMS that prefers the unchanged (the official
// postprocess_small_regions).
func postprocessSmallRegions(data []candidate, area int, nmsThresh float64) ([]candidate, error) {
	if len(data) == 0 {
		return data, nil
	}
	masks := make([][]bool, len(data))
	boxes := make([][4]float32, len(data))
	scores := make([]float32, len(data))
	newBoxes := make([][4]int, len(data))
	for i, d := range data {
		m, err := d.rle.Decode()
		if err != nil {
			return nil, err
		}
		h, w := d.rle.H, d.rle.W
		m, c1 := RemoveSmallRegions(m, h, w, area, true)
		m, c2 := RemoveSmallRegions(m, h, w, area, false)
		masks[i] = m
		if !c1 && !c2 {
			scores[i] = 1
		}
		newBoxes[i] = MaskToBox(m, h, w)
		boxes[i] = boxF32(newBoxes[i])
	}
	keep := NMS(boxes, scores, nmsThresh)
	for _, i := range keep {
		if scores[i] == 0 {
			r, err := EncodeRLE(masks[i], data[i].rle.H, data[i].rle.W)
			if err != nil {
				return nil, err
			}
			data[i].rle = r
			data[i].box = newBoxes[i]
		}
	}
	return pick(data, keep), nil
}
