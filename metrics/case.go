package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Label is an integer label type of a segmentation map.
type Label interface {
	~uint8 | ~uint16 | ~uint32 | ~int8 | ~int16 | ~int32 | ~int64 | ~int
}

// Convention decides how a class that is empty in the prediction or the ground truth
// is scored.
type Convention int

const (
	// Standard: both empty → Dice 1; a miss (prediction empty) or a false positive
	// (ground truth empty) → Dice 0; the surface distances of all three are undefined
	// (NaN, Defined false) and left out of the means.
	Standard Convention = iota
	// AISAM follows AI-SAM's calculate_metric_percase, as the paper reports: an empty
	// ground truth scores Dice 1, HD95 0 even when the prediction is not empty; an empty
	// prediction with a non-empty ground truth scores Dice 0, HD95 0.
	AISAM
)

// String names the convention as the CLI flags spell it.
func (c Convention) String() string {
	switch c {
	case Standard:
		return "standard"
	case AISAM:
		return "aisam"
	}
	return fmt.Sprintf("Convention(%d)", int(c))
}

// ParseConvention reads "standard" or "aisam".
func ParseConvention(s string) (Convention, error) {
	switch s {
	case "standard":
		return Standard, nil
	case "aisam", "ai-sam", "paper":
		return AISAM, nil
	}
	return 0, fmt.Errorf("metrics: unknown convention %q (want standard or aisam)", s)
}

// Outcome says which of the masks of a class are non-empty.
type Outcome int

const (
	BothPresent   Outcome = iota // prediction and ground truth non-empty
	FalsePositive                // ground truth empty, prediction not
	Miss                         // prediction empty, ground truth not
	BothEmpty                    // neither has the class
)

// String names the outcome.
func (o Outcome) String() string {
	names := [...]string{"both present", "false positive", "miss", "both empty"}
	if o < 0 || int(o) >= len(names) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return names[o]
}

// ClassScore is the score of one class of one case.
type ClassScore struct {
	Class      int
	Outcome    Outcome
	NPred      int // voxels of the class in the prediction
	NGT        int // in the ground truth
	Dice       float64
	Jaccard    float64
	HD95       float64 // NaN when undefined under the Standard convention
	HD         float64
	ASSD       float64
	Defined    bool // the surface distances count in the means
	Convention Convention
}

// CaseOptions configures EvaluateCase.
type CaseOptions struct {
	Options               // spacing and connectivity of the surface distances
	Convention Convention // empty-mask handling
}

// EvaluateCase scores every listed class (pred == c versus gt == c) of one case: a 2-D
// slice or a 3-D volume of the given shape, all slices together.
func EvaluateCase[L Label](pred, gt []L, shape []int, classes []int, opt CaseOptions) ([]ClassScore, error) {
	if err := checkShape(shape, len(pred)); err != nil {
		return nil, err
	}
	if len(gt) != len(pred) {
		return nil, fmt.Errorf("metrics: prediction has %d voxels, ground truth %d", len(pred), len(gt))
	}
	sp, c, err := opt.resolve(len(shape))
	if err != nil {
		return nil, err
	}
	if opt.Convention != Standard && opt.Convention != AISAM {
		return nil, fmt.Errorf("metrics: unknown convention %d", opt.Convention)
	}
	for _, cl := range classes {
		if L(cl) < 0 || int(L(cl)) != cl {
			return nil, fmt.Errorf("metrics: class %d does not fit the label type", cl)
		}
	}
	boxes := scanClasses(pred, gt, shape, classes)
	out := make([]ClassScore, 0, len(classes))
	for j, cl := range classes {
		var bp *boxPair
		if boxes != nil {
			bp = boxes[j]
		} else {
			bp = cropPair(pred, gt, L(cl), shape)
		}
		s, err := scoreBox(bp, cl, sp, c, opt.Convention)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// EvaluateMasks scores one binary mask pair as class 1.
func EvaluateMasks(pred, gt []bool, shape []int, opt CaseOptions) (ClassScore, error) {
	if err := checkShape(shape, len(pred)); err != nil {
		return ClassScore{}, err
	}
	if len(gt) != len(pred) {
		return ClassScore{}, fmt.Errorf("metrics: prediction has %d voxels, ground truth %d", len(pred), len(gt))
	}
	sp, c, err := opt.resolve(len(shape))
	if err != nil {
		return ClassScore{}, err
	}
	return scoreBox(cropPair(pred, gt, true, shape), 1, sp, c, opt.Convention)
}

func scoreBox(bp *boxPair, class int, sp []float64, c int, conv Convention) (ClassScore, error) {
	s := ClassScore{Class: class, NPred: bp.na, NGT: bp.nb, Convention: conv}
	nan := math.NaN()
	switch {
	case bp.na > 0 && bp.nb > 0:
		s.Outcome = BothPresent
		s.Dice = diceOf(bp.na, bp.nb, bp.ni)
		s.Jaccard = jaccardOf(bp.na, bp.nb, bp.ni)
		d, err := bp.distances(sp, c)
		if err != nil {
			return s, err
		}
		s.HD95, s.HD, s.ASSD, s.Defined = d.HD95(), d.HD(), d.ASSD(), true
		return s, nil
	case bp.na == 0 && bp.nb == 0:
		s.Outcome = BothEmpty
	case bp.nb == 0:
		s.Outcome = FalsePositive
	default:
		s.Outcome = Miss
	}
	if conv == AISAM {
		// calculate_metric_percase: gt empty → (1, 0, 1, 0); pred empty → (0, 0, 0, 0).
		s.Defined = true
		if bp.nb == 0 {
			s.Dice, s.Jaccard = 1, 1
		}
		return s, nil
	}
	s.Dice = diceOf(bp.na, bp.nb, bp.ni)
	s.Jaccard = jaccardOf(bp.na, bp.nb, bp.ni)
	s.HD95, s.HD, s.ASSD = nan, nan, nan
	return s, nil
}

// Summary holds the means over cases per class and their mean over classes.
type Summary struct {
	Classes  []int
	Dice     []float64 // per class, mean over cases
	HD95     []float64 // per class, mean over the cases where it is defined
	ASSD     []float64
	NDefined []int // cases with defined surface distances, per class
	NCases   int

	MeanDice, MeanHD95, MeanASSD float64 // means over classes (of classes with a value)
}

// ErrNoCases is returned by Summarize when there is nothing to average.
var ErrNoCases = errors.New("metrics: no cases to summarize")

// Summarize averages per-case class scores over cases, then over classes, as AI-SAM's
// test loop does (plain left-to-right float64 sums, so the numbers match its output).
// Every case must list the same classes in the same order. Under the Standard
// convention undefined distances are left out and a class with none gets NaN, which
// the mean over classes skips.
func Summarize(cases [][]ClassScore) (Summary, error) {
	if len(cases) == 0 {
		return Summary{}, ErrNoCases
	}
	nc := len(cases[0])
	s := Summary{NCases: len(cases), Classes: make([]int, nc), Dice: make([]float64, nc),
		HD95: make([]float64, nc), ASSD: make([]float64, nc), NDefined: make([]int, nc)}
	for j, c := range cases[0] {
		s.Classes[j] = c.Class
	}
	for i, cs := range cases {
		if len(cs) != nc {
			return Summary{}, fmt.Errorf("metrics: case %d has %d classes, case 0 has %d", i, len(cs), nc)
		}
		for j, c := range cs {
			if c.Class != s.Classes[j] {
				return Summary{}, fmt.Errorf("metrics: case %d lists class %d where case 0 has %d", i, c.Class, s.Classes[j])
			}
			s.Dice[j] += c.Dice
			if c.Defined {
				s.HD95[j] += c.HD95
				s.ASSD[j] += c.ASSD
				s.NDefined[j]++
			}
		}
	}
	for j := range nc {
		s.Dice[j] /= float64(len(cases))
		if s.NDefined[j] > 0 {
			s.HD95[j] /= float64(s.NDefined[j])
			s.ASSD[j] /= float64(s.NDefined[j])
		} else {
			s.HD95[j], s.ASSD[j] = math.NaN(), math.NaN()
		}
	}
	s.MeanDice, s.MeanHD95, s.MeanASSD = nanMean(s.Dice), nanMean(s.HD95), nanMean(s.ASSD)
	return s, nil
}

// nanMean is a left-to-right mean of the non-NaN values (NaN when there are none).
func nanMean(x []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range x {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// SliceAverage accumulates AI-SAM's validation convention (process_med): every 2-D
// slice is scored per class with the AISAM convention and the scores are averaged over
// slices, so slices where a class is absent from both masks count as Dice 1, HD95 0.
type SliceAverage struct {
	Classes []int
	Options Options
	n       int
	dice    []float64
	hd95    []float64
}

// Add scores one 2-D slice of shape [h, w].
func (a *SliceAverage) Add(pred, gt []int32, h, w int) error {
	sc, err := EvaluateCase(pred, gt, []int{h, w}, a.Classes, CaseOptions{Options: a.Options, Convention: AISAM})
	if err != nil {
		return err
	}
	if a.dice == nil {
		a.dice = make([]float64, len(a.Classes))
		a.hd95 = make([]float64, len(a.Classes))
	}
	for j, c := range sc {
		a.dice[j] += c.Dice
		a.hd95[j] += c.HD95
	}
	a.n++
	return nil
}

// Means returns the per-class mean Dice and HD95 over the added slices and the mean Dice
// over classes (the number process_med returns).
func (a *SliceAverage) Means() (dice, hd95 []float64, meanDice float64) {
	dice = make([]float64, len(a.Classes))
	hd95 = make([]float64, len(a.Classes))
	if a.n == 0 {
		return dice, hd95, math.NaN()
	}
	for j := range a.Classes {
		dice[j] = a.dice[j] / float64(a.n)
		hd95[j] = a.hd95[j] / float64(a.n)
	}
	return dice, hd95, pairwiseSum(dice) / float64(len(dice))
}
