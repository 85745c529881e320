package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// TestWriteSynapseH5MatchesH5py rewrites the fixture's test volumes and compares the
// result byte for byte with the files h5py wrote.
func TestWriteSynapseH5MatchesH5py(t *testing.T) {
	root := testref.Dir(t, "fixtures/synapse")
	ds, err := OpenSynapse(root)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range ds.Test {
		v, err := ds.Case(i)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), name+".npy.h5")
		if err := WriteSynapseH5(out, v); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(out)
		want, _ := os.ReadFile(filepath.Join(root, "test_vol_h5", name+".npy.h5"))
		if !bytes.Equal(got, want) {
			n := 0
			for n < min(len(got), len(want)) && got[n] == want[n] {
				n++
			}
			t.Errorf("%s: %d bytes, want %d; first difference at byte %d", name, len(got), len(want), n)
		}
	}
	// Another shape reads back through the HDF5 reader.
	g, _ := NewSynthetic(SyntheticOptions{H: 24, W: 40, Depth: 5, Cases: 1})
	v, _ := g.Case(0)
	dir := t.TempDir()
	if err := WriteSynapseH5(filepath.Join(dir, "x.npy.h5"), v); err != nil {
		t.Fatal(err)
	}
	img, lab, shape, err := h5Pair(filepath.Join(dir, "x.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shape, []int{5, 24, 40}) || !slices.Equal(img, v.Image) || !slices.Equal(lab, v.Label) {
		t.Errorf("round trip: shape %v", shape)
	}
	if err := WriteSynapseH5(filepath.Join(dir, "y.npy.h5"), &Volume{Name: "y", D: 1, H: 2, W: 2, Image: make([]float32, 3), Label: make([]int32, 4)}); err == nil {
		t.Error("wrong image length accepted")
	}
}
