package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aisam/aisam/dataset"
	"github.com/aisam/aisam/internal/testref"
)

func TestDataInspectFixtures(t *testing.T) {
	// Expected strings are the fixture READMEs' numbers (label counts, shapes, spacing).
	cases := []struct {
		rel  string
		want []string
	}{
		{"fixtures/synapse", []string{"synapse layout", "8 pancreas", "train slices: 5",
			"case0005_slice001", "0:3446 1:61 2:43 3:43 4:29 5:271 6:131 7:29 8:43",
			"test volumes: 2", "3x64x64", "0:10611 1:179 2:98 3:98 4:29 5:838 6:262 7:87 8:86"}},
		{"fixtures/acdc", []string{"acdc layout", "3 LV", "case_001_sliceED_0", "48x48 range [-1, 1]",
			"0:1625 1:182 2:264 3:233", "case_002_volume_ED", "4x48x48", "0:7217 1:475 2:904 3:620"}},
		{"fixtures/nifti", []string{"nifti layout", "brain_aal.nii.gz", "label volume 74x92x6 uint8 spacing 2x2x3",
			"brain_t1_las_scaled.nii.gz", "int16 spacing 2x2x3 orientation LAS scaled 0.5·raw+50 range [0, 190]",
			"brain_t1_nifti2.nii.gz", "float32", "note: no image/label pairing convention"}},
		{"fixtures/npy", []string{"npy layout", "float32_2x3x4.npy", "2x3x4 f4 range [-1, 4.75]",
			"compressed.npz:label", "16x80 u1", "0:256 1:256 2:256 3:256 8:256",
			// Integer ranges in full, also where float32 or float64 would round them.
			"2x2 i4 range [-2147483648, 2147483647]", "5 i8 range [-1099511627776, 9007199254740993]",
			"0x3 u1 empty", "6 f4 range [-Inf, +Inf] mean NaN, 1 NaN"}},
		// The metrics fixtures keep their masks in subfolders 2d/ and 3d/; the counts
		// are those of its README (n_pred, n_gt per class).
		{"fixtures/metrics", []string{"folders layout: 2 dataset folders: 2d (npy), 3d (npy)",
			"metrics/2d: npy layout", "files: 30", "… 20 more (-v lists every item)", "all: shapes ", "8x8 ×8",
			"metrics/3d: npy layout", "case1_gt.npy", "24x32x32 u1", "1:2254 2:755 3:190", "1:2643 2:747 3:168",
			"case2_pred.npy", "1:2506 2:539\n", "case3_gt.npy", "1:3022 3:204\n", "case3_pred_64.npy", "24x64x64 u1",
			"not inspected (no dataset layout): README.md, metrics_2d.json, metrics_3d.json"}},
		{"data/mri-ch2", []string{"nifti layout", "aal.nii.gz", "label volume 181x217x181 uint8 spacing 1x1x1",
			"ch2.nii.gz", "ch2bet.nii.gz", "(117 labels)"}},
		{"fixtures/synapse/test_vol_h5/case0001_gzip.npy.h5", []string{"file layout", "arrays: 2", "case0001_gzip.npy.h5:label",
			"0:10611 1:179"}},
	}
	for _, c := range cases {
		t.Run(c.rel, func(t *testing.T) {
			var out bytes.Buffer
			if err := dataInspect(&out, []string{testref.Dir(t, c.rel)}); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			for _, w := range c.want {
				if !strings.Contains(s, w) {
					t.Errorf("output lacks %q:\n%s", w, s)
				}
			}
			if strings.Contains(s, "ERROR") {
				t.Errorf("unreadable items:\n%s", s)
			}
		})
	}
	var out bytes.Buffer
	if err := dataInspect(&out, []string{t.TempDir()}); err == nil {
		t.Error("an empty folder has a layout")
	}
	// A file of no known type is an error, and so (after the listing) is an unreadable item.
	if err := dataInspect(&out, []string{filepath.Join(testref.Dir(t, "fixtures/nifti"), "aal_labels.txt")}); err == nil {
		t.Error("a text file inspected as data")
	}
	bad := t.TempDir()
	good, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures/npy"), "float64_3x5.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "ok.npy"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "cut.npy"), good[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = dataInspect(&out, []string{bad})
	if s := out.String(); err == nil || !strings.Contains(s, "cut.npy") || !strings.Contains(s, "ERROR") || !strings.Contains(s, "3x5 f8 range [-0.5, 1.25]") {
		t.Errorf("truncated file: err %v, output:\n%s", err, s)
	}
	// -max stops reading a loose folder early (16 files, the first npz holds 3 arrays).
	out.Reset()
	if err := dataInspect(&out, []string{"-max", "3", testref.Dir(t, "fixtures/npy")}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "files: 3\n") || !strings.Contains(s, "showing 3 items from the first 2 of 16 files") {
		t.Errorf("-max 3:\n%s", s)
	}
	// -v lists every item of a large group.
	out.Reset()
	if err := dataInspect(&out, []string{"-v", testref.Dir(t, "fixtures/metrics/2d")}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "two_components_vs_one_pred.npy") || strings.Contains(s, "more (-v") {
		t.Errorf("-v does not list every file:\n%s", s)
	}
	if err := dataInspect(&out, nil); err == nil {
		t.Error("no path accepted")
	}
}

func TestDataConvertNIfTI(t *testing.T) {
	dir := testref.Dir(t, "fixtures/nifti")
	var exp struct {
		NIfTI struct {
			T1Slices  []float64      `json:"t1_slice_sums"`
			AALCounts map[string]int `json:"aal_counts"`
		} `json:"nifti"`
	}
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures"), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "conv")
	var log bytes.Buffer
	names := []string{"background"}
	for c := 1; c <= 111; c++ { // the crop's largest AAL label is 111
		names = append(names, "region "+strconv.Itoa(c))
	}
	args := []string{"-out", out, "-window", "0,200", "-test", "brain_t1_nifti2", "-classes", strings.Join(names, ","),
		filepath.Join(dir, "brain_t1.nii.gz") + ":" + filepath.Join(dir, "brain_aal.nii.gz"),
		filepath.Join(dir, "brain_t1_nifti2.nii.gz") + ":" + filepath.Join(dir, "brain_aal.nii"),
	}
	if err := dataConvert(&log, args); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenSynapse(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "test_vol_h5", "brain_t1_nifti2.npy.h5")); err != nil {
		t.Errorf("no HDF5 test volume: %v", err)
	}
	if ds.NumSlices() != 6 || ds.NumCases() != 1 || ds.Test[0] != "brain_t1_nifti2" {
		t.Fatalf("%d slices, cases %v\n%s", ds.NumSlices(), ds.Test, log.String())
	}
	if got := ds.Classes(); len(got) != 112 || got[111] != "region 111" {
		t.Errorf("classes %v", got)
	}
	hist := map[string]int{}
	for z := range 6 {
		s, err := ds.Slice(z)
		if err != nil {
			t.Fatal(err)
		}
		if s.H != 92 || s.W != 74 || s.Name != "brain_t1_slice00"+strconv.Itoa(z) {
			t.Fatalf("slice %d: %s %dx%d", z, s.Name, s.H, s.W)
		}
		sum := 0.0
		for _, v := range s.Image {
			sum += float64(v)
		}
		// Window [0, 200] on values in [0, 190]: image = t1/200.
		if want := exp.NIfTI.T1Slices[z] / 200; math.Abs(sum-want) > 1e-3 {
			t.Errorf("slice %d image sum %v, want %v", z, sum, want)
		}
		for _, l := range s.Label {
			hist[strconv.Itoa(int(l))]++
		}
	}
	v, err := ds.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	if v.D != 6 || v.H != 92 || v.W != 74 || v.Spacing != [3]float64{3, 2, 2} {
		t.Errorf("test volume %dx%dx%d spacing %v", v.D, v.H, v.W, v.Spacing)
	}
	vh := map[string]int{}
	for _, l := range v.Label {
		vh[strconv.Itoa(int(l))]++
	}
	for k, n := range exp.NIfTI.AALCounts {
		if hist[k] != n || vh[k] != n {
			t.Errorf("label %s: %d in the slices, %d in the volume, want %d", k, hist[k], vh[k], n)
		}
	}
	m, err := dataset.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Preprocessing.Intensity.Window == nil || *m.Preprocessing.Intensity.Window != [2]float64{0, 200} ||
		len(m.Cases) != 2 || m.Cases[0].SourceImage != filepath.Join(dir, "brain_t1.nii.gz") || m.Cases[1].Split != "test" {
		t.Errorf("manifest %+v", m)
	}
	// The converted folder inspects as Synapse.
	var ins bytes.Buffer
	if err := dataInspect(&ins, []string{out}); err != nil || !strings.Contains(ins.String(), "synapse layout") ||
		!strings.Contains(ins.String(), "spacing 3x2x2") {
		t.Errorf("inspect of the converted set: %v\n%s", err, ins.String())
	}
	// A second conversion into the same folder is refused; so is a bad window.
	if err := dataConvert(&log, args); err == nil {
		t.Error("conversion into a non-empty folder accepted")
	}
	if err := dataConvert(&log, []string{"-out", t.TempDir(), "-window", "5,1", dir}); err == nil {
		t.Error("window 5,1 accepted")
	}
	if err := dataConvert(&log, []string{"-out", t.TempDir(), "-classes", "background,region", args[len(args)-1]}); err == nil ||
		!strings.Contains(err.Error(), "labels go up to 111") {
		t.Errorf("2 class names for 111 labels: %v", err)
	}
}

func TestDataSynth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "synth")
	var log bytes.Buffer
	if err := dataSynth(&log, []string{"-out", out, "-cases", "3", "-test", "1", "-size", "32", "-depth", "6"}); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenSynapse(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "test_vol_h5", "synth0002.npy.h5")); err != nil {
		t.Errorf("no HDF5 test volume: %v", err)
	}
	if ds.NumCases() != 1 || ds.NumSlices() == 0 || ds.NumSlices() > 12 {
		t.Fatalf("%d slices %d cases", ds.NumSlices(), ds.NumCases())
	}
	g, _ := dataset.NewSynthetic(dataset.SyntheticOptions{H: 32, W: 32, Depth: 6, Cases: 3, Seed: 1})
	want, _ := g.Case(2)
	got, err := ds.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Image {
		if got.Image[i] != want.Image[i] || got.Label[i] != want.Label[i] {
			t.Fatalf("voxel %d differs from the generator", i)
		}
	}
}

func TestDataConvertNPZVolumes(t *testing.T) {
	dir := testref.Dir(t, "fixtures/nifti")
	out := filepath.Join(t.TempDir(), "conv")
	var log bytes.Buffer
	err := dataConvert(&log, []string{"-out", out, "-minmax", "-test-frac", "0.5", "-test-format", "npz",
		filepath.Join(dir, "brain_t1.nii.gz") + ":" + filepath.Join(dir, "brain_aal.nii.gz"),
		filepath.Join(dir, "brain_t1_nifti2.nii.gz") + ":" + filepath.Join(dir, "brain_aal.nii.gz")})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted names: brain_t1 < brain_t1_nifti2, so the last half is the NIfTI-2 case.
	if _, err := os.Stat(filepath.Join(out, "test_vol_h5", "brain_t1_nifti2.npz")); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenSynapse(out)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ds.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	// Without -classes the manifest names the classes generically, up to the largest
	// AAL label in the crop (111).
	if c := ds.Classes(); len(c) != 112 || c[0] != "background" || c[111] != "class 111" {
		t.Errorf("%d classes: %v...", len(c), c[:min(3, len(c))])
	}
	// Min-max over [0, 190].
	st := dataset.ComputeStats(v.Image, nil)
	if st.Min != 0 || st.Max != 1 {
		t.Errorf("range [%v, %v]", st.Min, st.Max)
	}
	i := (2*v.H+46)*v.W + 37 // (37, 46, 2) holds t1 = 73
	if v.Image[i] != float32(73)/190 {
		t.Errorf("voxel %v, want 73/190", v.Image[i])
	}
	// The LAS copy of the T1 stores x reversed: pairing it with the RAS atlas would
	// mirror the labels, so it is refused.
	err = dataConvert(&log, []string{"-out", filepath.Join(t.TempDir(), "las"),
		filepath.Join(dir, "brain_t1_las_scaled.nii.gz") + ":" + filepath.Join(dir, "brain_aal.nii.gz")})
	if err == nil || !strings.Contains(err.Error(), "different grids") {
		t.Errorf("LAS image with RAS label: %v", err)
	}
	if err := dataConvert(&log, []string{"-out", t.TempDir(), "-test-format", "hdf", dir}); err == nil {
		t.Error("-test-format hdf accepted")
	}
}
