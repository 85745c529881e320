package gemm

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aisam/aisam/internal/benchfmt"
	"github.com/aisam/aisam/internal/par"
)

// TestTuneBlocks compares cache-block sizes on the reference product, interleaving the
// configurations so that machine noise hits them alike, and rating them by GFLOP per
// CPU-second per thread (wall time on a shared machine mostly measures the neighbours).
// It only runs with GEMM_TUNE=1.
func TestTuneBlocks(t *testing.T) {
	if os.Getenv("GEMM_TUNE") == "" {
		t.Skip("set GEMM_TUNE=1 to run")
	}
	kr := current.Load()
	m, k, n := 4096, 768, 3072
	if sh := os.Getenv("GEMM_TUNE_SHAPE"); sh != "" { // MxKxN
		if _, err := fmt.Sscanf(sh, "%dx%dx%d", &m, &k, &n); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	configs := [][3]int{{256, 192, 3072}, {384, 192, 3072}, {256, 96, 3072}, {384, 144, 3072}}
	for _, th := range []int{1, 2} {
		old := par.SetWorkers(th)
		rates := make([][]float64, len(configs))
		walls := make([][]float64, len(configs))
		for round := range 8 {
			for i, cf := range configs {
				c0, t0 := benchfmt.CPUTime(), time.Now()
				packed(kr, cf[0], cf[1], cf[2], false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				if round > 0 {
					cpu := (benchfmt.CPUTime() - c0) / time.Duration(th)
					rates[i] = append(rates[i], 2*float64(m*n*k)/cpu.Seconds()/1e9)
					walls[i] = append(walls[i], 2*float64(m*n*k)/time.Since(t0).Seconds()/1e9)
				}
			}
		}
		for i, cf := range configs {
			s := slices.Sorted(slices.Values(rates[i]))
			w := slices.Sorted(slices.Values(walls[i]))
			t.Logf("threads %d kc %d mc %d nc %d: median %.1f best %.1f GFLOP/cpu-s; wall median %.1f best %.1f GFLOP/s",
				th, cf[0], cf[1], cf[2], s[len(s)/2], s[len(s)-1], w[len(w)/2], w[len(w)-1])
		}
		par.SetWorkers(old)
	}
}
