package dataset

import (
	"fmt"
	"path/filepath"
	"strings"
)

// ACDC is the MT-UNet/AI-SAM layout of the ACDC cardiac MRI set:
//
//	lists_ACDC/{train,valid,test}.txt   entries with the .npz extension
//	<split>/<entry>                     keys img, label; train/valid hold 2-D slices,
//	                                    test whole volumes [S, H, W]
//
// Slices come from one split (train by default), cases from the test split.
type ACDC struct {
	Root       string
	SliceSplit string
	Slices     []string
	Test       []string
}

// OpenACDC opens an ACDC folder; split selects the slices ("train" or "valid").
func OpenACDC(root, split string) (*ACDC, error) {
	if split == "" {
		split = "train"
	}
	if split != "train" && split != "valid" {
		return nil, fmt.Errorf("dataset: ACDC slice split %q (want train or valid)", split)
	}
	a := &ACDC{Root: root, SliceSplit: split}
	var err error
	a.Slices, err = listOrScan(filepath.Join(root, "lists_ACDC", split+".txt"), filepath.Join(root, split), ".npz")
	if err != nil {
		return nil, err
	}
	a.Test, err = listOrScan(filepath.Join(root, "lists_ACDC", "test.txt"), filepath.Join(root, "test"), ".npz")
	if err != nil {
		return nil, err
	}
	if len(a.Slices) == 0 && len(a.Test) == 0 {
		return nil, fmt.Errorf("dataset: %s has no ACDC slices or volumes", root)
	}
	return a, nil
}

// entryPath resolves a list entry (with or without .npz) under a split folder.
func (a *ACDC) entryPath(split, e string) string {
	if !strings.HasSuffix(e, ".npz") {
		e += ".npz"
	}
	return filepath.Join(a.Root, split, e)
}

// Layout returns "acdc".
func (a *ACDC) Layout() string { return "acdc" }

// Classes returns background, RV, Myo, LV.
func (a *ACDC) Classes() []string { return ACDCClasses }

// NumSlices returns the number of slices of the selected split.
func (a *ACDC) NumSlices() int { return len(a.Slices) }

// Slice reads slice i of the selected split.
func (a *ACDC) Slice(i int) (*Slice, error) {
	if err := checkIndex(i, len(a.Slices), "slice"); err != nil {
		return nil, err
	}
	path := a.entryPath(a.SliceSplit, a.Slices[i])
	img, lab, shape, err := npzPair(path, "img", "label")
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 {
		return nil, fmt.Errorf("%s: slice has shape %v, want [H, W]", path, shape)
	}
	return &Slice{Name: strings.TrimSuffix(a.Slices[i], ".npz"), H: shape[0], W: shape[1], Image: img, Label: lab}, nil
}

// NumCases returns the number of test volumes.
func (a *ACDC) NumCases() int { return len(a.Test) }

// Case reads test volume i.
func (a *ACDC) Case(i int) (*Volume, error) {
	if err := checkIndex(i, len(a.Test), "case"); err != nil {
		return nil, err
	}
	path := a.entryPath("test", a.Test[i])
	img, lab, shape, err := npzPair(path, "img", "label")
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("%s: test volume has shape %v, want [S, H, W]", path, shape)
	}
	return &Volume{Name: strings.TrimSuffix(a.Test[i], ".npz"), D: shape[0], H: shape[1], W: shape[2], Image: img, Label: lab}, nil
}
