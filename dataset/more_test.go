package dataset

import (
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
)

// TestRealMRI reads the full MRIcron ch2 T1 and AAL atlas as a NIfTI pair and checks
// them against the fixture crop, which README §3 defines as voxel (i, j, k) = source
// (16 + 2i, 18 + 2j, 73 + 3k).
func TestRealMRI(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 2 x 7 M voxels")
	}
	src := testref.Dir(t, "data/mri-ch2")
	fix := testref.Dir(t, "fixtures/nifti")
	ds, err := OpenNIfTI([]NIfTIPair{{Name: "ch2", Image: filepath.Join(src, "ch2.nii.gz"), Label: filepath.Join(src, "aal.nii.gz")}}, Intensity{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds.NumSlices() != 181 {
		t.Fatalf("%d slices, want 181", ds.NumSlices())
	}
	v, err := ds.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	if v.D != 181 || v.H != 217 || v.W != 181 || v.Spacing != [3]float64{1, 1, 1} {
		t.Fatalf("%dx%dx%d spacing %v", v.D, v.H, v.W, v.Spacing)
	}
	crop, err := ReadNIfTIVolume("crop", filepath.Join(fix, "brain_t1.nii.gz"), filepath.Join(fix, "brain_aal.nii.gz"), Intensity{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range crop.D {
		for j := range crop.H {
			for i := range crop.W {
				c := (k*crop.H+j)*crop.W + i
				s := ((73+3*k)*v.H+18+2*j)*v.W + 16 + 2*i
				if crop.Image[c] != v.Image[s] || crop.Label[c] != v.Label[s] {
					t.Fatalf("crop (%d,%d,%d) = (%v, %d), source (%v, %d)", i, j, k, crop.Image[c], crop.Label[c], v.Image[s], v.Label[s])
				}
			}
		}
	}
	st := ComputeStats(v.Image, v.Label)
	if st.Max <= 0 || len(st.Hist) != 117 { // 116 AAL regions + background
		t.Errorf("max %v, %d labels", st.Max, len(st.Hist))
	}
	// Min-max normalisation maps the volume onto [0, 1].
	ds.Intensity = Intensity{MinMax: true}
	s, err := ds.Slice(90)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Image[108*181+90]; got != v.Image[(90*217+108)*181+90]/float32(st.Max) {
		t.Errorf("min-max value %v", got)
	}
}

func writePNG(t *testing.T, path string, m image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestPNGPairs(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "images"), 0o755)
	os.Mkdir(filepath.Join(root, "masks"), 0o755)
	// a: grey image, binary 0/255 mask; b: colour image, paletted mask with 3 classes.
	ga := image.NewGray(image.Rect(0, 0, 5, 4))
	ma := image.NewGray(image.Rect(0, 0, 5, 4))
	for i := range ga.Pix {
		ga.Pix[i] = uint8(i * 10)
		if i%3 == 0 {
			ma.Pix[i] = 255
		}
	}
	writePNG(t, filepath.Join(root, "images", "a.png"), ga)
	writePNG(t, filepath.Join(root, "masks", "a.png"), ma)
	cb := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	cb.Set(1, 0, color.NRGBA{255, 0, 0, 255})
	pb := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White, color.NRGBA{0, 255, 0, 255}})
	pb.SetColorIndex(2, 1, 2)
	pb.SetColorIndex(0, 1, 1)
	writePNG(t, filepath.Join(root, "images", "b.png"), cb)
	writePNG(t, filepath.Join(root, "masks", "b.png"), pb)
	writePNG(t, filepath.Join(root, "images", "orphan.png"), cb)

	if l, err := DetectLayout(root); err != nil || l != LayoutPNG {
		t.Fatalf("layout %q %v", l, err)
	}
	ds, err := OpenPNG(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.Names, []string{"a", "b"}) {
		t.Fatalf("names %v", ds.Names)
	}
	a, err := ds.Slice(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Image {
		if a.Image[i] != float32(i*10)/255 || (a.Label[i] == 1) != (i%3 == 0) || a.Label[i] > 1 {
			t.Fatalf("a pixel %d: %v %d", i, a.Image[i], a.Label[i])
		}
	}
	b, err := ds.Slice(1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Label, []int32{0, 0, 0, 1, 0, 2}) {
		t.Errorf("paletted mask %v", b.Label)
	}
	// Red (255, 0, 0) has luma 0.299: Go's 16-bit model gives 19595/65535.
	if got := b.Image[1]; got < 0.298 || got > 0.3 {
		t.Errorf("luma of red %v", got)
	}
	v, err := ds.Case(1)
	if err != nil || v.D != 1 || v.H != 2 || v.W != 3 {
		t.Errorf("case: %v %+v", err, v)
	}
	// A colour mask is refused; a size mismatch too.
	writePNG(t, filepath.Join(root, "masks", "orphan.png"), cb)
	ds, _ = OpenPNG(root)
	if _, err := ds.Slice(2); err == nil || !strings.Contains(err.Error(), "colour mask") {
		t.Errorf("colour mask: %v", err)
	}
	writePNG(t, filepath.Join(root, "masks", "orphan.png"), ma)
	if _, err := ds.Slice(2); err == nil {
		t.Error("mask of another size accepted")
	}
	// Round trip of WriteMaskPNG.
	p := filepath.Join(root, "w.png")
	if err := WriteMaskPNG(p, []int32{0, 3, 7, 1, 2, 0}, 2, 3); err != nil {
		t.Fatal(err)
	}
	got, h, w, err := ReadMask(p)
	if err != nil || h != 2 || w != 3 || !slices.Equal(got, []int32{0, 3, 7, 1, 2, 0}) {
		t.Errorf("round trip %v %d %d %v", got, h, w, err)
	}
}

func writeNPZ(t *testing.T, path string, members ...npy.Member) {
	t.Helper()
	if err := npy.WriteNPZ(path, members, false); err != nil {
		t.Fatal(err)
	}
}

func f32(t *testing.T, v []float32, shape ...int) *npy.Array {
	t.Helper()
	a, err := npy.FromFloat32(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestReaderErrors(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "train_npz"), 0o755)
	os.MkdirAll(filepath.Join(root, "lists_Synapse"), 0o755)
	img := f32(t, make([]float32, 6), 2, 3)
	cases := []struct {
		name    string
		write   func(path string)
		wantErr string
	}{
		{"wrong_key", func(p string) {
			writeNPZ(t, p, npy.Member{Name: "img", Array: img}, npy.Member{Name: "label", Array: img})
		}, "no array \"image\""},
		{"shape_mismatch", func(p string) {
			writeNPZ(t, p, npy.Member{Name: "image", Array: img}, npy.Member{Name: "label", Array: f32(t, make([]float32, 6), 3, 2)})
		}, "differs from label shape"},
		{"fractional_label", func(p string) {
			writeNPZ(t, p, npy.Member{Name: "image", Array: img}, npy.Member{Name: "label", Array: f32(t, []float32{0, 1, 0.5, 0, 0, 0}, 2, 3)})
		}, "not an integer class"},
		{"volume_as_slice", func(p string) {
			v := f32(t, make([]float32, 12), 2, 2, 3)
			writeNPZ(t, p, npy.Member{Name: "image", Array: v}, npy.Member{Name: "label", Array: v})
		}, "want [H, W]"},
		{"corrupt", func(p string) { os.WriteFile(p, []byte("PK\x03\x04 this is not a zip"), 0o644) }, "npy"},
		{"missing", func(p string) {}, "no such file"},
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
		c.write(filepath.Join(root, "train_npz", c.name+".npz"))
	}
	os.WriteFile(filepath.Join(root, "lists_Synapse", "train.txt"), []byte(strings.Join(names, "\r\n")+"\r\n"), 0o644)
	ds, err := OpenSynapse(root)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		_, err := ds.Slice(i)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
	os.WriteFile(filepath.Join(root, "lists_Synapse", "train.txt"), []byte("../etc/passwd\n"), 0o644)
	if _, err := OpenSynapse(root); err == nil {
		t.Error("a list entry with a path accepted")
	}
}

// FuzzSynapseSlice feeds arbitrary bytes as a training slice file: the reader must
// return an error or a consistent slice, never panic.
func FuzzSynapseSlice(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join(testref.Dir(f, "fixtures/synapse/train_npz"), "case0005_slice000.npz"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "train_npz"), 0o755)
		os.WriteFile(filepath.Join(root, "train_npz", "x.npz"), b, 0o644)
		ds := &Synapse{Root: root, Train: []string{"x"}}
		s, err := ds.Slice(0)
		if err == nil && (len(s.Image) != s.H*s.W || len(s.Label) != s.H*s.W) {
			t.Fatalf("inconsistent slice %dx%d with %d/%d values", s.H, s.W, len(s.Image), len(s.Label))
		}
	})
}

func TestPNGHugeHeaderRefused(t *testing.T) {
	// A valid PNG signature and IHDR claiming 100000 x 100000 pixels, then nothing.
	var b []byte
	b = append(b, "\x89PNG\r\n\x1a\n"...)
	ihdr := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 0, 0, 0, 0}
	b = append(b, ihdr...)
	crc := crc32.ChecksumIEEE(ihdr[4:])
	b = append(b, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
	p := filepath.Join(t.TempDir(), "huge.png")
	os.WriteFile(p, b, 0o644)
	if _, _, _, err := ReadMask(p); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("huge PNG: %v", err)
	}
}

// A folder whose data sit in subfolders (fixtures/metrics: 2d/, 3d/) is a collection:
// Inspect reports each subfolder, Open refuses it, and a folder without data anywhere
// is still an error naming ErrNoLayout.
func TestFoldersLayout(t *testing.T) {
	dir := testref.Dir(t, "fixtures/metrics")
	if l, err := DetectLayout(dir); err != nil || l != LayoutFolders {
		t.Fatalf("layout %q, %v; want %q", l, err, LayoutFolders)
	}
	r, err := Inspect(dir, InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Parts) != 2 || r.Parts[0].Layout != LayoutNPY || filepath.Base(r.Parts[1].Path) != "3d" {
		t.Fatalf("parts %+v", r.Parts)
	}
	// README: 30 masks in 2d/ (15 cases × pred, gt), 8 volumes in 3d/.
	if n := len(r.Parts[0].Groups[0].Items); n != 30 {
		t.Errorf("2d: %d items, want 30", n)
	}
	if n := len(r.Parts[1].Groups[0].Items); n != 8 {
		t.Errorf("3d: %d items, want 8", n)
	}
	if _, err := Open(dir, OpenOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Open of a collection: %v", err)
	}
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "a", "b", "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := DetectLayout(empty); !errors.Is(err, ErrNoLayout) {
		t.Errorf("empty tree: %v", err)
	}
}

func TestLabelName(t *testing.T) {
	for name, want := range map[string]bool{
		"label": true, "case1_gt.npy": true, "label0001.nii.gz": true, "brain_aal.nii": true, "aal.nii.gz": true,
		"liver_mask.nii.gz": true, "masks": true, "img_seg.nii": true, "Segmentation.nii.gz": true, "labels_01.npy": true,
		"length.nii": false, "target.npy": false, "image": false, "img0001.nii.gz": false, "ch2.nii.gz": false, "massage.npy": false,
	} {
		if got := labelName.MatchString(name); got != want {
			t.Errorf("labelName(%q) = %v, want %v", name, got, want)
		}
	}
}

// The CT window [-125, 275] reproduces the published Synapse preprocessing: README §1
// writes image = (clip(HU, -125, 275) + 125) / 400 in float32, every value float32(k/400);
// and the fixture slices hold exactly those levels.
func TestSynapseWindowLevels(t *testing.T) {
	w := [2]float64{-125, 275}
	it := Intensity{Window: &w}
	hu := make([]float32, 0, 2101)
	for v := -1000; v <= 1100; v++ {
		hu = append(hu, float32(v))
	}
	got := slices.Clone(hu)
	it.Apply(got)
	levels := map[float32]bool{}
	for i, h := range hu {
		k := min(max(int(h), -125), 275) + 125
		want := float32(float64(k) / 400)
		if got[i] != want {
			t.Fatalf("HU %v → %v, want %v", h, got[i], want)
		}
		levels[want] = true
	}
	if len(levels) != 401 {
		t.Fatalf("%d levels", len(levels))
	}
	ds, err := OpenSynapse(testref.Dir(t, "fixtures/synapse"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds.NumSlices() {
		s, err := ds.Slice(i)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range s.Image {
			if !levels[v] {
				t.Fatalf("%s: value %v is not a window level", s.Name, v)
			}
		}
	}
}

// Synthetic cases span the field of view of a 512x512 slice at 0.8 mm with 3 mm slices:
// spacing is (z, y, x), so a non-square slice has different y and x spacings.
func TestSyntheticSpacing(t *testing.T) {
	g, err := NewSynthetic(SyntheticOptions{H: 32, W: 64, Depth: 2, Cases: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := g.Case(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := [3]float64{3, 12.8, 6.4}; v.Spacing != want || v.H != 32 || v.W != 64 {
		t.Errorf("%dx%d spacing %v, want %v", v.H, v.W, v.Spacing, want)
	}
}
