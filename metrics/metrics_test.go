package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/testref"
)

type fixEval struct {
	Spacing            []float64 `json:"spacing"`
	Connectivity       int       `json:"connectivity"`
	HD95               *float64  `json:"hd95"`
	HD                 *float64  `json:"hd"`
	ASSD               *float64  `json:"assd"`
	ASSDMeanOfDirected *float64  `json:"assd_mean_of_directed"`
	ASDPredToGT        *float64  `json:"asd_pred_to_gt"`
	ASDGTToPred        *float64  `json:"asd_gt_to_pred"`
	NPredSurface       int       `json:"n_pred_surface"`
	NGTSurface         int       `json:"n_gt_surface"`
	Error              *string   `json:"error"`
	DistPredToGT       []float64 `json:"distances_pred_to_gt"`
	DistGTToPred       []float64 `json:"distances_gt_to_pred"`
}

type fixAISAM struct {
	Values []float64 `json:"values"`
}

type fix2D struct {
	Name        string    `json:"name"`
	Shape       []int     `json:"shape"`
	PredFile    string    `json:"pred_file"`
	GTFile      string    `json:"gt_file"`
	NPred       int       `json:"n_pred"`
	NGT         int       `json:"n_gt"`
	Dice        float64   `json:"dice"`
	Jaccard     float64   `json:"jaccard"`
	Evaluations []fixEval `json:"evaluations"`
	AISAM       fixAISAM  `json:"aisam_calculate_metric_percase"`
	AISAMTest   fixAISAM  `json:"aisam_calculate_metric_percase_is_test"`
}

func loadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadMask(t *testing.T, path string) ([]bool, []int) {
	t.Helper()
	d, shape, err := readU8Npy(path)
	if err != nil {
		t.Fatal(err)
	}
	m := make([]bool, len(d))
	for i, v := range d {
		m[i] = v != 0
	}
	return m, shape
}

// same reports whether got equals want to the last bit (both NaN counts as equal).
func same(got, want float64) bool {
	return got == want || (math.IsNaN(got) && math.IsNaN(want))
}

func TestMetrics2DFixtures(t *testing.T) {
	dir := testref.Dir(t, "fixtures/metrics")
	var f struct {
		Cases []fix2D `json:"cases"`
	}
	loadJSON(t, filepath.Join(dir, "metrics_2d.json"), &f)
	if len(f.Cases) != 15 {
		t.Fatalf("%d 2D cases, want 15", len(f.Cases))
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			pred, shape := loadMask(t, filepath.Join(dir, c.PredFile))
			gt, _ := loadMask(t, filepath.Join(dir, c.GTFile))
			if got := Dice(pred, gt); got != c.Dice {
				t.Errorf("dice %v, want %v", got, c.Dice)
			}
			if got := Jaccard(pred, gt); got != c.Jaccard {
				t.Errorf("jaccard %v, want %v", got, c.Jaccard)
			}
			for _, e := range c.Evaluations {
				opt := Options{Spacing: e.Spacing, Connectivity: e.Connectivity}
				d, err := SurfaceDistances(pred, gt, shape, opt)
				if e.Error != nil {
					want := ErrEmptyPred
					if c.NPred > 0 {
						want = ErrEmptyGT
					}
					if !errors.Is(err, want) {
						t.Errorf("%v c=%d: err %v, want %v (%s)", e.Spacing, e.Connectivity, err, want, *e.Error)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%v c=%d: %v", e.Spacing, e.Connectivity, err)
				}
				if len(d.PredToGT) != e.NPredSurface || len(d.GTToPred) != e.NGTSurface {
					t.Errorf("%v c=%d: surfaces %d/%d, want %d/%d", e.Spacing, e.Connectivity,
						len(d.PredToGT), len(d.GTToPred), e.NPredSurface, e.NGTSurface)
					continue
				}
				for i, v := range e.DistPredToGT {
					if d.PredToGT[i] != v {
						t.Errorf("pred→gt distance %d = %v, want %v", i, d.PredToGT[i], v)
					}
				}
				for i, v := range e.DistGTToPred {
					if d.GTToPred[i] != v {
						t.Errorf("gt→pred distance %d = %v, want %v", i, d.GTToPred[i], v)
					}
				}
				checks := []struct {
					name      string
					got, want float64
				}{
					{"hd95", d.HD95(), *e.HD95},
					{"hd", d.HD(), *e.HD},
					{"assd", d.ASSD(), *e.ASSD},
					{"assd_mean_of_directed", d.ASSDMeanOfDirected(), *e.ASSDMeanOfDirected},
					{"asd_pred_to_gt", d.ASDPredToGT(), *e.ASDPredToGT},
					{"asd_gt_to_pred", d.ASDGTToPred(), *e.ASDGTToPred},
				}
				for _, ch := range checks {
					if !same(ch.got, ch.want) {
						t.Errorf("%v c=%d: %s = %v, want %v", e.Spacing, e.Connectivity, ch.name, ch.got, ch.want)
					}
				}
			}
			// AI-SAM's calculate_metric_percase (unit spacing, connectivity 1), is_test=True
			// for the ASSD and Jaccard of branch 1.
			s, err := EvaluateMasks(pred, gt, shape, CaseOptions{Convention: AISAM})
			if err != nil {
				t.Fatal(err)
			}
			w := c.AISAMTest.Values
			if s.Dice != w[0] || s.HD95 != w[1] || s.Jaccard != w[2] || s.ASSD != w[3] {
				t.Errorf("AI-SAM (dice, hd95, jc, assd) = (%v, %v, %v, %v), want %v", s.Dice, s.HD95, s.Jaccard, s.ASSD, w)
			}
			// Standard convention: empty masks give undefined distances.
			s, err = EvaluateMasks(pred, gt, shape, CaseOptions{Convention: Standard})
			if err != nil {
				t.Fatal(err)
			}
			if s.Dice != c.Dice {
				t.Errorf("standard dice %v, want %v", s.Dice, c.Dice)
			}
			if (c.NPred == 0 || c.NGT == 0) != !s.Defined || (s.Defined != !math.IsNaN(s.HD95)) {
				t.Errorf("standard: defined=%v hd95=%v for n_pred=%d n_gt=%d", s.Defined, s.HD95, c.NPred, c.NGT)
			}
		})
	}
}

type fix3DEval struct {
	HD95 *float64 `json:"hd95"`
	HD   *float64 `json:"hd"`
	ASSD *float64 `json:"assd"`
}

type fix3DClass struct {
	Class      int       `json:"class"`
	NPred      int       `json:"n_pred"`
	NGT        int       `json:"n_gt"`
	Dice       float64   `json:"dice"`
	Jaccard    float64   `json:"jaccard"`
	Unit       fix3DEval `json:"unit_spacing"`
	Aniso      fix3DEval `json:"anisotropic_spacing"`
	Physical2x fix3DEval `json:"physical_spacing_2x"`
	AISAM      fixAISAM  `json:"aisam_calculate_metric_percase"`
}

type fix3D struct {
	Classes    []int     `json:"classes"`
	Anisotropy []float64 `json:"anisotropic_spacing"`
	Cases      []struct {
		Name     string       `json:"name"`
		PredFile string       `json:"pred_file"`
		GTFile   string       `json:"gt_file"`
		Classes  []fix3DClass `json:"classes"`
	} `json:"cases"`
	Means struct {
		PerClass []struct {
			Class    int     `json:"class"`
			MeanDice float64 `json:"mean_dice"`
			MeanHD95 float64 `json:"mean_hd95"`
		} `json:"per_class"`
		MeanDice float64 `json:"mean_dice"`
		MeanHD95 float64 `json:"mean_hd95"`
	} `json:"aisam_test_med_means"`
	PerSlice struct {
		NumSamples int       `json:"num_samples"`
		Dice       []float64 `json:"dice"`
		HD95       []float64 `json:"hd95"`
		MeanDice   float64   `json:"mean_dice"`
	} `json:"aisam_process_med_per_slice"`
	Lowres struct {
		Classes []struct {
			Class  int        `json:"class"`
			Hires  fix3DClass `json:"hires_64"`
			Lowres fix3DClass `json:"lowres_32_nearest_exact"`
			Legacy struct {
				Dice  float64  `json:"dice"`
				HD95  *float64 `json:"hd95_unit"`
				AISAM fixAISAM `json:"aisam_calculate_metric_percase"`
			} `json:"lowres_32_legacy_nearest_for_contrast"`
		} `json:"classes"`
	} `json:"lowres_case3"`
}

func loadLabels(t *testing.T, path string) ([]uint8, []int) {
	t.Helper()
	d, shape, err := readU8Npy(path)
	if err != nil {
		t.Fatal(err)
	}
	return d, shape
}

func checkEval(t *testing.T, what string, s ClassScore, e fix3DEval) {
	t.Helper()
	if e.HD95 == nil {
		if s.Defined || !math.IsNaN(s.HD95) {
			t.Errorf("%s: hd95 %v defined=%v, want undefined", what, s.HD95, s.Defined)
		}
		return
	}
	if s.HD95 != *e.HD95 || s.HD != *e.HD || s.ASSD != *e.ASSD {
		t.Errorf("%s: (hd95, hd, assd) = (%v, %v, %v), want (%v, %v, %v)", what, s.HD95, s.HD, s.ASSD, *e.HD95, *e.HD, *e.ASSD)
	}
}

func TestMetrics3DFixtures(t *testing.T) {
	dir := testref.Dir(t, "fixtures/metrics")
	var f fix3D
	loadJSON(t, filepath.Join(dir, "metrics_3d.json"), &f)
	var aisamCases [][]ClassScore
	var slices SliceAverage
	slices.Classes = f.Classes
	for _, c := range f.Cases {
		pred, shape := loadLabels(t, filepath.Join(dir, c.PredFile))
		gt, _ := loadLabels(t, filepath.Join(dir, c.GTFile))
		unit, err := EvaluateCase(pred, gt, shape, f.Classes, CaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		aniso, err := EvaluateCase(pred, gt, shape, f.Classes, CaseOptions{Options: Options{Spacing: f.Anisotropy}})
		if err != nil {
			t.Fatal(err)
		}
		ai, err := EvaluateCase(pred, gt, shape, f.Classes, CaseOptions{Convention: AISAM})
		if err != nil {
			t.Fatal(err)
		}
		aisamCases = append(aisamCases, ai)
		for j, want := range c.Classes {
			name := c.Name + "/" + string(rune('0'+want.Class))
			if unit[j].NPred != want.NPred || unit[j].NGT != want.NGT || unit[j].Dice != want.Dice || unit[j].Jaccard != want.Jaccard {
				t.Errorf("%s: n=%d/%d dice %v jc %v, want %d/%d %v %v", name, unit[j].NPred, unit[j].NGT,
					unit[j].Dice, unit[j].Jaccard, want.NPred, want.NGT, want.Dice, want.Jaccard)
			}
			checkEval(t, name+" unit", unit[j], want.Unit)
			checkEval(t, name+" aniso", aniso[j], want.Aniso)
			if ai[j].Dice != want.AISAM.Values[0] || ai[j].HD95 != want.AISAM.Values[1] {
				t.Errorf("%s AI-SAM (%v, %v), want %v", name, ai[j].Dice, ai[j].HD95, want.AISAM.Values[:2])
			}
		}
		// process_med: every 2-D slice, AI-SAM convention.
		hw := shape[1] * shape[2]
		for z := range shape[0] {
			p := make([]int32, hw)
			g := make([]int32, hw)
			for i := range hw {
				p[i], g[i] = int32(pred[z*hw+i]), int32(gt[z*hw+i])
			}
			if err := slices.Add(p, g, shape[1], shape[2]); err != nil {
				t.Fatal(err)
			}
		}
	}
	sum, err := Summarize(aisamCases)
	if err != nil {
		t.Fatal(err)
	}
	for j, pc := range f.Means.PerClass {
		if sum.Dice[j] != pc.MeanDice || sum.HD95[j] != pc.MeanHD95 {
			t.Errorf("class %d means (%v, %v), want (%v, %v)", pc.Class, sum.Dice[j], sum.HD95[j], pc.MeanDice, pc.MeanHD95)
		}
	}
	if sum.MeanDice != f.Means.MeanDice || sum.MeanHD95 != f.Means.MeanHD95 {
		t.Errorf("means over classes (%v, %v), want (%v, %v)", sum.MeanDice, sum.MeanHD95, f.Means.MeanDice, f.Means.MeanHD95)
	}
	dice, hd95, md := slices.Means()
	for j := range f.Classes {
		if math.Abs(dice[j]-f.PerSlice.Dice[j]) > 1e-12 || math.Abs(hd95[j]-f.PerSlice.HD95[j]) > 1e-12 {
			t.Errorf("per-slice class %d: (%v, %v), want (%v, %v)", f.Classes[j], dice[j], hd95[j], f.PerSlice.Dice[j], f.PerSlice.HD95[j])
		}
	}
	if math.Abs(md-f.PerSlice.MeanDice) > 1e-12 {
		t.Errorf("per-slice mean dice %v, want %v", md, f.PerSlice.MeanDice)
	}

	// The 64x64 originals of case 3, and the coarse grid at its physical spacing.
	p64, s64 := loadLabels(t, filepath.Join(dir, "3d/case3_pred_64.npy"))
	g64, _ := loadLabels(t, filepath.Join(dir, "3d/case3_gt_64.npy"))
	p32, s32 := loadLabels(t, filepath.Join(dir, "3d/case3_pred.npy"))
	g32, _ := loadLabels(t, filepath.Join(dir, "3d/case3_gt.npy"))
	hi, err := EvaluateCase(p64, g64, s64, f.Classes, CaseOptions{Options: Options{Spacing: f.Anisotropy}})
	if err != nil {
		t.Fatal(err)
	}
	lo, err := EvaluateCase(p32, g32, s32, f.Classes, CaseOptions{Options: Options{Spacing: []float64{2.5, 1.6, 1.6}}})
	if err != nil {
		t.Fatal(err)
	}
	hiUnit, err := EvaluateCase(p64, g64, s64, f.Classes, CaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hiAI, err := EvaluateCase(p64, g64, s64, f.Classes, CaseOptions{Convention: AISAM})
	if err != nil {
		t.Fatal(err)
	}
	// Legacy mode="nearest" takes the even rows and columns (floor(2d)), for contrast.
	even := func(v []uint8) []uint8 {
		out := make([]uint8, 0, len(v)/4)
		for z := range s64[0] {
			for y := 0; y < s64[1]; y += 2 {
				for x := 0; x < s64[2]; x += 2 {
					out = append(out, v[(z*s64[1]+y)*s64[2]+x])
				}
			}
		}
		return out
	}
	legacy, err := EvaluateCase(even(p64), even(g64), s32, f.Classes, CaseOptions{Convention: AISAM})
	if err != nil {
		t.Fatal(err)
	}
	legacyStd, err := EvaluateCase(even(p64), even(g64), s32, f.Classes, CaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range f.Lowres.Classes {
		if hi[j].Dice != c.Hires.Dice {
			t.Errorf("64 class %d dice %v, want %v", c.Class, hi[j].Dice, c.Hires.Dice)
		}
		checkEval(t, "64 aniso", hi[j], c.Hires.Aniso)
		checkEval(t, "64 unit", hiUnit[j], c.Hires.Unit)
		checkEval(t, "32 physical", lo[j], c.Lowres.Physical2x)
		if w := c.Hires.AISAM.Values; hiAI[j].Dice != w[0] || hiAI[j].HD95 != w[1] {
			t.Errorf("64 class %d AI-SAM (%v, %v), want %v", c.Class, hiAI[j].Dice, hiAI[j].HD95, w[:2])
		}
		if w := c.Legacy.AISAM.Values; legacy[j].Dice != w[0] || legacy[j].HD95 != w[1] {
			t.Errorf("legacy-nearest class %d AI-SAM (%v, %v), want %v", c.Class, legacy[j].Dice, legacy[j].HD95, w[:2])
		}
		if legacyStd[j].Dice != c.Legacy.Dice || (c.Legacy.HD95 == nil) != !legacyStd[j].Defined ||
			c.Legacy.HD95 != nil && legacyStd[j].HD95 != *c.Legacy.HD95 {
			t.Errorf("legacy-nearest class %d (%v, %v), want (%v, %v)", c.Class, legacyStd[j].Dice, legacyStd[j].HD95, c.Legacy.Dice, c.Legacy.HD95)
		}
	}
}

func TestPercentileAndPairwise(t *testing.T) {
	// numpy.percentile(arange(40), 95) = 37.05 with gamma 0.04999999999999716.
	v := make([]float64, 40)
	for i := range v {
		v[i] = float64(i)
	}
	if got := percentileSorted(v, 95); got != 37.05 {
		t.Errorf("percentile of 0..39: %v, want 37.05", got)
	}
	if got := percentileSorted([]float64{3}, 95); got != 3 {
		t.Errorf("single value: %v", got)
	}
	// Pairwise summation: 22 × √2 gives numpy's 1.4142135623730954 as the mean.
	x := make([]float64, 22)
	for i := range x {
		x[i] = math.Sqrt2
	}
	if got := pairwiseSum(x) / 22; got != 1.4142135623730954 {
		t.Errorf("pairwise mean %v, want 1.4142135623730954", got)
	}
	// Large n: the pairwise sum of integers is exact.
	y := make([]float64, 1000)
	for i := range y {
		y[i] = float64(i)
	}
	if got := pairwiseSum(y); got != 499500 {
		t.Errorf("sum 0..999 = %v", got)
	}
}

// TestEDTBruteForce compares the linear-time transform with a brute-force minimum over
// all features, anisotropic spacing, 1-D to 3-D.
func TestEDTBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][]int{{17}, {9, 13}, {5, 7, 11}, {1, 6, 4}, {4, 1, 9}}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		sp := make([]float64, len(shape))
		for i := range sp {
			sp[i] = []float64{0.8, 2.5, 1, 0.3}[rng.IntN(4)]
		}
		for _, density := range []float64{0, 0.02, 0.2, 0.7} {
			feat := make([]bool, n)
			for i := range feat {
				feat[i] = rng.Float64() < density
			}
			got, err := SquaredDistanceTransform(feat, shape, sp)
			if err != nil {
				t.Fatal(err)
			}
			st := strides(shape)
			for p := range n {
				best := math.Inf(1)
				for q := range n {
					if !feat[q] {
						continue
					}
					s := 0.0
					for k := range shape {
						d := float64((q/st[k])%shape[k]-(p/st[k])%shape[k]) * sp[k]
						s += float64(d * d)
					}
					best = min(best, s)
				}
				if math.Abs(got[p]-best) > 1e-12*max(1, best) && !(math.IsInf(got[p], 1) && math.IsInf(best, 1)) {
					t.Fatalf("shape %v spacing %v density %v: voxel %d = %v, want %v", shape, sp, density, p, got[p], best)
				}
			}
		}
	}
}

func TestSurfaceBorder(t *testing.T) {
	// A full 3x4 image: only the two middle pixels of row 1 have all four face
	// neighbours inside; with c=2 their diagonal neighbours are inside too.
	m := make([]bool, 12)
	for i := range m {
		m[i] = true
	}
	s, err := Surface(m, []int{3, 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s {
		if v == (i == 5 || i == 6) {
			t.Errorf("pixel %d: surface %v", i, v)
		}
	}
	// 5x5 full: the centre 3x3 is interior for c=1 and for c=2.
	m = make([]bool, 25)
	for i := range m {
		m[i] = true
	}
	for _, c := range []int{1, 2} {
		s, _ = Surface(m, []int{5, 5}, c)
		n := 0
		for _, v := range s {
			if v {
				n++
			}
		}
		if n != 16 {
			t.Errorf("c=%d: %d surface pixels, want 16", c, n)
		}
	}
	if _, err := Surface(m, []int{5, 5}, 3); err == nil {
		t.Error("connectivity 3 in 2-D accepted")
	}
	if _, err := Surface(m, []int{4, 5}, 1); err == nil {
		t.Error("wrong shape accepted")
	}
}

func TestEvaluateCaseErrors(t *testing.T) {
	p := []int32{0, 1, 2, 3}
	tests := []struct {
		name  string
		gt    []int32
		shape []int
		opt   CaseOptions
	}{
		{"shape", []int32{0, 1, 2, 3}, []int{3}, CaseOptions{}},
		{"length", []int32{0, 1}, []int{4}, CaseOptions{}},
		{"spacing count", []int32{0, 1, 2, 3}, []int{2, 2}, CaseOptions{Options: Options{Spacing: []float64{1}}}},
		{"spacing value", []int32{0, 1, 2, 3}, []int{2, 2}, CaseOptions{Options: Options{Spacing: []float64{1, -1}}}},
		{"connectivity", []int32{0, 1, 2, 3}, []int{2, 2}, CaseOptions{Options: Options{Connectivity: 3}}},
		{"convention", []int32{0, 1, 2, 3}, []int{2, 2}, CaseOptions{Convention: 7}},
	}
	for _, tc := range tests {
		if _, err := EvaluateCase(p, tc.gt, tc.shape, []int{1}, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := EvaluateCase([]uint8{0, 1}, []uint8{0, 1}, []int{2}, []int{300}, CaseOptions{}); err == nil {
		t.Error("class 300 accepted for uint8 labels")
	}
}

func TestSummarizeStandard(t *testing.T) {
	nan := math.NaN()
	cases := [][]ClassScore{
		{{Class: 1, Dice: 0.5, HD95: 2, Defined: true}, {Class: 2, Dice: 1, HD95: nan}},
		{{Class: 1, Dice: 1, HD95: 4, Defined: true}, {Class: 2, Dice: 0, HD95: nan}},
	}
	s, err := Summarize(cases)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dice[0] != 0.75 || s.Dice[1] != 0.5 || s.HD95[0] != 3 || !math.IsNaN(s.HD95[1]) || s.NDefined[1] != 0 {
		t.Errorf("per class %v %v %v", s.Dice, s.HD95, s.NDefined)
	}
	if s.MeanDice != 0.625 || s.MeanHD95 != 3 {
		t.Errorf("means %v %v", s.MeanDice, s.MeanHD95)
	}
	if _, err := Summarize(nil); !errors.Is(err, ErrNoCases) {
		t.Errorf("empty: %v", err)
	}
	cases[1] = cases[1][:1]
	if _, err := Summarize(cases); err == nil {
		t.Error("ragged cases accepted")
	}
}

func TestConfusion(t *testing.T) {
	c := NewConfusion(3)
	pred := []int32{0, 1, 1, 2, 2, 2}
	gt := []int32{0, 1, 2, 2, 2, 0}
	if err := c.AddLabels(pred, gt); err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{1, 0, 0}, {0, 1, 1}, {1, 0, 2}}
	for i := range want {
		for j := range want[i] {
			if c.M[i][j] != want[i][j] {
				t.Fatalf("M = %v, want %v", c.M, want)
			}
		}
	}
	p, r, iou := c.PerClass()
	// class 2: tp 2, predicted 3, true 3 → precision 2/3, recall 2/3, IoU 2/4.
	if p[2] != 2.0/3 || r[2] != 2.0/3 || iou[2] != 0.5 {
		t.Errorf("class 2: %v %v %v", p[2], r[2], iou[2])
	}
	if err := c.AddLabels([]int32{3}, []int32{0}); err == nil {
		t.Error("label 3 accepted in a 3-class matrix")
	}
	// Prompt confusion: 2x2 label map [[1, 2], [0, 2]]; class-1 points at (0,0) and
	// (0,1), class-2 at (1,1), plus a soft class-2 map.
	pcm := NewConfusion(3)
	lab := []int32{1, 2, 0, 2}
	for _, pt := range [][3]int{{1, 0, 0}, {1, 0, 1}, {2, 1, 1}} {
		if err := pcm.AddPoint(pt[0], lab, 2, 2, pt[1], pt[2], 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := pcm.AddHeatmap(2, []float32{0.5, 0.25, 0.25, 0}, lab); err != nil {
		t.Fatal(err)
	}
	tss, fss := pcm.SemanticSimilarity()
	if tss[1] != 0.5 || fss[1] != 0.5 || tss[2] != 1.25/2 || fss[2] != 0.5/2 || !math.IsNaN(tss[0]) {
		t.Errorf("tss %v fss %v", tss, fss)
	}
	if err := pcm.AddPoint(1, lab, 2, 2, 2, 0, 1); err == nil {
		t.Error("point outside the image accepted")
	}
}

// TestMultiClassScanMatchesPerClass checks the one-pass class scan against scanning each
// class separately, with labels at the edges of their types and repeated classes.
func TestMultiClassScanMatchesPerClass(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shape := []int{7, 9, 11}
	n := 7 * 9 * 11
	p8, g8 := make([]uint8, n), make([]uint8, n)
	p32, g32 := make([]int32, n), make([]int32, n)
	vals8 := []uint8{0, 1, 2, 255}
	vals32 := []int32{-3, 0, 1, 2, 60000, 70000}
	for i := range n {
		// Blobby labels: runs along x so that surfaces are not the whole mask.
		if i%3 == 0 {
			p8[i], g8[i] = vals8[rng.IntN(4)], vals8[rng.IntN(4)]
			p32[i], g32[i] = vals32[rng.IntN(6)], vals32[rng.IntN(6)]
		} else {
			p8[i], g8[i], p32[i], g32[i] = p8[i-1], g8[i-1], p32[i-1], g32[i-1]
		}
	}
	check := func(name string, got []ClassScore, want func(c int) *boxPair, classes []int) {
		for j, c := range classes {
			w, err := scoreBox(want(c), c, []float64{1, 1, 1}, 1, Standard)
			if err != nil {
				t.Fatal(err)
			}
			g := got[j]
			if g.NPred != w.NPred || g.NGT != w.NGT || g.Dice != w.Dice || !same(g.HD95, w.HD95) || !same(g.ASSD, w.ASSD) {
				t.Errorf("%s class %d: %+v, want %+v", name, c, g, w)
			}
		}
	}
	classes8 := []int{255, 1, 2, 1, 7}
	got, err := EvaluateCase(p8, g8, shape, classes8, CaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("uint8", got, func(c int) *boxPair { return cropPair(p8, g8, uint8(c), shape) }, classes8)
	for _, classes32 := range [][]int{{1, 2, 60000, 0}, {70000, 1}} { // table, then fallback
		got, err = EvaluateCase(p32, g32, shape, classes32, CaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check("int32", got, func(c int) *boxPair { return cropPair(p32, g32, int32(c), shape) }, classes32)
	}
}

// TestPlanePathMatchesAxisPath checks the plane-by-plane distance sampling against the
// axis-by-axis transform, bit for bit, on random sparse targets and queries.
func TestPlanePathMatchesAxisPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, shape := range [][]int{{6, 17, 13}, {1, 9, 40}, {25, 3, 4}, {13, 21}, {1, 1}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		sp := make([]float64, len(shape))
		for i := range sp {
			sp[i] = []float64{0.8, 2.5, 1, 0.7}[rng.IntN(4)]
		}
		for _, density := range []float64{0, 0.001, 0.01, 0.1, 0.5} {
			target, at := make([]bool, n), make([]bool, n)
			for i := range n {
				target[i] = rng.Float64() < density
				at[i] = rng.Float64() < 0.3
			}
			want := sampleDistances(target, at, shape, sp, make([]float64, n))
			// Budget 0: passes only; 1: search with fallbacks; 1e9: search only.
			old := searchBudget
			for _, budget := range []int{0, 1, 1e9} {
				searchBudget = budget
				got, ok := sampleDistancesPlanes(target, at, shape, sp)
				searchBudget = old
				if !ok {
					t.Fatalf("shape %v not handled", shape)
				}
				if len(got) != len(want) {
					t.Fatalf("shape %v: %d distances, want %d", shape, len(got), len(want))
				}
				for i := range got {
					if !same(got[i], want[i]) {
						t.Fatalf("budget %d shape %v spacing %v density %v: distance %d = %v, want %v", budget, shape, sp, density, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestFixturesPassesOnly runs the fixture comparisons again with the outward search
// disabled, so that both ways of computing distances are held to the reference.
func TestFixturesPassesOnly(t *testing.T) {
	defer func(old int) { searchBudget = old }(searchBudget)
	searchBudget = 0
	t.Run("2d", TestMetrics2DFixtures)
	t.Run("3d", TestMetrics3DFixtures)
}

// TestParallelMatchesSerial scores a volume large enough for every parallel loop to
// split, with 1 and 4 workers: the results must be identical (and race-free under -race).
func TestParallelMatchesSerial(t *testing.T) {
	d, h, w := 12, 160, 170
	pred, gt := make([]uint8, d*h*w), make([]uint8, d*h*w)
	for z := range d {
		for y := range h {
			for x := range w {
				i := (z*h+y)*w + x
				fy, fx := float64(y-80), float64(x-85)
				if fy*fy/3600+fx*fx/4900+float64((z-6)*(z-6))/30 < 1 {
					gt[i] = 1
				}
				if (fy-3)*(fy-3)/3000+(fx+4)*(fx+4)/5200+float64((z-5)*(z-5))/30 < 1 {
					pred[i] = 1
				}
				if y > 140 && x < 20 && z > 8 {
					pred[i] = 2
				}
			}
		}
	}
	run := func(workers int) []ClassScore {
		old := par.SetWorkers(workers)
		defer par.SetWorkers(old)
		s, err := EvaluateCase(pred, gt, []int{d, h, w}, []int{1, 2}, CaseOptions{Options: Options{Spacing: []float64{3, 0.7, 0.7}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := run(1), run(4)
	for j := range a {
		if a[j].Dice != b[j].Dice || !same(a[j].HD95, b[j].HD95) || !same(a[j].ASSD, b[j].ASSD) || a[j].HD != b[j].HD && !(math.IsNaN(a[j].HD) && math.IsNaN(b[j].HD)) {
			t.Errorf("class %d: 1 worker %+v, 4 workers %+v", a[j].Class, a[j], b[j])
		}
	}
	if !a[0].Defined || a[0].HD95 <= 0 {
		t.Errorf("class 1 not scored: %+v", a[0])
	}
}
