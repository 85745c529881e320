package metrics_test

import (
	"fmt"

	"github.com/aisam/aisam/metrics"
)

// A 6x6 square against the same square shifted one column: each surface has 20 pixels,
// half of them at distance 0 and half at distance 1 from the other surface.
func Example() {
	const h, w = 12, 12
	pred := make([]uint8, h*w)
	gt := make([]uint8, h*w)
	for y := 3; y < 9; y++ {
		for x := 3; x < 9; x++ {
			gt[y*w+x] = 1
			pred[y*w+x+1] = 1
		}
	}
	scores, err := metrics.EvaluateCase(pred, gt, []int{h, w}, []int{1}, metrics.CaseOptions{})
	if err != nil {
		panic(err)
	}
	s := scores[0]
	fmt.Printf("dice %.4f hd95 %.1f assd %.2f\n", s.Dice, s.HD95, s.ASSD)
	// With 2 mm columns the same shift is 2 mm.
	scores, _ = metrics.EvaluateCase(pred, gt, []int{h, w}, []int{1},
		metrics.CaseOptions{Options: metrics.Options{Spacing: []float64{0.5, 2}}})
	fmt.Printf("hd95 %.1f mm\n", scores[0].HD95)
	// Output:
	// dice 0.8333 hd95 1.0 assd 0.50
	// hd95 2.0 mm
}

// An empty ground truth: AI-SAM counts a false positive as perfect, the standard
// convention as Dice 0 with an undefined distance.
func ExampleConvention() {
	pred := []int32{0, 1, 1, 0}
	gt := []int32{0, 0, 0, 0}
	for _, conv := range []metrics.Convention{metrics.AISAM, metrics.Standard} {
		s, _ := metrics.EvaluateCase(pred, gt, []int{2, 2}, []int{1}, metrics.CaseOptions{Convention: conv})
		fmt.Printf("%s: %s dice %v hd95 %v\n", conv, s[0].Outcome, s[0].Dice, s[0].HD95)
	}
	// Output:
	// aisam: false positive dice 1 hd95 0
	// standard: false positive dice 0 hd95 NaN
}
