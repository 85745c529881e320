package dataset_test

import (
	"fmt"

	"github.com/aisam/aisam/dataset"
)

// Augmentations are a function of (seed, epoch, index): the same sample gets the same
// transform in every run, whichever worker loads it.
func ExampleAugmenter() {
	gen, _ := dataset.NewSynthetic(dataset.SyntheticOptions{H: 64, W: 64, Depth: 4, Cases: 1, Seed: 1})
	s, _ := gen.Slice(2)
	aug := dataset.NewAugmenter(42)
	a := aug.Apply(s, 0, 2)
	b := aug.Apply(s, 0, 2)
	fmt.Println(a.H == b.H && a.W == b.W && fmt.Sprint(a.Label) == fmt.Sprint(b.Label))
	// Output: true
}
