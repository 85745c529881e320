package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisam/aisam/aisam"
	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/nifti"
)

func readLabelsPNG(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := im.(*image.Gray)
	if !ok {
		t.Fatalf("%s: %T, want 8-bit gray", path, im)
	}
	return g
}

type niftiResult struct {
	Image  string
	Slice  *int
	Width  int
	Height int
	Window *[2]float64
}

func readResult(t *testing.T, path string) niftiResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r niftiResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSegmentNIfTI segments the LAS, scaled-int16 fixture (74x92x6, 2x2x3 mm): every slice
// with --slice all (a folder per slice and labels.nii.gz with the input's geometry), and
// one slice with --slice 2 (the same labels as that slice of the volume run).
func TestSegmentNIfTI(t *testing.T) {
	in := filepath.Join(testref.Dir(t, "fixtures/nifti"), "brain_t1_las_scaled.nii.gz")
	src, err := nifti.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	model := tinyModel(t, []string{"background", "RV", "LV"}, 256, true)
	all := filepath.Join(t.TempDir(), "all")
	if err := runSegment(&bytes.Buffer{}, []string{"--model", model, "--image", in, "--out", all}); err != nil {
		t.Fatal(err)
	}
	lab, err := nifti.Open(filepath.Join(all, "labels.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's README: shape (74, 92, 6), 2x2x3 mm, x reversed (LAS).
	if !slices.Equal(lab.Dims[:3], []int{74, 92, 6}) || !slices.Equal(lab.Spacing[:3], []float64{2, 2, 3}) ||
		lab.Affine != src.Affine || lab.Orientation != "LAS" {
		t.Fatalf("labels.nii.gz: dims %v spacing %v orientation %s affine %v; input affine %v",
			lab.Dims, lab.Spacing, lab.Orientation, lab.Affine, src.Affine)
	}
	nx, ny := 74, 92
	perSlice := make([][]uint8, 6)
	differ := false
	for k := 0; k < 6; k++ {
		dir := filepath.Join(all, fmt.Sprintf("slice_%03d", k))
		g := readLabelsPNG(t, filepath.Join(dir, "labels.png"))
		if g.Rect.Dx() != nx || g.Rect.Dy() != ny {
			t.Fatalf("slice %d: labels.png %v, want %dx%d", k, g.Rect, nx, ny)
		}
		// Voxel (i, j, k) of the volume is pixel (x=i, y=j) of slice k's map.
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				if v := lab.At(i, j, k); v != float32(g.Pix[j*g.Stride+i]) {
					t.Fatalf("voxel (%d,%d,%d) = %g, slice PNG has %d", i, j, k, v, g.Pix[j*g.Stride+i])
				}
			}
		}
		perSlice[k] = g.Pix
		differ = differ || !bytes.Equal(g.Pix, perSlice[0])
		r := readResult(t, filepath.Join(dir, "result.json"))
		if r.Slice == nil || *r.Slice != k || r.Width != nx || r.Height != ny || r.Window != nil {
			t.Errorf("slice %d result.json: %+v", k, r)
		}
	}
	if !differ {
		t.Error("every slice has the same labels: the slices are not the volume's")
	}
	one := filepath.Join(t.TempDir(), "one")
	if err := runSegment(&bytes.Buffer{}, []string{"--model", model, "--image", in, "--slice", "2", "--out", one}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readLabelsPNG(t, filepath.Join(one, "labels.png")).Pix, perSlice[2]) {
		t.Error("--slice 2 labels differ from slice 2 of --slice all")
	}
	if r := readResult(t, filepath.Join(one, "result.json")); r.Slice == nil || *r.Slice != 2 || !strings.Contains(r.Image, "slice 2") {
		t.Errorf("--slice 2 result.json: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(one, "labels.nii.gz")); err == nil {
		t.Error("--slice 2 wrote labels.nii.gz for a single slice")
	}
	for _, bad := range []string{"6", "-1", "x"} {
		err := runSegment(&bytes.Buffer{}, []string{"--model", model, "--image", in, "--slice", bad, "--out", one})
		if err == nil || !strings.Contains(err.Error(), "--slice") {
			t.Errorf("--slice %s: err = %v", bad, err)
		}
	}
}

// ctVolume writes a small int16 CT-like volume in Hounsfield units (air -1000, soft
// tissue 40, bone 700) and returns its path.
func ctVolume(t *testing.T) string {
	t.Helper()
	nx, ny, nz := 40, 32, 2
	v := make([]int16, nx*ny*nz)
	for k := 0; k < nz; k++ {
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				hu := int16(-1000)
				if (i-20)*(i-20)+(j-16)*(j-16) < 14*14 {
					hu = int16(40 + 3*i - 2*j + 10*k)
				}
				if (i-26)*(i-26)+(j-12)*(j-12) < 9 {
					hu = 700
				}
				v[i+nx*(j+ny*k)] = hu
			}
		}
	}
	p := filepath.Join(t.TempDir(), "ct.nii.gz")
	aff := [4][4]float64{{0.8, 0, 0, 0}, {0, 0.8, 0, 0}, {0, 0, 5, 0}, {0, 0, 0, 1}}
	if err := nifti.WriteLabels(p, []int{nx, ny, nz}, []float64{0.8, 0.8, 5}, aff, v); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSegmentWindow checks which intensity window segment uses for a CT volume.
func TestSegmentWindow(t *testing.T) {
	ct := ctVolume(t)
	bare := tinyModel(t, aisam.SynapseClasses, 256, false) // checkpoint: no preprocessing stored
	saved := tinyModel(t, aisam.SynapseClasses, 256, true) // aisam format: stored, no window
	synapse := &[2]float64{-125, 275}
	run := func(t *testing.T, args ...string) (niftiResult, []uint8, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		var so bytes.Buffer
		if err := runSegment(&so, append([]string{"--image", ct, "--slice", "1", "--out", out}, args...)); err != nil {
			t.Fatal(err)
		}
		return readResult(t, filepath.Join(out, "result.json")), readLabelsPNG(t, filepath.Join(out, "labels.png")).Pix, so.String()
	}
	auto, autoLab, msg := run(t, "--model", bare)
	if auto.Window == nil || *auto.Window != *synapse || !strings.Contains(msg, "[-125, 275]") {
		t.Fatalf("bare Synapse checkpoint on CT: window %v (%q), want %v", auto.Window, msg, synapse)
	}
	if !testing.Short() {
		// The window reaches the model: an explicit identical window gives identical labels.
		if _, lab, _ := run(t, "--model", bare, "--window", "-125,275"); !bytes.Equal(lab, autoLab) {
			t.Error("--window -125,275 and the automatic Synapse window give different labels")
		}
	}
	for _, c := range []struct {
		name  string
		args  []string
		want  *[2]float64
		short bool // also under -short (TestChooseWindow covers the rest)
	}{
		{"stored preprocessing", []string{"--model", saved}, nil, true},
		{"none", []string{"--model", bare, "--window", "none"}, nil, false},
		{"explicit", []string{"--model", bare, "--window", "0,100"}, &[2]float64{0, 100}, false},
	} {
		if testing.Short() && !c.short {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			r, _, _ := run(t, c.args...)
			if (r.Window == nil) != (c.want == nil) || (r.Window != nil && *r.Window != *c.want) {
				t.Errorf("window %v, want %v", r.Window, c.want)
			}
		})
	}
	for _, bad := range []string{"275,-125", "1", "a,b", "NaN,1"} {
		err := runSegment(&bytes.Buffer{}, []string{"--model", bare, "--image", ct, "--window", bad, "--out", t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "--window") {
			t.Errorf("--window %s: err = %v", bad, err)
		}
	}
	png := testPNG(t, 20, 10)
	if err := runSegment(&bytes.Buffer{}, []string{"--model", bare, "--image", png, "--window", "none", "--out", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "--window") {
		t.Errorf("--window on a PNG: err = %v", err)
	}
}

// TestChooseWindow covers the automatic choice's conditions one by one.
func TestChooseWindow(t *testing.T) {
	syn, err := aisam.NewConfig("vit_b", aisam.SynapseClasses)
	if err != nil {
		t.Fatal(err)
	}
	acdc, err := aisam.NewConfig("vit_b", aisam.ACDCClasses)
	if err != nil {
		t.Fatal(err)
	}
	stored := syn
	stored.Preprocess.Window = &[2]float64{-200, 300}
	ct := []float32{-1024, -50, 40, 300}
	mri := []float32{0, 12, 250, 900}
	for _, c := range []struct {
		name   string
		flag   string
		cfg    aisam.Config
		stored bool
		vals   []float32
		want   *[2]float64
	}{
		{"synapse CT", "auto", syn, false, ct, &[2]float64{-125, 275}},
		{"synapse MRI", "auto", syn, false, mri, nil},
		{"ACDC CT", "auto", acdc, false, ct, nil},
		{"stored no window", "auto", syn, true, ct, nil},
		{"stored window", "auto", stored, true, mri, &[2]float64{-200, 300}},
		{"none overrides stored", "none", stored, true, ct, nil},
		{"explicit", "-1000,1000", acdc, false, mri, &[2]float64{-1000, 1000}},
	} {
		got, why, err := chooseWindow(c.flag, c.cfg, c.stored, c.vals)
		if err != nil || (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) || why == "" {
			t.Errorf("%s: window %v (%q, %v), want %v", c.name, got, why, err, c.want)
		}
	}
}
