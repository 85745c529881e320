package dataset

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
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

// TestWriteSynapseH5H5py compares WriteSynapseH5 with what h5py itself writes for shapes
// other than the fixtures', and has h5py read the file back. It needs a python3 with h5py
// and numpy (Debian: python3-h5py) and skips without one.
func TestWriteSynapseH5H5py(t *testing.T) {
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(cand, "-c", "import h5py, numpy").Run() == nil {
			py = cand
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with h5py")
	}
	script := `
import sys, h5py, numpy as np
img, lab, ours, ref = sys.argv[1:5]
image, label = np.load(img), np.load(lab)
with h5py.File(ref, "w") as f:
    f.create_dataset("image", data=image)
    f.create_dataset("label", data=label)
with h5py.File(ours, "r") as f:
    assert f["image"].dtype == np.float32 and f["label"].dtype == np.float32
    assert np.array_equal(f["image"][()], image) and np.array_equal(f["label"][()], label)
`
	for _, o := range []SyntheticOptions{{H: 33, W: 50, Depth: 7, Cases: 1, Seed: 3}, {H: 512, W: 512, Depth: 2, Cases: 1, Seed: 5}} {
		g, err := NewSynthetic(o)
		if err != nil {
			t.Fatal(err)
		}
		v, err := g.Case(0)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		lab := make([]float32, len(v.Label))
		for i, l := range v.Label {
			lab[i] = float32(l)
		}
		ia, _ := npy.FromFloat32(v.Image, v.D, v.H, v.W)
		la, _ := npy.FromFloat32(lab, v.D, v.H, v.W)
		p := func(n string) string { return filepath.Join(dir, n) }
		if err := npy.WriteFile(p("img.npy"), ia); err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(p("lab.npy"), la); err != nil {
			t.Fatal(err)
		}
		if err := WriteSynapseH5(p("ours.npy.h5"), v); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(py, "-c", script, p("img.npy"), p("lab.npy"), p("ours.npy.h5"), p("ref.npy.h5")).CombinedOutput(); err != nil {
			t.Fatalf("%dx%dx%d: h5py: %v\n%s", v.D, v.H, v.W, err, out)
		}
		got, _ := os.ReadFile(p("ours.npy.h5"))
		want, _ := os.ReadFile(p("ref.npy.h5"))
		if !bytes.Equal(got, want) {
			n := 0
			for n < min(len(got), len(want)) && got[n] == want[n] {
				n++
			}
			t.Errorf("%dx%dx%d: %d bytes, h5py wrote %d; first difference at byte %d", v.D, v.H, v.W, len(got), len(want), n)
		}
	}
}

// A fractional label in an HDF5 test volume is refused, not truncated: the fixture's
// label data start at byte 51200 (README §1).
func TestH5PairFractionalLabel(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures/synapse/test_vol_h5"), "case0001.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[51200+4*100:], math.Float32bits(2.5))
	p := filepath.Join(t.TempDir(), "bad.npy.h5")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h5Pair(p); err == nil || !strings.Contains(err.Error(), "2.5 at element 100") {
		t.Errorf("fractional label: %v", err)
	}
}
