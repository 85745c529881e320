//go:build unix

package metrics

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/aisam/aisam/dataset"
	"github.com/aisam/aisam/internal/par"
)

// cpuTime is the process's user + system time: on a shared machine it says more about
// the work done than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ellipsoidCase builds a [100, 512, 512] label volume with a large ellipsoid organ
// (class 1, about 9% of the volume, so its bounding box is most of the case) and a
// prediction shifted by a few voxels with a bump, like a real liver.
func ellipsoidCase() (pred, gt []uint8, shape []int) { return ellipsoidCaseShift(0) }

// ellipsoidCaseShift moves the prediction by dx more columns.
func ellipsoidCaseShift(dx float64) (pred, gt []uint8, shape []int) {
	d, h, w := 100, 512, 512
	shape = []int{d, h, w}
	pred = make([]uint8, d*h*w)
	gt = make([]uint8, d*h*w)
	in := func(z, y, x, cz, cy, cx, rz, ry, rx float64) bool {
		a, b, c := (z-cz)/rz, (y-cy)/ry, (x-cx)/rx
		return a*a+b*b+c*c < 1
	}
	for z := range d {
		for y := range h {
			for x := range w {
				i := (z*h+y)*w + x
				fz, fy, fx := float64(z), float64(y), float64(x)
				if in(fz, fy, fx, 50, 256, 256, 45, 200, 180) {
					gt[i] = 1
				}
				if in(fz, fy, fx, 52, 260, 250+dx, 44, 195, 185) || in(fz, fy, fx, 30, 100, 300, 8, 20, 20) {
					pred[i] = 1
				}
			}
		}
	}
	return pred, gt, shape
}

// BenchmarkHD95Volume is the benchmark: HD95 of one class of a 512x512x100 case.
// It reports the CPU seconds per case besides the wall time (which includes waiting
// for a shared CPU); run with -cpu 1,2 to see the scaling.
func BenchmarkHD95Volume(b *testing.B) { benchHD95(b, 0) }

// BenchmarkHD95VolumeFar is the same with the prediction 60 columns off, where the
// outward search gives up and the linear-time passes do the work.
func BenchmarkHD95VolumeFar(b *testing.B) { benchHD95(b, 60) }

func benchHD95(b *testing.B, shift float64) {
	pred, gt, shape := ellipsoidCaseShift(shift)
	old := par.SetWorkers(runtime.GOMAXPROCS(0)) // follow -cpu
	defer par.SetWorkers(old)
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		s, err := EvaluateCase(pred, gt, shape, []int{1}, CaseOptions{Options: Options{Spacing: []float64{2.5, 0.8, 0.8}}})
		if err != nil || !s[0].Defined {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkEvaluateSynapseCase scores the 8 organ classes of a synthetic 512x512x100
// CT case (the size of a real Synapse test volume) against a prediction shifted by
// (1, 3, -2) voxels, with the Synapse spacing.
func BenchmarkEvaluateSynapseCase(b *testing.B) {
	g, err := dataset.NewSynthetic(dataset.SyntheticOptions{H: 512, W: 512, Depth: 100, Cases: 1, Seed: 4})
	if err != nil {
		b.Fatal(err)
	}
	v, err := g.Case(0)
	if err != nil {
		b.Fatal(err)
	}
	pred := make([]int32, len(v.Label))
	for z := range v.D {
		for y := range v.H {
			for x := range v.W {
				sz, sy, sx := z-1, y-3, x+2
				if sz >= 0 && sy >= 0 && sx < v.W {
					pred[(z*v.H+y)*v.W+x] = v.Label[(sz*v.H+sy)*v.W+sx]
				}
			}
		}
	}
	classes := []int{1, 2, 3, 4, 5, 6, 7, 8}
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		if _, err := EvaluateCase(pred, v.Label, v.Shape(), classes, CaseOptions{Options: Options{Spacing: v.Spacing[:]}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkHD95VolumeFarPassesOnly is the baseline of the far case: passes only.
func BenchmarkHD95VolumeFarPassesOnly(b *testing.B) {
	defer func(old int) { searchBudget = old }(searchBudget)
	searchBudget = 0
	benchHD95(b, 60)
}

// BenchmarkHD95VolumePassesOnly is the baseline of the near case: passes only.
func BenchmarkHD95VolumePassesOnly(b *testing.B) {
	defer func(old int) { searchBudget = old }(searchBudget)
	searchBudget = 0
	benchHD95(b, 0)
}
