package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Synapse is the TransUNet/SAMed layout of the Synapse multi-organ CT set:
//
//	lists_Synapse/train.txt       slice names → train_npz/<name>.npz (keys image, label)
//	lists_Synapse/test_vol.txt    case names  → test_vol_h5/<case>.npy.h5 (HDF5 image, label)
//
// Test volumes stored as test_vol_h5/<case>.npz (same keys; `aisam data convert
// -test-format npz`) are read too. Without list files the folders are listed instead.
type Synapse struct {
	Root   string
	Train  []string // slice names
	Test   []string // case names
	labels []string
}

// OpenSynapse opens a Synapse folder.
func OpenSynapse(root string) (*Synapse, error) {
	s := &Synapse{Root: root, labels: SynapseClasses}
	var err error
	s.Train, err = listOrScan(filepath.Join(root, "lists_Synapse", "train.txt"), filepath.Join(root, "train_npz"), ".npz")
	if err != nil {
		return nil, err
	}
	s.Test, err = listOrScan(filepath.Join(root, "lists_Synapse", "test_vol.txt"), filepath.Join(root, "test_vol_h5"), ".npy.h5", ".npz")
	if err != nil {
		return nil, err
	}
	if len(s.Train) == 0 && len(s.Test) == 0 {
		return nil, fmt.Errorf("dataset: %s has no Synapse training slices or test volumes", root)
	}
	// A converted set records its own class names.
	if m, err := ReadManifest(root); err == nil && len(m.Classes) > 0 {
		s.labels = m.Classes
	}
	return s, nil
}

// listOrScan reads a list file, or when it does not exist lists dir for files with one
// of the suffixes (names returned without the suffix).
func listOrScan(list, dir string, suffixes ...string) ([]string, error) {
	names, err := readList(list)
	if err == nil {
		return names, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		for _, suf := range suffixes {
			if !e.IsDir() && strings.HasSuffix(e.Name(), suf) {
				names = append(names, strings.TrimSuffix(e.Name(), suf))
				break
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// Layout returns "synapse".
func (s *Synapse) Layout() string { return "synapse" }

// Classes returns the 9 Synapse classes (or a converted set's own names).
func (s *Synapse) Classes() []string { return s.labels }

// NumSlices returns the number of training slices.
func (s *Synapse) NumSlices() int { return len(s.Train) }

// Slice reads training slice i.
func (s *Synapse) Slice(i int) (*Slice, error) {
	if err := checkIndex(i, len(s.Train), "slice"); err != nil {
		return nil, err
	}
	path := filepath.Join(s.Root, "train_npz", s.Train[i]+".npz")
	img, lab, shape, err := npzPair(path, "image", "label")
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 {
		return nil, fmt.Errorf("%s: training slice has shape %v, want [H, W]", path, shape)
	}
	return &Slice{Name: s.Train[i], H: shape[0], W: shape[1], Image: img, Label: lab}, nil
}

// NumCases returns the number of test volumes.
func (s *Synapse) NumCases() int { return len(s.Test) }

// Case reads test volume i.
func (s *Synapse) Case(i int) (*Volume, error) {
	if err := checkIndex(i, len(s.Test), "case"); err != nil {
		return nil, err
	}
	name := s.Test[i]
	var (
		img   []float32
		lab   []int32
		shape []int
		err   error
	)
	h5 := filepath.Join(s.Root, "test_vol_h5", name+".npy.h5")
	if _, serr := os.Stat(h5); serr == nil {
		img, lab, shape, err = h5Pair(h5)
	} else {
		alt := filepath.Join(s.Root, "test_vol_h5", name+".npz")
		if _, aerr := os.Stat(alt); aerr != nil {
			return nil, fmt.Errorf("dataset: test case %s: neither %s nor %s exists", name, h5, alt)
		}
		img, lab, shape, err = npzPair(alt, "image", "label")
	}
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("dataset: test case %s has shape %v, want [D, H, W]", name, shape)
	}
	v := &Volume{Name: name, D: shape[0], H: shape[1], W: shape[2], Image: img, Label: lab}
	if m, err := ReadManifest(s.Root); err == nil {
		if c, ok := m.Case(name); ok {
			v.Spacing = c.Spacing
		}
	}
	return v, nil
}
