package nifti

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

type writeCase struct {
	name    string
	dims    []int
	spacing []float64
	affine  [4][4]float64
	labels  any
	qform   bool // whether the affine is representable as a qform
	orient  string
}

func writeCases() []writeCase {
	n := 6 * 5 * 4
	u8 := make([]uint8, n)
	i16 := make([]int16, n)
	for i := range u8 {
		u8[i] = uint8((i * 7) % 13)
		i16[i] = int16((i*331)%2000 - 1000)
	}
	c, s := math.Cos(0.4), math.Sin(0.4)
	return []writeCase{
		{"ras_u8.nii.gz", []int{6, 5, 4}, []float64{2, 2, 3},
			[4][4]float64{{2, 0, 0, -74}, {0, 2, 0, -107}, {0, 0, 3, 2}, {0, 0, 0, 1}}, u8, true, "RAS"},
		{"las_i16.nii", []int{6, 5, 4}, []float64{1.5, 1, 2},
			[4][4]float64{{-1.5, 0, 0, 72}, {0, 1, 0, -10}, {0, 0, 2, 5}, {0, 0, 0, 1}}, i16, true, "LAS"},
		{"oblique_u8.nii", []int{6, 5, 4}, []float64{1, 2, 3},
			[4][4]float64{{c, -2 * s, 0, 1}, {s, 2 * c, 0, 2}, {0, 0, 3, 3}, {0, 0, 0, 1}}, u8, true, "RAS"},
		{"shear_u8.nii", []int{6, 5, 4}, []float64{1, 1, 1},
			[4][4]float64{{1, 0.5, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, u8, false, "RAS"},
	}
}

func TestWriteLabelsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, c := range writeCases() {
		path := filepath.Join(dir, c.name)
		if err := WriteLabels(path, c.dims, c.spacing, c.affine, c.labels); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(v.Dims, c.dims) || v.IntentCode != IntentLabel || v.SformCode != 2 {
			t.Errorf("%s: dims %v intent %d sform %d", c.name, v.Dims, v.IntentCode, v.SformCode)
		}
		for i, s := range c.spacing {
			if math.Abs(v.Spacing[i]-s) > 1e-6 {
				t.Errorf("%s: spacing %v, want %v", c.name, v.Spacing, c.spacing)
			}
		}
		if !closeAffine(v.Affine, c.affine, 1e-5) || v.Orientation != c.orient {
			t.Errorf("%s: affine %v %s, want %v %s", c.name, v.Affine, v.Orientation, c.affine, c.orient)
		}
		if c.qform != (v.QformCode > 0) {
			t.Errorf("%s: qform_code %d", c.name, v.QformCode)
		}
		if c.qform {
			q, err := v.Header.qformAffine()
			if err != nil || !closeAffine(q, c.affine, 1e-5) {
				t.Errorf("%s: qform gives %v, %v; want %v", c.name, q, err, c.affine)
			}
		}
		for i := range v.Data {
			var want float32
			switch l := c.labels.(type) {
			case []uint8:
				want = float32(l[i])
			case []int16:
				want = float32(l[i])
			}
			if v.Data[i] != want {
				t.Fatalf("%s: voxel %d = %v, want %v", c.name, i, v.Data[i], want)
			}
		}
	}
	// The temp files were renamed away: only the written volumes remain.
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(writeCases()) {
		t.Errorf("%d files in the output folder", len(ents))
	}
}

func TestWriteLabelsRejects(t *testing.T) {
	id := [4][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		dims    []int
		spacing []float64
		affine  [4][4]float64
		labels  any
	}{
		{"short", []int{2, 2, 2}, []float64{1, 1, 1}, id, make([]uint8, 7)},
		{"type", []int{2, 2, 2}, []float64{1, 1, 1}, id, make([]float32, 8)},
		{"spacing", []int{2, 2, 2}, []float64{1, 0, 1}, id, make([]uint8, 8)},
		{"nspacing", []int{2, 2, 2}, []float64{1, 1}, id, make([]uint8, 8)},
		{"dim", []int{2, 0, 2}, []float64{1, 1, 1}, id, make([]uint8, 0)},
		{"nan", []int{2, 2, 2}, []float64{1, 1, 1}, [4][4]float64{{math.NaN()}}, make([]uint8, 8)},
	} {
		path := filepath.Join(dir, c.name+".nii")
		if err := WriteLabels(path, c.dims, c.spacing, c.affine, c.labels); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: a file was left behind", c.name)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("temp files left: %v", ents)
	}
}

// TestWriteLabelsNibabel loads the written files with nibabel. It needs a python3 with
// nibabel (Debian: apt-get install python3-nibabel) and skips without one: CI has no
// Python; the round trip above then still checks the format against our reader, which the
// nibabel-written fixtures check independently.
func TestWriteLabelsNibabel(t *testing.T) {
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(cand, "-c", "import nibabel").Run() == nil {
			py = cand
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with nibabel")
	}
	dir := t.TempDir()
	for _, c := range writeCases() {
		path := filepath.Join(dir, c.name)
		if err := WriteLabels(path, c.dims, c.spacing, c.affine, c.labels); err != nil {
			t.Fatal(err)
		}
		script := `
import json, sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
h = img.header
d = np.asanyarray(img.dataobj)
print(json.dumps({"shape": list(img.shape), "dtype": d.dtype.str, "affine": img.affine.tolist(),
  "qform": h.get_qform().tolist(), "qcode": int(h["qform_code"]), "intent": h.get_intent()[0],
  "zooms": [float(z) for z in h.get_zooms()], "values": [int(v) for v in d.ravel(order="F")],
  "axcodes": "".join(nib.aff2axcodes(img.affine))}))
`
		out, err := exec.Command(py, "-c", script, path).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: nibabel: %v\n%s", c.name, err, out)
		}
		var got struct {
			Shape   []int         `json:"shape"`
			Dtype   string        `json:"dtype"`
			Affine  [4][4]float64 `json:"affine"`
			Qform   [4][4]float64 `json:"qform"`
			Qcode   int           `json:"qcode"`
			Intent  string        `json:"intent"`
			Zooms   []float64     `json:"zooms"`
			Values  []int         `json:"values"`
			Axcodes string        `json:"axcodes"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		wantDtype := "|u1"
		if _, ok := c.labels.([]int16); ok {
			wantDtype = "<i2"
		}
		if !slices.Equal(got.Shape, c.dims) || got.Dtype != wantDtype || got.Intent != "label" || got.Axcodes != c.orient {
			t.Errorf("%s: nibabel sees shape %v dtype %s intent %s axcodes %s", c.name, got.Shape, got.Dtype, got.Intent, got.Axcodes)
		}
		if !closeAffine(got.Affine, c.affine, 1e-5) {
			t.Errorf("%s: nibabel affine %v, want %v", c.name, got.Affine, c.affine)
		}
		if c.qform && (got.Qcode == 0 || !closeAffine(got.Qform, c.affine, 1e-5)) {
			t.Errorf("%s: nibabel qform %v (code %d), want %v", c.name, got.Qform, got.Qcode, c.affine)
		}
		for i, s := range c.spacing {
			if math.Abs(got.Zooms[i]-s) > 1e-6 {
				t.Errorf("%s: nibabel zooms %v", c.name, got.Zooms)
			}
		}
		for i, v := range got.Values {
			var want int
			switch l := c.labels.(type) {
			case []uint8:
				want = int(l[i])
			case []int16:
				want = int(l[i])
			}
			if v != want {
				t.Fatalf("%s: nibabel voxel %d = %d, want %d", c.name, i, v, want)
			}
		}
	}
}
