// Package dataset reads segmentation datasets behind one interface that yields 2-D
// training slices and 3-D evaluation cases: Synapse in the TransUNet layout, ACDC in
// the MT-UNet/AI-SAM layout, paired NIfTI volumes, folders of image/mask PNG pairs and a
// synthetic CT-like generator. It also holds the training augmentations AI-SAM uses
// (rot90 + flip, small rotations, random crops; seeded and reproducible) and the
// resizing rules of its evaluation grid.
//
// Images are float32 and labels int32, both flat and row-major: a slice is [H, W] and a
// volume [D, H, W] (slices along the first axis, as numpy and the published files
// store them). Files are untrusted: a wrong key, shape or label value is an error
// naming the file.
package dataset

import (
	"errors"
	"fmt"
	"math"
)

// Slice is one 2-D sample.
type Slice struct {
	Name  string    // e.g. "case0005_slice000"
	H, W  int       // rows, columns
	Image []float32 // H*W intensities
	Label []int32   // H*W class indices
}

// Volume is one 3-D case, slices along the first axis.
type Volume struct {
	Name    string
	D, H, W int
	Image   []float32 // D*H*W
	Label   []int32   // D*H*W; nil when the case has no labels
	// Spacing is the voxel size (z, y, x) in millimetres; zero when unknown (the
	// TransUNet and ACDC files do not record it).
	Spacing [3]float64
}

// Shape returns [D, H, W].
func (v *Volume) Shape() []int { return []int{v.D, v.H, v.W} }

// Slice returns slice z as a Slice sharing the volume's memory.
func (v *Volume) Slice(z int) *Slice {
	n := v.H * v.W
	s := &Slice{Name: fmt.Sprintf("%s_slice%03d", v.Name, z), H: v.H, W: v.W, Image: v.Image[z*n : (z+1)*n]}
	if v.Label != nil {
		s.Label = v.Label[z*n : (z+1)*n]
	}
	return s
}

// Dataset yields 2-D slices (the training samples) and 3-D cases (the evaluation
// volumes). Either count may be zero.
type Dataset interface {
	// Layout names the format: "synapse", "acdc", "nifti", "png", "synthetic".
	Layout() string
	// Classes names the classes, index 0 being background.
	Classes() []string
	NumSlices() int
	Slice(i int) (*Slice, error)
	NumCases() int
	Case(i int) (*Volume, error)
}

// Class names of the published datasets (index 0 = background).
var (
	SynapseClasses = []string{"background", "spleen", "right kidney", "left kidney", "gallbladder",
		"liver", "stomach", "aorta", "pancreas"}
	ACDCClasses = []string{"background", "RV", "Myo", "LV"}
)

// ErrIndex is returned for a slice or case index out of range.
var ErrIndex = errors.New("dataset: index out of range")

func checkIndex(i, n int, what string) error {
	if i < 0 || i >= n {
		return fmt.Errorf("%w: %s %d of %d", ErrIndex, what, i, n)
	}
	return nil
}

// toLabels converts label values read as floats to int32, refusing fractions, NaN and
// values outside int32 (a label map is class indices, whatever dtype stored it).
func toLabels[F float32 | float64](v []F, what string) ([]int32, error) {
	out := make([]int32, len(v))
	for i, f := range v {
		x := float64(f)
		if x != math.Trunc(x) || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, fmt.Errorf("%s: label value %v at element %d is not an integer class", what, x, i)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// Stats summarises intensities and labels.
type Stats struct {
	Min, Max float64
	Mean     float64
	NaNs     int
	// Hist counts voxels per label value.
	Hist map[int32]int
}

// ComputeStats returns the intensity range and label histogram of an image and its
// labels (labels may be nil).
func ComputeStats(image []float32, label []int32) Stats {
	s := Stats{Min: math.Inf(1), Max: math.Inf(-1), Hist: map[int32]int{}}
	sum, n := 0.0, 0
	for _, v := range image {
		f := float64(v)
		if math.IsNaN(f) {
			s.NaNs++
			continue
		}
		s.Min = min(s.Min, f)
		s.Max = max(s.Max, f)
		sum += f
		n++
	}
	if n > 0 {
		s.Mean = sum / float64(n)
	} else {
		s.Min, s.Max, s.Mean = math.NaN(), math.NaN(), math.NaN()
	}
	for _, l := range label {
		s.Hist[l]++
	}
	return s
}
