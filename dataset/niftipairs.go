package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aisam/aisam/nifti"
)

// NIfTIPair names one case: an image volume and its label volume (Label may be empty
// for an unlabelled case).
type NIfTIPair struct {
	Name  string
	Image string
	Label string
}

// Intensity says how raw volume values become model intensities.
type Intensity struct {
	// Window, when set, clips to [lo, hi] and maps that range linearly to [0, 1], in
	// float32 exactly as the Synapse preprocessing does: (clip(v, lo, hi) - lo) / (hi - lo).
	// [-125, 275] is the abdominal CT window of the published Synapse files.
	Window *[2]float64 `json:"window,omitempty"`
	// MinMax maps each volume's own [min, max] to [0, 1] (for MRI, whose values have no
	// fixed scale). Ignored when Window is set.
	MinMax bool `json:"minmax,omitempty"`
}

// Apply transforms a volume's values in place.
func (it Intensity) Apply(v []float32) {
	switch {
	case it.Window != nil:
		lo, hi := float32(it.Window[0]), float32(it.Window[1])
		den := hi - lo
		for i, x := range v {
			x = min(max(x, lo), hi)
			v[i] = (x - lo) / den
		}
	case it.MinMax:
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, x := range v {
			lo, hi = min(lo, x), max(hi, x)
		}
		den := hi - lo
		for i, x := range v {
			if den > 0 {
				v[i] = (x - lo) / den
			} else {
				v[i] = 0
			}
		}
	}
}

// Validate checks the window.
func (it Intensity) Validate() error {
	if it.Window != nil && !(it.Window[1] > it.Window[0]) {
		return fmt.Errorf("dataset: window [%v, %v] is empty", it.Window[0], it.Window[1])
	}
	return nil
}

// NIfTI is a set of image/label NIfTI volume pairs. Volumes are [X, Y, Z] on disk with x
// fastest, which is the memory order of a [Z, Y, X] array, so slice z of a case is the
// axial plane k = z with rows along y and columns along x, as nibabel-based
// preprocessing scripts (data.transpose(2, 1, 0)) produce.
type NIfTI struct {
	Pairs     []NIfTIPair
	Intensity Intensity
	Names     []string // class names; nil → "background", "class 1", ...
	depth     []int    // slices per case
	start     []int    // first global slice index per case

	mu     sync.Mutex
	cached *Volume
	cacheI int
}

// OpenNIfTI reads the headers of every pair (to count slices) and returns the dataset.
func OpenNIfTI(pairs []NIfTIPair, it Intensity, classes []string) (*NIfTI, error) {
	if err := it.Validate(); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, errors.New("dataset: no NIfTI pairs")
	}
	d := &NIfTI{Pairs: pairs, Intensity: it, Names: classes, cacheI: -1}
	d.start = make([]int, len(pairs)+1)
	for i, p := range pairs {
		dims, err := niftiDims(p.Image)
		if err != nil {
			return nil, err
		}
		if p.Label != "" {
			ld, err := niftiDims(p.Label)
			if err != nil {
				return nil, err
			}
			if ld != dims {
				return nil, fmt.Errorf("dataset: %s is %v but its label %s is %v", p.Image, dims, p.Label, ld)
			}
		}
		d.depth = append(d.depth, dims[0])
		d.start[i+1] = d.start[i] + dims[0]
	}
	return d, nil
}

// niftiDims returns [D, H, W] = [nz, ny, nx] from a header.
func niftiDims(path string) ([3]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return [3]int{}, err
	}
	defer f.Close()
	h, err := nifti.ReadHeader(f)
	if err != nil {
		return [3]int{}, fmt.Errorf("%s: %w", path, err)
	}
	return dhwOf(path, h.Dim)
}

func dhwOf(path string, dim [8]int64) ([3]int, error) {
	rank := int(dim[0])
	if rank < 2 || rank > 7 {
		return [3]int{}, fmt.Errorf("%s: rank %d, want a 2-D or 3-D volume", path, rank)
	}
	for k := 4; k <= rank; k++ {
		if dim[k] != 1 {
			return [3]int{}, fmt.Errorf("%s: dimension %d has size %d; only single 3-D volumes are supported", path, k, dim[k])
		}
	}
	nz := int64(1)
	if rank >= 3 {
		nz = dim[3]
	}
	if dim[1] <= 0 || dim[2] <= 0 || nz <= 0 || dim[1] > 1<<20 || dim[2] > 1<<20 || nz > 1<<20 {
		return [3]int{}, fmt.Errorf("%s: bad dimensions %v", path, dim[1:rank+1])
	}
	return [3]int{int(nz), int(dim[2]), int(dim[1])}, nil
}

// ReadNIfTIVolume reads an image (and optional label) NIfTI file into a Volume, with the
// intensity transform applied to the image.
func ReadNIfTIVolume(name, image, label string, it Intensity) (*Volume, error) {
	iv, err := nifti.Open(image)
	if err != nil {
		return nil, err
	}
	dhw, err := dhwOf(image, iv.Header.Dim)
	if err != nil {
		return nil, err
	}
	v := &Volume{Name: name, D: dhw[0], H: dhw[1], W: dhw[2], Image: iv.Data}
	sp := iv.Spacing
	for k := 0; k < 3 && k < len(sp); k++ {
		v.Spacing[2-k] = sp[k]
	}
	it.Apply(v.Image)
	if label != "" {
		lv, err := nifti.Open(label)
		if err != nil {
			return nil, err
		}
		ldhw, err := dhwOf(label, lv.Header.Dim)
		if err != nil {
			return nil, err
		}
		if ldhw != dhw {
			return nil, fmt.Errorf("dataset: %s is %v but its label %s is %v", image, dhw, label, ldhw)
		}
		// Same shape is not enough: a label stored in another orientation (say LAS
		// against RAS) would be silently mirrored.
		for r := range 3 {
			for c := range 4 {
				if math.Abs(iv.Affine[r][c]-lv.Affine[r][c]) > 1e-3*max(1, math.Abs(iv.Affine[r][c])) {
					return nil, fmt.Errorf("dataset: %s and its label %s are on different grids (voxel-to-world %v vs %v)", image, label, iv.Affine, lv.Affine)
				}
			}
		}
		if v.Label, err = toLabels(lv.Data, label); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Layout returns "nifti".
func (d *NIfTI) Layout() string { return "nifti" }

// Classes returns the class names given at open ("background" alone when none were:
// NIfTI files do not name their labels).
func (d *NIfTI) Classes() []string {
	if d.Names != nil {
		return d.Names
	}
	return []string{"background"}
}

// NumSlices returns the total number of axial slices over all cases.
func (d *NIfTI) NumSlices() int { return d.start[len(d.Pairs)] }

// Slice returns global slice i (cases in order, slices in order); the last case read is
// cached, so reading slices in order reads every file once.
func (d *NIfTI) Slice(i int) (*Slice, error) {
	if err := checkIndex(i, d.NumSlices(), "slice"); err != nil {
		return nil, err
	}
	c := sort.SearchInts(d.start, i+1) - 1
	d.mu.Lock()
	v := d.cached
	if d.cacheI != c {
		d.mu.Unlock()
		var err error
		if v, err = d.Case(c); err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.cached, d.cacheI = v, c
	}
	d.mu.Unlock()
	return v.Slice(i - d.start[c]), nil
}

// NumCases returns the number of pairs.
func (d *NIfTI) NumCases() int { return len(d.Pairs) }

// Case reads pair i.
func (d *NIfTI) Case(i int) (*Volume, error) {
	if err := checkIndex(i, len(d.Pairs), "case"); err != nil {
		return nil, err
	}
	p := d.Pairs[i]
	return ReadNIfTIVolume(p.Name, p.Image, p.Label, d.Intensity)
}

// niftiStem strips .nii / .nii.gz; ok is false for other files.
func niftiStem(name string) (string, bool) {
	for _, suf := range []string{".nii.gz", ".nii"} {
		if strings.HasSuffix(strings.ToLower(name), suf) {
			return name[:len(name)-len(suf)], true
		}
	}
	return "", false
}

func niftiFiles(dir string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range ents {
		// Hidden files are not volumes: the Medical Decathlon archives carry a macOS
		// "._<name>.nii.gz" resource fork beside every file.
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if stem, ok := niftiStem(e.Name()); ok {
			out[stem] = filepath.Join(dir, e.Name())
		}
	}
	return out, nil
}

// FindNIfTIPairs pairs the NIfTI files of a folder by the common conventions:
// imagesTr/labelsTr (nnU-Net, Medical Decathlon; "_0000" channel suffixes dropped),
// img/label (the raw Synapse release: img0001 ↔ label0001), images/labels or
// images/masks (same names), or one folder with <stem>_image / <stem>_label files
// (also _img, _ct / _seg, _mask, _gt).
func FindNIfTIPairs(dir string) ([]NIfTIPair, error) {
	type conv struct{ img, lab, imgPrefix, labPrefix string }
	for _, c := range []conv{{"imagesTr", "labelsTr", "", ""}, {"img", "label", "img", "label"},
		{"images", "labels", "", ""}, {"images", "masks", "", ""}, {"image", "label", "", ""}} {
		imgs, err := niftiFiles(filepath.Join(dir, c.img))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		labs, err := niftiFiles(filepath.Join(dir, c.lab))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var pairs []NIfTIPair
		for stem, ip := range imgs {
			key := strings.TrimSuffix(stem, "_0000")
			ls := key
			if c.imgPrefix != "" && strings.HasPrefix(key, c.imgPrefix) {
				ls = c.labPrefix + strings.TrimPrefix(key, c.imgPrefix)
			}
			if lp, ok := labs[ls]; ok {
				pairs = append(pairs, NIfTIPair{Name: key, Image: ip, Label: lp})
			}
		}
		if len(pairs) > 0 {
			sortPairs(pairs)
			return pairs, nil
		}
	}
	files, err := niftiFiles(dir)
	if err != nil {
		return nil, err
	}
	var pairs []NIfTIPair
	for stem, ip := range files {
		for _, is := range []string{"_image", "_img", "_ct"} {
			if !strings.HasSuffix(stem, is) {
				continue
			}
			key := strings.TrimSuffix(stem, is)
			for _, ls := range []string{"_label", "_seg", "_mask", "_gt"} {
				if lp, ok := files[key+ls]; ok {
					pairs = append(pairs, NIfTIPair{Name: key, Image: ip, Label: lp})
					break
				}
			}
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("dataset: no image/label NIfTI pairs found in %s", dir)
	}
	sortPairs(pairs)
	return pairs, nil
}

func sortPairs(p []NIfTIPair) {
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
}
