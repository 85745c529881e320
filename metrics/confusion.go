package metrics

import (
	"fmt"
	"math"
)

// Confusion is a square matrix of counts over classes 0..N-1: M[i][j] counts items of
// row class i that fall on ground-truth class j. As an output confusion matrix (OCM)
// the rows are predicted classes of pixels; as a prompt confusion matrix (PCM) they are
// the classes the prompts were generated for and the entries count (or weigh) the
// prompt points by the ground-truth class under them.
type Confusion struct {
	N int
	M [][]float64
}

// NewConfusion returns an empty n×n matrix.
func NewConfusion(n int) *Confusion {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
	}
	return &Confusion{N: n, M: m}
}

// AddLabels counts every pixel of a predicted label map against the ground truth
// (output confusion matrix). Labels outside 0..N-1 are an error.
func (c *Confusion) AddLabels(pred, gt []int32) error {
	if len(pred) != len(gt) {
		return fmt.Errorf("metrics: prediction has %d pixels, ground truth %d", len(pred), len(gt))
	}
	for i, p := range pred {
		g := gt[i]
		if p < 0 || int(p) >= c.N || g < 0 || int(g) >= c.N {
			return fmt.Errorf("metrics: label pair (%d, %d) at %d outside 0..%d", p, g, i, c.N-1)
		}
	}
	for i, p := range pred {
		c.M[p][gt[i]]++
	}
	return nil
}

// AddPoint counts one prompt point generated for class cls at pixel (y, x) of the
// ground-truth map gt of shape [h, w] (prompt confusion matrix). Weight 1 counts hard
// points; a soft point map can be added pixel by pixel with its weights.
func (c *Confusion) AddPoint(cls int, gt []int32, h, w int, y, x int, weight float64) error {
	if h*w != len(gt) {
		return fmt.Errorf("metrics: label map of %d pixels is not %dx%d", len(gt), h, w)
	}
	if cls < 0 || cls >= c.N {
		return fmt.Errorf("metrics: prompt class %d outside 0..%d", cls, c.N-1)
	}
	if y < 0 || y >= h || x < 0 || x >= w {
		return fmt.Errorf("metrics: point (%d, %d) outside the %dx%d image", y, x, h, w)
	}
	g := gt[y*w+x]
	if g < 0 || int(g) >= c.N {
		return fmt.Errorf("metrics: ground-truth label %d outside 0..%d", g, c.N-1)
	}
	c.M[cls][g] += weight
	return nil
}

// AddHeatmap adds a soft point map (one weight per pixel, e.g. a softmax over the image)
// for class cls: every pixel's weight goes to the ground-truth class under it.
func (c *Confusion) AddHeatmap(cls int, heat []float32, gt []int32) error {
	if len(heat) != len(gt) {
		return fmt.Errorf("metrics: heat map has %d pixels, label map %d", len(heat), len(gt))
	}
	if cls < 0 || cls >= c.N {
		return fmt.Errorf("metrics: prompt class %d outside 0..%d", cls, c.N-1)
	}
	for _, g := range gt {
		if g < 0 || int(g) >= c.N {
			return fmt.Errorf("metrics: ground-truth label %d outside 0..%d", g, c.N-1)
		}
	}
	for i, g := range gt {
		c.M[cls][g] += float64(heat[i])
	}
	return nil
}

// RowNormalized returns the matrix with every row divided by its sum (rows with no
// mass stay zero).
func (c *Confusion) RowNormalized() [][]float64 {
	out := make([][]float64, c.N)
	for i, row := range c.M {
		out[i] = make([]float64, c.N)
		s := 0.0
		for _, v := range row {
			s += v
		}
		if s == 0 {
			continue
		}
		for j, v := range row {
			out[i][j] = v / s
		}
	}
	return out
}

// SemanticSimilarity returns, per row class, the true-semantic similarity (TSS: the
// fraction of the row's mass on its own ground-truth class) and the false-semantic
// similarity (FSS: the fraction on other foreground classes; mass on background, class
// 0, counts for neither). Rows without mass give NaN.
func (c *Confusion) SemanticSimilarity() (tss, fss []float64) {
	tss = make([]float64, c.N)
	fss = make([]float64, c.N)
	for i, row := range c.M {
		s, other := 0.0, 0.0
		for j, v := range row {
			s += v
			if j != i && j != 0 {
				other += v
			}
		}
		if s == 0 {
			tss[i], fss[i] = math.NaN(), math.NaN()
			continue
		}
		tss[i] = row[i] / s
		fss[i] = other / s
	}
	return tss, fss
}

// PerClass returns precision, recall and IoU of every class of an output confusion
// matrix (rows predicted, columns ground truth); NaN where undefined.
func (c *Confusion) PerClass() (precision, recall, iou []float64) {
	precision = make([]float64, c.N)
	recall = make([]float64, c.N)
	iou = make([]float64, c.N)
	for k := range c.N {
		tp := c.M[k][k]
		rowSum, colSum := 0.0, 0.0
		for j := range c.N {
			rowSum += c.M[k][j]
			colSum += c.M[j][k]
		}
		precision[k] = ratio(tp, rowSum)
		recall[k] = ratio(tp, colSum)
		iou[k] = ratio(tp, rowSum+colSum-tp)
	}
	return
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
