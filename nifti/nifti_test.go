package nifti

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// expected mirrors the "nifti" section of shared/fixtures/expected.json (written by the
// fixture generator with nibabel, independently of this package).
type expected struct {
	Shape      []int          `json:"shape"`
	AffineT1   [4][4]float64  `json:"affine_brain_t1"`
	AffineLAS  [4][4]float64  `json:"affine_las"`
	T1Sum      float64        `json:"t1_sum"`
	T1Min      float64        `json:"t1_min"`
	T1Max      float64        `json:"t1_max"`
	T1Slices   []float64      `json:"t1_slice_sums"`
	T1Nonzero  int            `json:"t1_nonzero"`
	AALSum     int64          `json:"aal_sum"`
	AALNonzero int            `json:"aal_nonzero"`
	AALNLabels int            `json:"aal_n_labels"`
	AALMax     int            `json:"aal_max"`
	AALCounts  map[string]int `json:"aal_counts"`
	LASRawSum  int64          `json:"las_raw_sum"`
	LASRawMin  int            `json:"las_raw_min"`
	LASRawMax  int            `json:"las_raw_max"`
	Nifti2Sum  float64        `json:"nifti2_sum"`
	Voxels     []struct {
		IJK       [3]int     `json:"ijk"`
		Flat      int        `json:"flat_index"`
		World     [3]float64 `json:"world_mm"`
		T1        float64    `json:"t1"`
		AAL       int        `json:"aal"`
		LASIJK    [3]int     `json:"las_ijk"`
		LASRaw    int        `json:"las_raw"`
		LASScaled float64    `json:"las_scaled"`
	} `json:"voxels"`
	Headers map[string]struct {
		SizeofHdr  int        `json:"sizeof_hdr"`
		Dim        [8]int64   `json:"dim"`
		IntentCode int        `json:"intent_code"`
		Datatype   int        `json:"datatype"`
		Bitpix     int        `json:"bitpix"`
		Pixdim     [8]float64 `json:"pixdim"`
		VoxOffset  float64    `json:"vox_offset"`
		SclSlope   float64    `json:"scl_slope"`
		SclInter   float64    `json:"scl_inter"`
		XYZTUnits  int        `json:"xyzt_units"`
		QformCode  int        `json:"qform_code"`
		SformCode  int        `json:"sform_code"`
		Quatern    [3]float64 `json:"quatern_bcd"`
		Qoffset    [3]float64 `json:"qoffset_xyz"`
		SrowX      [4]float64 `json:"srow_x"`
		SrowY      [4]float64 `json:"srow_y"`
		SrowZ      [4]float64 `json:"srow_z"`
	} `json:"headers"`
}

func loadExpected(t *testing.T) *expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures"), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Nifti expected `json:"nifti"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return &all.Nifti
}

func fixture(t *testing.T, name string) string {
	return filepath.Join(testref.Dir(t, "fixtures/nifti"), name)
}

func TestFixtureHeaders(t *testing.T) {
	exp := loadExpected(t)
	for name, e := range exp.Headers {
		t.Run(name, func(t *testing.T) {
			v, err := Open(fixture(t, name))
			if err != nil {
				t.Fatal(err)
			}
			h := v.Header
			wantVersion := 1
			if e.SizeofHdr == 540 {
				wantVersion = 2
			}
			if h.Version != wantVersion {
				t.Errorf("version %d, want %d", h.Version, wantVersion)
			}
			if h.Dim != e.Dim {
				t.Errorf("dim %v, want %v", h.Dim, e.Dim)
			}
			if h.Datatype != e.Datatype || h.Bitpix != e.Bitpix || h.IntentCode != e.IntentCode {
				t.Errorf("datatype/bitpix/intent %d/%d/%d, want %d/%d/%d", h.Datatype, h.Bitpix, h.IntentCode, e.Datatype, e.Bitpix, e.IntentCode)
			}
			if h.Pixdim != e.Pixdim {
				t.Errorf("pixdim %v, want %v", h.Pixdim, e.Pixdim)
			}
			if float64(h.VoxOffset) != e.VoxOffset || h.SclSlope != e.SclSlope || h.SclInter != e.SclInter {
				t.Errorf("vox_offset/slope/inter %d/%v/%v, want %v/%v/%v", h.VoxOffset, h.SclSlope, h.SclInter, e.VoxOffset, e.SclSlope, e.SclInter)
			}
			if h.XYZTUnits != e.XYZTUnits || h.QformCode != e.QformCode || h.SformCode != e.SformCode {
				t.Errorf("units/qcode/scode %d/%d/%d, want %d/%d/%d", h.XYZTUnits, h.QformCode, h.SformCode, e.XYZTUnits, e.QformCode, e.SformCode)
			}
			if h.Quatern != e.Quatern || h.Qoffset != e.Qoffset {
				t.Errorf("quatern %v qoffset %v, want %v %v", h.Quatern, h.Qoffset, e.Quatern, e.Qoffset)
			}
			if h.Srow != [3][4]float64{e.SrowX, e.SrowY, e.SrowZ} {
				t.Errorf("srow %v", h.Srow)
			}
			wantDims := []int{int(e.Dim[1]), int(e.Dim[2]), int(e.Dim[3])}
			if !slices.Equal(v.Dims, wantDims) || !slices.Equal(v.Dims, exp.Shape) {
				t.Errorf("dims %v, want %v", v.Dims, wantDims)
			}
			for i, s := range v.Spacing {
				if s != e.Pixdim[i+1] {
					t.Errorf("spacing %v, want pixdim %v", v.Spacing, e.Pixdim[1:4])
				}
			}
			if len(v.Data) != 74*92*6 {
				t.Errorf("%d voxels", len(v.Data))
			}
		})
	}
}

func TestFixtureValues(t *testing.T) {
	exp := loadExpected(t)
	t1, err := Open(fixture(t, "brain_t1.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	t2, err := Open(fixture(t, "brain_t1_nifti2.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	las, err := Open(fixture(t, "brain_t1_las_scaled.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	aalgz, err := Open(fixture(t, "brain_aal.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	aal, err := Open(fixture(t, "brain_aal.nii"))
	if err != nil {
		t.Fatal(err)
	}

	// Affines and orientation: t1 uses the sform, nifti2 the sform, LAS the quaternion.
	for _, c := range []struct {
		name   string
		v      *Volume
		affine [4][4]float64
		orient string
	}{
		{"t1", t1, exp.AffineT1, "RAS"}, {"nifti2", t2, exp.AffineT1, "RAS"},
		{"aal", aal, exp.AffineT1, "RAS"}, {"las", las, exp.AffineLAS, "LAS"},
	} {
		if !closeAffine(c.v.Affine, c.affine, 1e-6) {
			t.Errorf("%s affine %v, want %v", c.name, c.v.Affine, c.affine)
		}
		if c.v.Orientation != c.orient {
			t.Errorf("%s orientation %q, want %q", c.name, c.v.Orientation, c.orient)
		}
	}
	// The LAS file's srow numbers must not be what produced its affine: its sform_code is 0.
	if las.SformCode != 0 {
		t.Fatalf("LAS sform_code %d", las.SformCode)
	}

	// Whole-volume statistics, physical values.
	for _, c := range []struct {
		name string
		v    *Volume
	}{{"t1", t1}, {"nifti2", t2}, {"las", las}} {
		sum, mn, mx, nz := stats(c.v.Data)
		if sum != exp.T1Sum || mn != exp.T1Min || mx != exp.T1Max || nz != exp.T1Nonzero {
			t.Errorf("%s: sum %v min %v max %v nonzero %d, want %v %v %v %d", c.name, sum, mn, mx, nz, exp.T1Sum, exp.T1Min, exp.T1Max, exp.T1Nonzero)
		}
	}
	plane := 74 * 92
	for k, want := range exp.T1Slices {
		s, _, _, _ := stats(t1.Data[k*plane : (k+1)*plane])
		if s != want {
			t.Errorf("t1 slice %d sum %v, want %v", k, s, want)
		}
	}
	if s, _, _, _ := stats(t2.Data); s != exp.Nifti2Sum {
		t.Errorf("nifti2 sum %v, want %v", s, exp.Nifti2Sum)
	}
	// Raw LAS values undo the scaling: raw = (phys - 50) / 0.5, exact for these integers.
	var rawSum int64
	rawMin, rawMax := math.MaxInt, math.MinInt
	for _, p := range las.Data {
		r := int((float64(p) - 50) / 0.5)
		rawSum += int64(r)
		rawMin, rawMax = min(rawMin, r), max(rawMax, r)
	}
	if rawSum != exp.LASRawSum || rawMin != exp.LASRawMin || rawMax != exp.LASRawMax {
		t.Errorf("LAS raw sum/min/max %d/%d/%d, want %d/%d/%d", rawSum, rawMin, rawMax, exp.LASRawSum, exp.LASRawMin, exp.LASRawMax)
	}

	// AAL histogram, from both the compressed and the uncompressed copy.
	for _, v := range []*Volume{aal, aalgz} {
		counts := map[string]int{}
		var sum int64
		nz, mx := 0, 0
		for _, p := range v.Data {
			l := int(p)
			counts[strconv.Itoa(l)]++
			sum += int64(l)
			if l != 0 {
				nz++
			}
			mx = max(mx, l)
		}
		if sum != exp.AALSum || nz != exp.AALNonzero || mx != exp.AALMax || len(counts)-1 != exp.AALNLabels {
			t.Errorf("AAL sum %d nonzero %d max %d labels %d", sum, nz, mx, len(counts)-1)
		}
		for k, want := range exp.AALCounts {
			if counts[k] != want {
				t.Errorf("AAL label %s: %d voxels, want %d", k, counts[k], want)
			}
		}
	}

	// Individual voxels and their world coordinates.
	for _, e := range exp.Voxels {
		i, j, k := e.IJK[0], e.IJK[1], e.IJK[2]
		if got := i + 74*(j+92*k); got != e.Flat {
			t.Errorf("flat index of %v = %d, want %d", e.IJK, got, e.Flat)
		}
		if g := t1.At(i, j, k); float64(g) != e.T1 {
			t.Errorf("t1%v = %v, want %v", e.IJK, g, e.T1)
		}
		if g := t2.At(i, j, k); float64(g) != e.T1 {
			t.Errorf("nifti2%v = %v, want %v", e.IJK, g, e.T1)
		}
		if g := aal.At(i, j, k); int(g) != e.AAL {
			t.Errorf("aal%v = %v, want %d", e.IJK, g, e.AAL)
		}
		li, lj, lk := e.LASIJK[0], e.LASIJK[1], e.LASIJK[2]
		if g := las.At(li, lj, lk); float64(g) != e.LASScaled {
			t.Errorf("las%v = %v, want %v", e.LASIJK, g, e.LASScaled)
		}
		for _, c := range []struct {
			v   *Volume
			ijk [3]int
		}{{t1, e.IJK}, {las, e.LASIJK}} {
			w := apply(c.v.Affine, c.ijk)
			for d := 0; d < 3; d++ {
				if math.Abs(w[d]-e.World[d]) > 1e-6 {
					t.Errorf("world of %v = %v, want %v", c.ijk, w, e.World)
					break
				}
			}
		}
	}
}

func TestReadStreamMatchesOpen(t *testing.T) {
	b, err := os.ReadFile(fixture(t, "brain_t1_las_scaled.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(fixture(t, "brain_t1_las_scaled.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != len(w.Data) || v.Orientation != w.Orientation {
		t.Fatal("Read and Open differ")
	}
	for i := range v.Data {
		if v.Data[i] != w.Data[i] {
			t.Fatalf("voxel %d: %v vs %v", i, v.Data[i], w.Data[i])
		}
	}
}

// TestRealMRI reads the full-size MRIcron templates (shared/data/mri-ch2): 181x217x181, 1 mm.
func TestRealMRI(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 3.5 MB of gzip")
	}
	dir := testref.Dir(t, "data/mri-ch2")
	ch2, err := Open(filepath.Join(dir, "ch2.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{181, 217, 181}
	if !slices.Equal(ch2.Dims, want) {
		t.Fatalf("dims %v, want %v", ch2.Dims, want)
	}
	for _, s := range ch2.Spacing {
		if s != 1 {
			t.Errorf("spacing %v, want 1 mm", ch2.Spacing)
		}
	}
	// README §3: source affine diag(1,1,1), offset (-90, -125, -71), sform code 4, uint8.
	wantA := [4][4]float64{{1, 0, 0, -90}, {0, 1, 0, -125}, {0, 0, 1, -71}, {0, 0, 0, 1}}
	if !closeAffine(ch2.Affine, wantA, 1e-6) || ch2.Orientation != "RAS" || ch2.Datatype != DTUint8 {
		t.Errorf("affine %v orientation %s datatype %d", ch2.Affine, ch2.Orientation, ch2.Datatype)
	}
	// The fixture crop is ch2 voxel (16+2i, 18+2j, 73+3k): compare it with brain_t1.
	crop, err := Open(fixture(t, "brain_t1.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 6; k++ {
		for j := 0; j < 92; j++ {
			for i := 0; i < 74; i++ {
				if a, b := crop.At(i, j, k), ch2.At(16+2*i, 18+2*j, 73+3*k); a != b {
					t.Fatalf("crop (%d,%d,%d) = %v, ch2 = %v", i, j, k, a, b)
				}
			}
		}
	}
	aal, err := Open(filepath.Join(dir, "aal.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if aal.IntentCode != IntentLabel || !slices.Equal(aal.Dims, want) {
		t.Errorf("aal intent %d dims %v", aal.IntentCode, aal.Dims)
	}
}

func stats(d []float32) (sum, mn, mx float64, nz int) {
	mn, mx = math.Inf(1), math.Inf(-1)
	for _, v := range d {
		f := float64(v)
		sum += f
		mn, mx = math.Min(mn, f), math.Max(mx, f)
		if v != 0 {
			nz++
		}
	}
	return
}

func apply(a [4][4]float64, ijk [3]int) [3]float64 {
	var w [3]float64
	for r := 0; r < 3; r++ {
		w[r] = a[r][0]*float64(ijk[0]) + a[r][1]*float64(ijk[1]) + a[r][2]*float64(ijk[2]) + a[r][3]
	}
	return w
}

func closeAffine(a, b [4][4]float64, tol float64) bool {
	for i := range a {
		for j := range a[i] {
			if math.Abs(a[i][j]-b[i][j]) > tol {
				return false
			}
		}
	}
	return true
}
