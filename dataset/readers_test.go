package dataset

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/nifti"
)

type expArray struct {
	Shape  []int          `json:"shape"`
	Sum    float64        `json:"sum"`
	Min    float64        `json:"min"`
	Max    float64        `json:"max"`
	Counts map[string]int `json:"counts"`
}

type expSample struct {
	YX        []int   `json:"yx"`
	ZYX       []int   `json:"zyx"`
	Image     float64 `json:"image"`
	Img       float64 `json:"img"`
	ImageBits string  `json:"image_bits"`
	ImgBits   string  `json:"img_bits"`
	Label     float64 `json:"label"`
}

type expFile struct {
	Image       expArray    `json:"image"`
	Img         expArray    `json:"img"`
	Label       expArray    `json:"label"`
	SamplesYX   []expSample `json:"samples_yx"`
	SamplesZYX  []expSample `json:"samples_zyx"`
	ImageSlices []float64   `json:"image_slice_sums"`
}

type expected struct {
	Synapse struct {
		TrainList []string           `json:"train_list"`
		TestList  []string           `json:"test_list"`
		Train     map[string]expFile `json:"train"`
		Test      map[string]expFile `json:"test"`
	} `json:"synapse"`
	ACDC struct {
		Lists map[string][]string `json:"lists"`
		Files map[string]expFile  `json:"files"`
	} `json:"acdc"`
	NIfTI struct {
		T1Sum      float64        `json:"t1_sum"`
		T1Min      float64        `json:"t1_min"`
		T1Max      float64        `json:"t1_max"`
		T1Slices   []float64      `json:"t1_slice_sums"`
		AALSum     int            `json:"aal_sum"`
		AALNonzero int            `json:"aal_nonzero"`
		AALNLabels int            `json:"aal_n_labels"`
		AALMax     int            `json:"aal_max"`
		AALCounts  map[string]int `json:"aal_counts"`
		Voxels     []struct {
			IJK []int   `json:"ijk"`
			T1  float64 `json:"t1"`
			AAL int     `json:"aal"`
		} `json:"voxels"`
	} `json:"nifti"`
}

func loadExpected(t *testing.T) *expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures"), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func sum32(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s
}

func checkCounts(t *testing.T, what string, lab []int32, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, l := range lab {
		got[strconv.Itoa(int(l))]++
	}
	if len(got) != len(want) {
		t.Errorf("%s: label counts %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: label %s count %d, want %d", what, k, got[k], v)
		}
	}
}

func bits(t *testing.T, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

func TestSynapseFixture(t *testing.T) {
	e := loadExpected(t)
	ds, err := OpenSynapse(testref.Dir(t, "fixtures/synapse"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Train, e.Synapse.TrainList) || !slices.Equal(ds.Test, e.Synapse.TestList) {
		t.Fatalf("lists %v %v, want %v %v", ds.Train, ds.Test, e.Synapse.TrainList, e.Synapse.TestList)
	}
	if len(ds.Classes()) != 9 || ds.Classes()[8] != "pancreas" {
		t.Errorf("classes %v", ds.Classes())
	}
	for i, name := range ds.Train {
		s, err := ds.Slice(i)
		if err != nil {
			t.Fatal(err)
		}
		want := e.Synapse.Train[name]
		if s.Name != name || s.H != 64 || s.W != 64 {
			t.Errorf("%s: got %s %dx%d", name, s.Name, s.H, s.W)
		}
		// Every partial sum is exact for these values (README), so == is right.
		if got := sum32(s.Image); got != want.Image.Sum {
			t.Errorf("%s: image sum %v, want %v", name, got, want.Image.Sum)
		}
		checkCounts(t, name, s.Label, want.Label.Counts)
		for _, sm := range want.SamplesYX {
			i := sm.YX[0]*s.W + sm.YX[1]
			if math.Float32bits(s.Image[i]) != bits(t, sm.ImageBits) || float64(s.Label[i]) != sm.Label {
				t.Errorf("%s %v: (%v, %d), want (%v, %v)", name, sm.YX, s.Image[i], s.Label[i], sm.Image, sm.Label)
			}
		}
	}
	check := func(name string, v *Volume, want expFile) {
		t.Helper()
		if !slices.Equal(v.Shape(), want.Image.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, v.Shape(), want.Image.Shape)
		}
		if got := sum32(v.Image); got != want.Image.Sum {
			t.Errorf("%s: image sum %v, want %v", name, got, want.Image.Sum)
		}
		for z, ws := range want.ImageSlices {
			if got := sum32(v.Slice(z).Image); got != ws {
				t.Errorf("%s slice %d: sum %v, want %v", name, z, got, ws)
			}
		}
		checkCounts(t, name, v.Label, want.Label.Counts)
		for _, sm := range want.SamplesZYX {
			i := (sm.ZYX[0]*v.H+sm.ZYX[1])*v.W + sm.ZYX[2]
			if math.Float32bits(v.Image[i]) != bits(t, sm.ImageBits) || float64(v.Label[i]) != sm.Label {
				t.Errorf("%s %v: (%v, %d), want (%v, %v)", name, sm.ZYX, v.Image[i], v.Label[i], sm.Image, sm.Label)
			}
		}
	}
	for i, name := range ds.Test {
		v, err := ds.Case(i)
		if err != nil {
			t.Fatal(err)
		}
		check(name, v, e.Synapse.Test[name+".npy.h5"])
	}
	// The chunked, deflated copy of case0001 (not in the list) reads the same.
	gz := &Synapse{Root: ds.Root, Test: []string{"case0001_gzip"}}
	v, err := gz.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	check("case0001_gzip", v, e.Synapse.Test["case0001.npy.h5"])
	if _, err := ds.Slice(5); err == nil {
		t.Error("slice 5 of 5 accepted")
	}
}

func TestACDCFixture(t *testing.T) {
	e := loadExpected(t)
	root := testref.Dir(t, "fixtures/acdc")
	for _, split := range []string{"train", "valid"} {
		ds, err := OpenACDC(root, split)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ds.Slices, e.ACDC.Lists[split]) || !slices.Equal(ds.Test, e.ACDC.Lists["test"]) {
			t.Fatalf("lists %v %v", ds.Slices, ds.Test)
		}
		for i, entry := range ds.Slices {
			s, err := ds.Slice(i)
			if err != nil {
				t.Fatal(err)
			}
			want := e.ACDC.Files[split+"/"+entry]
			if got := sum32(s.Image); math.Abs(got-want.Img.Sum) > 1e-9 {
				t.Errorf("%s: img sum %v, want %v", entry, got, want.Img.Sum)
			}
			st := ComputeStats(s.Image, s.Label)
			if st.Min != -1 || st.Max != 1 {
				t.Errorf("%s: range [%v, %v], want [-1, 1]", entry, st.Min, st.Max)
			}
			checkCounts(t, entry, s.Label, want.Label.Counts)
			for _, sm := range want.SamplesYX {
				i := sm.YX[0]*s.W + sm.YX[1]
				if math.Float32bits(s.Image[i]) != bits(t, sm.ImgBits) || float64(s.Label[i]) != sm.Label {
					t.Errorf("%s %v: (%v, %d), want (%v, %v)", entry, sm.YX, s.Image[i], s.Label[i], sm.Img, sm.Label)
				}
			}
		}
		if split != "train" {
			continue
		}
		for i, entry := range ds.Test {
			v, err := ds.Case(i)
			if err != nil {
				t.Fatal(err)
			}
			want := e.ACDC.Files["test/"+entry]
			if !slices.Equal(v.Shape(), want.Img.Shape) {
				t.Fatalf("%s: shape %v", entry, v.Shape())
			}
			if got := sum32(v.Image); math.Abs(got-want.Img.Sum) > 1e-9 {
				t.Errorf("%s: img sum %v, want %v", entry, got, want.Img.Sum)
			}
			checkCounts(t, entry, v.Label, want.Label.Counts)
			for _, sm := range want.SamplesZYX {
				i := (sm.ZYX[0]*v.H+sm.ZYX[1])*v.W + sm.ZYX[2]
				if math.Float32bits(v.Image[i]) != bits(t, sm.ImgBits) || float64(v.Label[i]) != sm.Label {
					t.Errorf("%s %v: (%v, %d), want (%v, %v)", entry, sm.ZYX, v.Image[i], v.Label[i], sm.Img, sm.Label)
				}
			}
		}
	}
	if _, err := OpenACDC(root, "test"); err == nil {
		t.Error("slice split test accepted")
	}
}

func TestNIfTIPairFixture(t *testing.T) {
	e := loadExpected(t)
	dir := testref.Dir(t, "fixtures/nifti")
	pairs, err := FindNIfTIPairs(dir)
	if err == nil {
		t.Fatalf("fixture folder has no naming convention, yet found %v", pairs)
	}
	for _, img := range []string{"brain_t1.nii.gz", "brain_t1_nifti2.nii.gz"} {
		ds, err := OpenNIfTI([]NIfTIPair{{Name: "brain", Image: filepath.Join(dir, img), Label: filepath.Join(dir, "brain_aal.nii.gz")}}, Intensity{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ds.NumSlices() != 6 || ds.NumCases() != 1 {
			t.Fatalf("%d slices %d cases", ds.NumSlices(), ds.NumCases())
		}
		v, err := ds.Case(0)
		if err != nil {
			t.Fatal(err)
		}
		if v.D != 6 || v.H != 92 || v.W != 74 || v.Spacing != [3]float64{3, 2, 2} {
			t.Fatalf("%s: %dx%dx%d spacing %v", img, v.D, v.H, v.W, v.Spacing)
		}
		if got := sum32(v.Image); got != e.NIfTI.T1Sum {
			t.Errorf("t1 sum %v, want %v", got, e.NIfTI.T1Sum)
		}
		for z, want := range e.NIfTI.T1Slices {
			s, err := ds.Slice(z)
			if err != nil {
				t.Fatal(err)
			}
			if got := sum32(s.Image); got != want {
				t.Errorf("slice %d sum %v, want %v", z, got, want)
			}
		}
		checkCounts(t, "aal", v.Label, e.NIfTI.AALCounts)
		for _, vx := range e.NIfTI.Voxels {
			i := (vx.IJK[2]*v.H+vx.IJK[1])*v.W + vx.IJK[0]
			if float64(v.Image[i]) != vx.T1 || int(v.Label[i]) != vx.AAL {
				t.Errorf("voxel %v: (%v, %d), want (%v, %d)", vx.IJK, v.Image[i], v.Label[i], vx.T1, vx.AAL)
			}
		}
	}
	// A CT-style window maps [lo, hi] to [0, 1] with clipping: here [0, 190] → v/190.
	w := [2]float64{0, 100}
	v, err := ReadNIfTIVolume("b", filepath.Join(dir, "brain_t1.nii.gz"), "", Intensity{Window: &w})
	if err != nil {
		t.Fatal(err)
	}
	st := ComputeStats(v.Image, nil)
	if st.Min != 0 || st.Max != 1 {
		t.Errorf("windowed range [%v, %v]", st.Min, st.Max)
	}
	i := (2*v.H+46)*v.W + 37 // t1 = 73
	if v.Image[i] != float32(73)/100 {
		t.Errorf("windowed voxel %v, want 0.73", v.Image[i])
	}
	// Mismatched grids are refused.
	if _, err := OpenNIfTI([]NIfTIPair{{Name: "x", Image: filepath.Join(dir, "brain_t1.nii.gz"), Label: filepath.Join(testref.Dir(t, "data/mri-ch2"), "aal.nii.gz")}}, Intensity{}, nil); err == nil {
		t.Error("image and label of different shapes accepted")
	}
}

// TestFindNIfTIPairsConventions pairs files by each naming convention FindNIfTIPairs
// documents; hidden files (the "._" resource forks of the Decathlon archives), unpaired
// images and non-NIfTI files are left out.
func TestFindNIfTIPairsConventions(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  []NIfTIPair // paths relative to the folder
	}{
		{"decathlon", []string{"imagesTr/la_003_0000.nii.gz", "labelsTr/la_003.nii.gz", "imagesTr/la_004_0000.nii.gz",
			"labelsTr/la_004.nii.gz", "imagesTr/._la_003_0000.nii.gz", "labelsTr/._la_003.nii.gz", "imagesTr/la_009_0000.nii.gz", "dataset.json"},
			[]NIfTIPair{{"la_003", "imagesTr/la_003_0000.nii.gz", "labelsTr/la_003.nii.gz"}, {"la_004", "imagesTr/la_004_0000.nii.gz", "labelsTr/la_004.nii.gz"}}},
		{"synapse raw", []string{"img/img0001.nii.gz", "label/label0001.nii.gz", "img/img0002.nii.gz", "label/label0002.nii.gz"},
			[]NIfTIPair{{"img0001", "img/img0001.nii.gz", "label/label0001.nii.gz"}, {"img0002", "img/img0002.nii.gz", "label/label0002.nii.gz"}}},
		{"images/labels", []string{"images/a.nii", "labels/a.nii", "images/b.nii.gz", "labels/c.nii.gz"},
			[]NIfTIPair{{"a", "images/a.nii", "labels/a.nii"}}},
		{"images/masks", []string{"images/p1.nii.gz", "masks/p1.nii.gz"},
			[]NIfTIPair{{"p1", "images/p1.nii.gz", "masks/p1.nii.gz"}}},
		{"suffixes", []string{"s1_image.nii.gz", "s1_label.nii.gz", "s2_ct.nii", "s2_seg.nii", "s3_img.nii.gz", "s3_gt.nii.gz",
			"s4_image.nii.gz", "._s5_image.nii.gz", "._s5_label.nii.gz", "notes.txt"},
			[]NIfTIPair{{"s1", "s1_image.nii.gz", "s1_label.nii.gz"}, {"s2", "s2_ct.nii", "s2_seg.nii"}, {"s3", "s3_img.nii.gz", "s3_gt.nii.gz"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				p := filepath.Join(dir, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("not read by the pairing"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := FindNIfTIPairs(dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []NIfTIPair
			for _, w := range c.want {
				want = append(want, NIfTIPair{w.Name, filepath.Join(dir, filepath.FromSlash(w.Image)), filepath.Join(dir, filepath.FromSlash(w.Label))})
			}
			if !slices.Equal(got, want) {
				t.Errorf("pairs %v\nwant %v", got, want)
			}
			if l, err := DetectLayout(dir); err != nil || l != LayoutNIfTIPairs {
				t.Errorf("layout %q, %v", l, err)
			}
		})
	}
}

// A NIfTI volume [X, Y, Z] with spacing (sx, sy, sz) becomes a Volume [D, H, W] =
// [Z, Y, X] with spacing (sz, sy, sx): checked with three different sizes and spacings,
// so that no two axes can be confused.
func TestNIfTIVolumeAxes(t *testing.T) {
	dir := t.TempDir()
	nx, ny, nz := 5, 4, 3
	lab := make([]uint8, nx*ny*nz)
	for k := range nz {
		for j := range ny {
			for i := range nx {
				lab[i+nx*(j+ny*k)] = uint8(100*k + 10*j + i) // on disk x fastest
			}
		}
	}
	aff := [4][4]float64{{0.7, 0, 0, 0}, {0, 0.9, 0, 0}, {0, 0, 2.5, 0}, {0, 0, 0, 1}}
	p := filepath.Join(dir, "a_label.nii.gz")
	if err := nifti.WriteLabels(p, []int{nx, ny, nz}, []float64{0.7, 0.9, 2.5}, aff, lab); err != nil {
		t.Fatal(err)
	}
	v, err := ReadNIfTIVolume("a", p, p, Intensity{})
	if err != nil {
		t.Fatal(err)
	}
	f32 := func(x float64) float64 { return float64(float32(x)) } // NIfTI-1 pixdim is float32
	if v.D != nz || v.H != ny || v.W != nx || v.Spacing != [3]float64{2.5, f32(0.9), f32(0.7)} {
		t.Fatalf("%dx%dx%d spacing %v, want %dx%dx%d (2.5, 0.9, 0.7)", v.D, v.H, v.W, v.Spacing, nz, ny, nx)
	}
	for z := range nz {
		for y := range ny {
			for x := range nx {
				if got := v.Label[(z*ny+y)*nx+x]; got != int32(100*z+10*y+x) {
					t.Fatalf("[z=%d, y=%d, x=%d] = %d", z, y, x, got)
				}
			}
		}
	}
}
