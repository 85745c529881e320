package dataset

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aisam/aisam/hdf5"
	"github.com/aisam/aisam/nifti"
	"github.com/aisam/aisam/npy"
)

// Item describes one slice, case, volume or array found by Inspect.
type Item struct {
	Kind    string    // "train slice", "test case", "volume", "label volume", "array"
	Name    string    // file or case name
	Shape   []int     // array order ([D, H, W] for cases; NIfTI files: [X, Y, Z])
	Spacing []float64 // same order as Shape; nil when unknown
	DType   string
	Extra   string // orientation, keys, ...
	Stats   Stats  // intensities; Hist is the label histogram (nil when not a label map)
	// IntRange is the exact [min, max] of an integer array (Stats holds them as
	// float64, which rounds beyond 2^53); nil for other items.
	IntRange *[2]int64
	Err      error // the item could not be read
}

// Group is a set of items of one split.
type Group struct {
	Name  string // "train", "test", "volumes", ...
	Items []Item
}

// Report is what Inspect found at a path.
type Report struct {
	Path    string
	Layout  string
	Classes []string
	Groups  []Group
	Notes   []string
	// Parts are the reports of the subfolders of a LayoutFolders path, by name.
	Parts []*Report
}

// InspectOptions limits the work of Inspect.
type InspectOptions struct {
	MaxItems int // per group; 0 = all
}

// Inspect recognises the layout at path and reads every slice, case, volume or array
// (up to MaxItems per group) to report shapes, spacing, intensity ranges and label
// histograms. Unreadable items are reported with their error rather than stopping.
// A folder of such folders (LayoutFolders) gets one report per subfolder in Parts.
func Inspect(path string, opt InspectOptions) (*Report, error) {
	return inspect(path, opt, maxFolderDepth)
}

func inspect(path string, opt InspectOptions, depth int) (*Report, error) {
	layout, err := detectLayout(path, depth)
	if err != nil {
		return nil, err
	}
	r := &Report{Path: path, Layout: layout}
	limit := func(n int) int {
		if opt.MaxItems > 0 && n > opt.MaxItems {
			r.Notes = append(r.Notes, fmt.Sprintf("showing %d of %d items of a group (--max)", opt.MaxItems, n))
			return opt.MaxItems
		}
		return n
	}
	switch layout {
	case LayoutSynapse, LayoutACDC, LayoutPNG, LayoutNIfTIPairs:
		ds, err := Open(path, OpenOptions{})
		if err != nil {
			return nil, err
		}
		r.Classes = ds.Classes()
		sliceGroup, caseGroup := "train slices", "test volumes"
		switch layout {
		case LayoutPNG:
			sliceGroup, caseGroup = "pairs", ""
		case LayoutNIfTIPairs:
			sliceGroup, caseGroup = "", "cases"
		}
		if sliceGroup != "" && ds.NumSlices() > 0 {
			g := Group{Name: sliceGroup}
			for i := range limit(ds.NumSlices()) {
				s, err := ds.Slice(i)
				it := Item{Kind: "slice", Err: err}
				if err == nil {
					it.Name, it.Shape, it.Stats = s.Name, []int{s.H, s.W}, ComputeStats(s.Image, s.Label)
				}
				g.Items = append(g.Items, it)
			}
			r.Groups = append(r.Groups, g)
		}
		if caseGroup != "" && ds.NumCases() > 0 {
			g := Group{Name: caseGroup}
			for i := range limit(ds.NumCases()) {
				v, err := ds.Case(i)
				it := Item{Kind: "case", Err: err}
				if err == nil {
					it.Name, it.Shape, it.Stats = v.Name, v.Shape(), ComputeStats(v.Image, v.Label)
					if v.Spacing != [3]float64{} {
						it.Spacing = v.Spacing[:]
					}
				}
				g.Items = append(g.Items, it)
			}
			r.Groups = append(r.Groups, g)
		}
		if m, err := ReadManifest(path); err == nil {
			r.Notes = append(r.Notes, fmt.Sprintf("converted by %s on %s from %d source cases (%s)", m.Tool, m.Created, len(m.Cases), ManifestName))
		} else if layout == LayoutSynapse || layout == LayoutACDC {
			r.Notes = append(r.Notes, "voxel spacing is not stored in this layout")
		}
	case LayoutNIfTI, LayoutNPY:
		if layout == LayoutNIfTI {
			r.Notes = append(r.Notes, "no image/label pairing convention (imagesTr/labelsTr, img/label, images/labels, <name>_image + <name>_label); `aisam data convert` also takes explicit IMAGE:LABEL pairs")
		}
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		g := Group{Name: "files"}
		var names []string
		for _, e := range ents {
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for i, n := range names {
			if opt.MaxItems > 0 && len(g.Items) >= opt.MaxItems {
				// Stop reading: a large folder is the reason for -max.
				r.Notes = append(r.Notes, fmt.Sprintf("showing %d items from the first %d of %d files (--max)", opt.MaxItems, i, len(names)))
				break
			}
			g.Items = append(g.Items, inspectFile(filepath.Join(path, n))...)
		}
		if opt.MaxItems > 0 && len(g.Items) > opt.MaxItems {
			g.Items = g.Items[:opt.MaxItems] // the last file was an npz of several arrays
		}
		r.Groups = append(r.Groups, g)
	case LayoutFile:
		items := inspectFile(path)
		if items == nil {
			return nil, fmt.Errorf("dataset: %s: %w: not a .nii(.gz), .hdr, .npy, .npz or .h5 file", path, ErrNoLayout)
		}
		r.Groups = append(r.Groups, Group{Name: "arrays", Items: items})
	case LayoutFolders:
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		data := dataSubfolders(path, ents, depth-1)
		var other []string
		for _, e := range ents {
			if slices.Contains(data, e.Name()) {
				sub, err := inspect(filepath.Join(path, e.Name()), opt, depth-1)
				if err != nil {
					r.Notes = append(r.Notes, fmt.Sprintf("%s: %v", e.Name(), err))
					continue
				}
				r.Parts = append(r.Parts, sub)
			} else if !strings.HasPrefix(e.Name(), ".") {
				other = append(other, e.Name())
			}
		}
		if len(other) > 0 {
			r.Notes = append(r.Notes, "not inspected (no dataset layout): "+strings.Join(other, ", "))
		}
	}
	return r, nil
}

// labelName matches names of label maps: a word such as label, seg or gt, delimited by
// non-letters ("case1_gt.npy", "label0001.nii.gz"), so that "length" or "target" do not.
var labelName = regexp.MustCompile(`(?i)(^|[^a-z])(labels?|seg|segmentation|masks?|aal|atlas|gt)([^a-z]|$)`)

// inspectFile reports the arrays of one file (none for files of unknown type).
func inspectFile(path string) []Item {
	name := filepath.Base(path)
	low := strings.ToLower(name)
	switch {
	case strings.HasSuffix(low, ".nii") || strings.HasSuffix(low, ".nii.gz") || strings.HasSuffix(low, ".hdr") || strings.HasSuffix(low, ".hdr.gz"):
		v, err := nifti.Open(path)
		if err != nil {
			return []Item{{Kind: "volume", Name: name, Err: err}}
		}
		it := Item{Kind: "volume", Name: name, Shape: v.Dims, Spacing: v.Spacing,
			DType: niftiTypeName(v.Header.Datatype), Extra: "orientation " + v.Orientation}
		if slope, inter, err := v.Scaling(); err == nil && (slope != 1 || inter != 0) {
			// The range below is of physical values, not of the stored integers.
			it.Extra += fmt.Sprintf(" scaled %s·raw%+g", strconv.FormatFloat(slope, 'g', -1, 64), inter)
		}
		isLabel := v.Header.IntentCode == nifti.IntentLabel || (labelName.MatchString(name) && integral(v.Data))
		if isLabel {
			it.Kind = "label volume"
			it.Stats = labelStats(v.Data)
		} else {
			it.Stats = ComputeStats(v.Data, nil)
			it.Stats.Hist = nil
		}
		return []Item{it}
	case strings.HasSuffix(low, ".npy"):
		a, err := npy.ReadFile(path)
		if err != nil {
			return []Item{{Kind: "array", Name: name, Err: err}}
		}
		return []Item{arrayItem(name, a)}
	case strings.HasSuffix(low, ".npz"):
		z, err := npy.OpenNPZ(path)
		if err != nil {
			return []Item{{Kind: "array", Name: name, Err: err}}
		}
		defer z.Close()
		var out []Item
		for _, k := range z.Names() {
			a, err := z.Get(k)
			if err != nil {
				out = append(out, Item{Kind: "array", Name: name + ":" + k, Err: err})
				continue
			}
			out = append(out, arrayItem(name+":"+k, a))
		}
		return out
	case strings.HasSuffix(low, ".h5") || strings.HasSuffix(low, ".hdf5"):
		f, err := hdf5.OpenFile(path)
		if err != nil {
			return []Item{{Kind: "array", Name: name, Err: err}}
		}
		defer f.Close()
		keys, err := f.Keys()
		if err != nil {
			return []Item{{Kind: "array", Name: name, Err: err}}
		}
		var out []Item
		for _, k := range keys {
			d, err := f.Dataset(k)
			if err != nil {
				out = append(out, Item{Kind: "array", Name: name + ":" + k, Err: err})
				continue
			}
			vals, err := d.ReadFloat32()
			it := Item{Kind: "array", Name: name + ":" + k, Shape: d.Shape, DType: d.Type.String(), Err: err}
			if err == nil {
				it.Stats = arrayStats(k, vals, false)
			}
			out = append(out, it)
		}
		return out
	}
	return nil
}

func arrayItem(name string, a *npy.Array) Item {
	it := Item{Kind: "array", Name: name, Shape: a.Shape, DType: string(a.DType)}
	if a.DType.Size() == 0 {
		it.Err = fmt.Errorf("unsupported dtype %q", a.DType)
		return it
	}
	key := name
	if i := strings.LastIndex(name, ":"); i >= 0 {
		key = name[i+1:]
	}
	it.Stats = arrayStats(key, a.Float32(), !a.DType.IsFloat())
	if v, err := a.Int64(); err == nil && len(v) > 0 {
		r := [2]int64{v[0], v[0]}
		for _, x := range v {
			r[0], r[1] = min(r[0], x), max(r[1], x)
		}
		it.IntRange = &r
	}
	return it
}

// arrayStats gives the range, and a histogram when the array looks like labels
// (named like one and integral, or of an integer dtype with at most 32 values).
func arrayStats(key string, vals []float32, intDType bool) Stats {
	if (labelName.MatchString(key) || intDType) && integral(vals) {
		s := labelStats(vals)
		if labelName.MatchString(key) || len(s.Hist) <= 32 {
			return s
		}
	}
	s := ComputeStats(vals, nil)
	s.Hist = nil
	return s
}

func integral(v []float32) bool {
	for _, x := range v {
		if x != float32(math.Trunc(float64(x))) || math.Abs(float64(x)) > 1<<24 {
			return false
		}
	}
	return true
}

func labelStats(v []float32) Stats {
	lab := make([]int32, len(v))
	for i, x := range v {
		lab[i] = int32(x)
	}
	return ComputeStats(v, lab)
}

func niftiTypeName(code int) string {
	names := map[int]string{2: "uint8", 4: "int16", 8: "int32", 16: "float32", 64: "float64", 256: "int8",
		512: "uint16", 768: "uint32", 1024: "int64", 1280: "uint64"}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("datatype %d", code)
}

// SortedLabels returns the keys of a histogram in increasing order.
func SortedLabels(h map[int32]int) []int32 {
	ks := make([]int32, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
