package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aisam/aisam/dataset"
	"github.com/aisam/aisam/internal/fileio"
	"github.com/aisam/aisam/npy"
)

func init() {
	register(&command{
		name:    "data inspect",
		summary: "recognise a dataset folder or file and print cases, shapes, spacing, ranges, labels",
		run:     func(args []string) error { return dataInspect(os.Stdout, args) },
	})
	register(&command{
		name:    "data convert",
		summary: "convert NIfTI image+label pairs into the Synapse layout (npz slices, HDF5 volumes)",
		run:     func(args []string) error { return dataConvert(os.Stdout, args) },
	})
	register(&command{
		name:    "data synth",
		summary: "write a synthetic CT-like multi-organ dataset in the Synapse layout",
		run:     func(args []string) error { return dataSynth(os.Stdout, args) },
	})
}

// parseFlags parses args, printing usage on -h (which is not an error).
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// parseFlagsNoArgs is parseFlags for commands that take flags only.
func parseFlagsNoArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	if help, err := parseFlags(fs, args); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return false, nil
}

func dataInspect(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("data inspect", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "list every slice even in large groups")
	maxItems := fs.Int("max", 0, "read at most this many items per group (0 = all)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisam data inspect [flags] PATH\n\nRecognises Synapse (TransUNet), ACDC, paired NIfTI, PNG image/mask folders, loose\nNIfTI or npy/npz files, or a single file, and prints what is there.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want exactly one PATH")
	}
	r, err := dataset.Inspect(fs.Arg(0), dataset.InspectOptions{MaxItems: *maxItems})
	if err != nil {
		return err
	}
	if n := printReport(w, r, *verbose); n > 0 {
		return fmt.Errorf("%d item(s) could not be read (ERROR lines above)", n)
	}
	return nil
}

// listAll is the largest group listed item by item without -v; a larger one shows its
// first listHead items, then a count of the rest and the group's summary.
const (
	listAll  = 20
	listHead = 10
)

// printReport writes r for a reader and returns the number of unreadable items.
func printReport(w io.Writer, r *dataset.Report, verbose bool) (failures int) {
	fmt.Fprintf(w, "%s: %s layout", r.Path, r.Layout)
	if len(r.Parts) > 0 {
		var ps []string
		for _, p := range r.Parts {
			ps = append(ps, fmt.Sprintf("%s (%s)", filepath.Base(p.Path), p.Layout))
		}
		fmt.Fprintf(w, ": %d dataset folders: %s", len(r.Parts), strings.Join(ps, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Classes) > 0 {
		var cs []string
		for i, c := range r.Classes {
			cs = append(cs, fmt.Sprintf("%d %s", i, c))
		}
		fmt.Fprintf(w, "classes: %s\n", strings.Join(cs, ", "))
	}
	for _, g := range r.Groups {
		fmt.Fprintf(w, "%s: %d\n", g.Name, len(g.Items))
		shown := len(g.Items)
		if !verbose && shown > listAll {
			shown = listHead
		}
		width := 28
		for _, it := range g.Items[:shown] {
			width = max(width, min(len(it.Name), 48))
		}
		shapes := map[string]int{}
		total := dataset.Stats{Min: math.Inf(1), Max: math.Inf(-1), Hist: map[int32]int{}}
		labelled, failed := 0, 0
		for i, it := range g.Items {
			if it.Err != nil {
				failed++
				fmt.Fprintf(w, "  %-*s ERROR %v\n", width, it.Name, it.Err)
				continue
			}
			shapes[dims(it.Shape)]++
			if !math.IsNaN(it.Stats.Min) {
				total.Min = math.Min(total.Min, it.Stats.Min)
				total.Max = math.Max(total.Max, it.Stats.Max)
			}
			if it.Stats.Hist != nil {
				labelled++
				for k, v := range it.Stats.Hist {
					total.Hist[k] += v
				}
			}
			if i < shown {
				fmt.Fprintf(w, "  %-*s %s\n", width, it.Name, itemLine(it))
			}
		}
		if hidden := len(g.Items) - shown; hidden > 0 {
			fmt.Fprintf(w, "  … %d more (-v lists every item)\n", hidden)
		}
		// Files of a loose folder are unrelated, so their summary only stands in for
		// the items that were not listed.
		loose := g.Name == "files" || g.Name == "arrays"
		if len(g.Items) > 1 && (!loose || shown < len(g.Items)) {
			var ss []string
			for s, n := range shapes {
				ss = append(ss, fmt.Sprintf("%s ×%d", s, n))
			}
			sort.Strings(ss)
			fmt.Fprintf(w, "  all: shapes %s", strings.Join(ss, ", "))
			if total.Min <= total.Max {
				fmt.Fprintf(w, "; range [%s, %s]", exact(total.Min), exact(total.Max))
			}
			if labelled > 0 {
				fmt.Fprintf(w, "; labels %s", histLine(total.Hist, 40))
			}
			if failed > 0 {
				fmt.Fprintf(w, "; %d unreadable", failed)
			}
			fmt.Fprintln(w)
		}
		failures += failed
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, p := range r.Parts {
		fmt.Fprintln(w)
		failures += printReport(w, p, verbose)
	}
	return failures
}

func dims(s []int) string {
	var p []string
	for _, d := range s {
		p = append(p, strconv.Itoa(d))
	}
	if len(p) == 0 {
		return "scalar"
	}
	return strings.Join(p, "x")
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// exact prints v so that it parses back to the same float64, integers in full.
func exact(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e18 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func itemLine(it dataset.Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", it.Kind, dims(it.Shape))
	if it.DType != "" {
		fmt.Fprintf(&b, " %s", it.DType)
	}
	if it.Spacing != nil {
		var p []string
		for _, s := range it.Spacing {
			p = append(p, num(s))
		}
		fmt.Fprintf(&b, " spacing %s", strings.Join(p, "x"))
	}
	if it.Extra != "" {
		fmt.Fprintf(&b, " %s", it.Extra)
	}
	switch {
	case it.IntRange != nil:
		fmt.Fprintf(&b, " range [%d, %d] mean %s", it.IntRange[0], it.IntRange[1], num(it.Stats.Mean))
	case !math.IsNaN(it.Stats.Min):
		fmt.Fprintf(&b, " range [%s, %s] mean %s", exact(it.Stats.Min), exact(it.Stats.Max), num(it.Stats.Mean))
	case it.Stats.NaNs > 0:
		fmt.Fprintf(&b, " all values NaN")
	default:
		fmt.Fprintf(&b, " empty")
	}
	if it.Stats.NaNs > 0 && !math.IsNaN(it.Stats.Min) {
		fmt.Fprintf(&b, ", %d NaN", it.Stats.NaNs)
	}
	if len(it.Stats.Hist) > 0 {
		fmt.Fprintf(&b, " labels %s", histLine(it.Stats.Hist, 24))
	}
	return b.String()
}

// histLine prints "value:count" pairs in label order, eliding the middle of long ones.
func histLine(h map[int32]int, maxShown int) string {
	ks := dataset.SortedLabels(h)
	var p []string
	for i, k := range ks {
		if maxShown > 0 && len(ks) > maxShown && i == maxShown-4 {
			p = append(p, fmt.Sprintf("… (%d labels)", len(ks)))
		}
		if maxShown > 0 && len(ks) > maxShown && i >= maxShown-4 && i < len(ks)-4 {
			continue
		}
		p = append(p, fmt.Sprintf("%d:%d", k, h[k]))
	}
	return strings.Join(p, " ")
}

// windowFlag parses "lo,hi".
type windowFlag struct{ w *[2]float64 }

func (f *windowFlag) String() string {
	if f.w == nil {
		return ""
	}
	return fmt.Sprintf("%v,%v", f.w[0], f.w[1])
}

func (f *windowFlag) Set(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return fmt.Errorf("window %q: want lo,hi", s)
	}
	var w [2]float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("window %q: bad number %q", s, p)
		}
		w[i] = v
	}
	if !(w[1] > w[0]) {
		return fmt.Errorf("window %q: hi must exceed lo", s)
	}
	f.w = &w
	return nil
}

func dataConvert(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("data convert", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (created; must be empty or new)")
	var win windowFlag
	fs.Var(&win, "window", "intensity window lo,hi mapped to [0, 1] with clipping (CT: -125,275)")
	minmax := fs.Bool("minmax", false, "map each volume's [min, max] to [0, 1] (MRI); ignored with -window")
	testCases := fs.String("test", "", "comma-separated case names to write as test volumes")
	testFrac := fs.Float64("test-frac", 0.2, "fraction of cases (the last ones by name) for testing when -test is not given")
	keepEmpty := fs.Bool("keep-empty", false, "also write training slices without any label")
	classes := fs.String("classes", "", "comma-separated class names, background first (recorded in the manifest)")
	testFormat := fs.String("test-format", "h5", "test volume files: h5 (TransUNet's <case>.npy.h5) or npz")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisam data convert -out DIR [flags] SOURCE...

Each SOURCE is a folder of NIfTI pairs (imagesTr/labelsTr, img/label, images/labels,
or <name>_image/<name>_label files) or an explicit IMAGE.nii.gz:LABEL.nii.gz pair.
Writes the Synapse (TransUNet) layout: train_npz/<case>_sliceNNN.npz slices (keys image,
label; float32 [H, W], as np.savez writes them), test_vol_h5/<case>.npy.h5 volumes
(HDF5 datasets image, label; float32 [D, H, W], the bytes h5py writes; or .npz with
-test-format npz), lists_Synapse/{train,test_vol}.txt, and aisam_dataset.json recording
the sources and the preprocessing.

flags:`)
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("need -out and at least one SOURCE")
	}
	if *testFormat != "h5" && *testFormat != "npz" {
		return fmt.Errorf("-test-format %q: want h5 or npz", *testFormat)
	}
	var pairs []dataset.NIfTIPair
	for _, src := range fs.Args() {
		if img, lab, ok := strings.Cut(src, ":"); ok {
			name, _ := strings.CutSuffix(filepath.Base(img), ".gz")
			name = strings.TrimSuffix(name, ".nii")
			pairs = append(pairs, dataset.NIfTIPair{Name: name, Image: img, Label: lab})
			continue
		}
		p, err := dataset.FindNIfTIPairs(src)
		if err != nil {
			return err
		}
		pairs = append(pairs, p...)
	}
	seen := map[string]bool{}
	for i := range pairs {
		n := sanitizeName(pairs[i].Name)
		if seen[n] {
			return fmt.Errorf("two sources give the case name %q", n)
		}
		seen[n] = true
		pairs[i].Name = n
	}
	it := dataset.Intensity{Window: win.w, MinMax: *minmax && win.w == nil}
	var names []string
	if *classes != "" {
		for _, c := range strings.Split(*classes, ",") {
			names = append(names, strings.TrimSpace(c))
		}
	}
	test := map[string]bool{}
	if *testCases != "" {
		for _, c := range strings.Split(*testCases, ",") {
			c = sanitizeName(strings.TrimSpace(c))
			if !seen[c] {
				return fmt.Errorf("-test names %q, which is not a case (cases: %s)", c, strings.Join(caseNames(pairs), ", "))
			}
			test[c] = true
		}
	} else {
		if *testFrac < 0 || *testFrac > 1 {
			return fmt.Errorf("-test-frac %v outside [0, 1]", *testFrac)
		}
		sorted := caseNames(pairs)
		sort.Strings(sorted)
		n := int(math.Round(*testFrac * float64(len(sorted))))
		if len(sorted) > 1 {
			n = min(n, len(sorted)-1) // keep at least one training case
		} else {
			n = 0
		}
		for _, c := range sorted[len(sorted)-n:] {
			test[c] = true
		}
	}
	conv := &converter{out: *out, keepEmpty: *keepEmpty, log: w, npzTest: *testFormat == "npz"}
	m := &dataset.Manifest{Format: "synapse", Tool: "aisam data convert", Created: time.Now().UTC().Format(time.RFC3339),
		Classes: names,
		Preprocessing: dataset.Preprocessing{Intensity: it, SkipEmptyTrainSlices: !*keepEmpty,
			Axes:       "arrays are [z, y, x] = NIfTI voxel (k, j, i) in stored order; no resampling or reorientation",
			ImageDType: "float32", LabelDType: "float32 (integral class indices, as the Synapse release)", TestFormat: *testFormat}}
	if err := conv.begin(); err != nil {
		return err
	}
	var maxLabel int32
	for _, p := range pairs {
		v, err := dataset.ReadNIfTIVolume(p.Name, p.Image, p.Label, it)
		if err != nil {
			return err
		}
		if v.Label == nil {
			return fmt.Errorf("case %s has no label volume", p.Name)
		}
		rec := dataset.ManifestCase{Name: p.Name, SourceImage: absPath(p.Image), SourceLabel: absPath(p.Label),
			Shape: [3]int{v.D, v.H, v.W}, Spacing: v.Spacing}
		if err := conv.add(v, test[p.Name], &rec); err != nil {
			return err
		}
		m.Cases = append(m.Cases, rec)
		for _, l := range v.Label {
			maxLabel = max(maxLabel, l)
		}
	}
	if len(m.Classes) == 0 {
		// NIfTI labels carry no names: record generic ones so that readers of the
		// converted set do not fall back to the Synapse organ names.
		m.Classes = []string{"background"}
		for c := int32(1); c <= maxLabel; c++ {
			m.Classes = append(m.Classes, fmt.Sprintf("class %d", c))
		}
	} else if int32(len(m.Classes)) <= maxLabel {
		return fmt.Errorf("-classes names %d classes but the labels go up to %d", len(m.Classes), maxLabel)
	}
	return conv.finish(m)
}

func caseNames(p []dataset.NIfTIPair) []string {
	var out []string
	for _, x := range p {
		out = append(out, x.Name)
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// sanitizeName keeps a case name usable as a file name and a list entry.
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "case"
	}
	return b.String()
}

// converter writes volumes into a Synapse-layout folder.
type converter struct {
	out         string
	keepEmpty   bool
	log         io.Writer
	train, test []string
	slices      int
	npzTest     bool // test volumes as .npz instead of .npy.h5
}

func (c *converter) begin() error {
	if ents, err := os.ReadDir(c.out); err == nil && len(ents) > 0 {
		return fmt.Errorf("output folder %s is not empty", c.out)
	}
	for _, d := range []string{"lists_Synapse", "train_npz", "test_vol_h5"} {
		if err := os.MkdirAll(filepath.Join(c.out, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func f32Array(v []float32, shape ...int) *npy.Array {
	a, err := npy.FromFloat32(v, shape...)
	if err != nil {
		panic(err) // shapes come from the volume itself
	}
	return a
}

func labelsF32(l []int32) []float32 {
	out := make([]float32, len(l))
	for i, v := range l {
		out[i] = float32(v)
	}
	return out
}

func (c *converter) add(v *dataset.Volume, test bool, rec *dataset.ManifestCase) error {
	for _, l := range v.Label {
		if l < 0 || l > 1<<24 {
			return fmt.Errorf("case %s: label %d cannot be stored exactly as float32", v.Name, l)
		}
	}
	if test {
		rec.Split = "test"
		var err error
		if c.npzTest {
			err = npy.WriteNPZ(filepath.Join(c.out, "test_vol_h5", v.Name+".npz"), []npy.Member{
				{Name: "image", Array: f32Array(v.Image, v.D, v.H, v.W)},
				{Name: "label", Array: f32Array(labelsF32(v.Label), v.D, v.H, v.W)}}, false)
		} else {
			err = dataset.WriteSynapseH5(filepath.Join(c.out, "test_vol_h5", v.Name+".npy.h5"), v)
		}
		if err != nil {
			return err
		}
		c.test = append(c.test, v.Name)
		fmt.Fprintf(c.log, "test  %-20s %dx%dx%d\n", v.Name, v.D, v.H, v.W)
		return nil
	}
	rec.Split = "train"
	n := 0
	for z := range v.D {
		s := v.Slice(z)
		if !c.keepEmpty {
			empty := true
			for _, l := range s.Label {
				if l != 0 {
					empty = false
					break
				}
			}
			if empty {
				continue
			}
		}
		name := fmt.Sprintf("%s_slice%03d", v.Name, z)
		err := npy.WriteNPZ(filepath.Join(c.out, "train_npz", name+".npz"), []npy.Member{
			{Name: "image", Array: f32Array(s.Image, s.H, s.W)},
			{Name: "label", Array: f32Array(labelsF32(s.Label), s.H, s.W)}}, false)
		if err != nil {
			return err
		}
		c.train = append(c.train, name)
		rec.Slices = append(rec.Slices, name)
		n++
	}
	c.slices += n
	fmt.Fprintf(c.log, "train %-20s %dx%dx%d → %d slices\n", v.Name, v.D, v.H, v.W, n)
	return nil
}

func (c *converter) finish(m *dataset.Manifest) error {
	write := func(name string, lines []string) error {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		return fileio.WriteFile(filepath.Join(c.out, "lists_Synapse", name), []byte(b.String()))
	}
	if err := write("train.txt", c.train); err != nil {
		return err
	}
	if err := write("test_vol.txt", c.test); err != nil {
		return err
	}
	if err := dataset.WriteManifest(c.out, m); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "wrote %s: %d training slices, %d test volumes, %s\n", c.out, c.slices, len(c.test), dataset.ManifestName)
	return nil
}

func dataSynth(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("data synth", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (created; must be empty or new)")
	cases := fs.Int("cases", 4, "number of cases")
	test := fs.Int("test", 1, "how many of them (the last) are test volumes")
	size := fs.Int("size", 64, "slice height and width")
	depth := fs.Int("depth", 12, "slices per case")
	seed := fs.Uint64("seed", 1, "random seed")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisam data synth -out DIR [flags]\n\nWrites synthetic CT-like cases with the 8 Synapse organs in the Synapse layout, for demos and tests.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("need -out")
	}
	if *test < 0 || *test > *cases {
		return fmt.Errorf("-test %d outside 0..%d", *test, *cases)
	}
	g, err := dataset.NewSynthetic(dataset.SyntheticOptions{H: *size, W: *size, Depth: *depth, Cases: *cases, Seed: *seed})
	if err != nil {
		return err
	}
	conv := &converter{out: *out, log: w}
	m := &dataset.Manifest{Format: "synapse", Tool: "aisam data synth", Created: time.Now().UTC().Format(time.RFC3339),
		Classes: dataset.SynapseClasses,
		Preprocessing: dataset.Preprocessing{Intensity: dataset.Intensity{Window: &[2]float64{-125, 275}}, SkipEmptyTrainSlices: true,
			Axes: "synthetic [z, y, x]", ImageDType: "float32", LabelDType: "float32", TestFormat: "h5"}}
	if err := conv.begin(); err != nil {
		return err
	}
	for i := range *cases {
		v, err := g.Case(i)
		if err != nil {
			return err
		}
		rec := dataset.ManifestCase{Name: v.Name, SourceImage: fmt.Sprintf("synthetic seed %d case %d", *seed, i),
			Shape: [3]int{v.D, v.H, v.W}, Spacing: v.Spacing}
		if err := conv.add(v, i >= *cases-*test, &rec); err != nil {
			return err
		}
		m.Cases = append(m.Cases, rec)
	}
	return conv.finish(m)
}
