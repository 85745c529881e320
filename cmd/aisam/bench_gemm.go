package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/benchfmt"
	"github.com/aisam/aisam/internal/par"
)

func init() {
	register(&command{
		name:    "bench gemm",
		summary: "SGEMM GFLOP/s per size, thread count and kernel (OpenBLAS beside with -tags openblas)",
		run:     runBenchGemm,
	})
}

// gemmImpl is one implementation the benchmark can time: run computes C = A·B for
// row-major A (m×k) and B (k×n) on the given number of threads.
type gemmImpl struct {
	name  string
	setup func(threads int) // select kernel / thread count before timing
	run   func(transB bool, m, n, k int, a, b, c []float32)
}

// gemmRunFlop is the least work of one timed run (tests lower it).
var gemmRunFlop = 2e8

// externalGemms holds comparison implementations linked by build tags (openblas).
var externalGemms []gemmImpl

func ourGemm(kernel string) gemmImpl {
	return gemmImpl{
		name: kernel,
		setup: func(threads int) {
			par.SetWorkers(threads)
			if err := gemm.SetKernel(kernel); err != nil {
				panic(err) // checked when the flags were parsed
			}
		},
		run: func(transB bool, m, n, k int, a, b, c []float32) {
			ldb := n
			if transB {
				ldb = k
			}
			gemm.Sgemm(false, transB, m, n, k, 1, a, k, b, ldb, 0, c, n)
		},
	}
}

type gemmSize struct{ m, k, n int }

func parseSizes(s string) ([]gemmSize, error) {
	var out []gemmSize
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p := strings.Split(strings.ToLower(f), "x")
		if len(p) != 3 {
			return nil, fmt.Errorf("--sizes: %q is not MxKxN", f)
		}
		var v [3]int
		for i, x := range p {
			n, err := strconv.Atoi(x)
			if err != nil || n < 1 || n > 1<<16 {
				return nil, fmt.Errorf("--sizes: %q: dimension %q must be an integer in 1..65536", f, x)
			}
			v[i] = n
		}
		if int64(v[0])*int64(v[1])+int64(v[1])*int64(v[2])+int64(v[0])*int64(v[2]) > 1<<29 {
			return nil, fmt.Errorf("--sizes: %q needs more than 2 GiB of operands", f)
		}
		out = append(out, gemmSize{v[0], v[1], v[2]})
	}
	if len(out) == 0 {
		return nil, errors.New("--sizes: no sizes given")
	}
	return out, nil
}

func parseThreads(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--threads: %q must be an integer in 1..1024", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--threads: no thread counts given")
	}
	return out, nil
}

// parseImpls resolves --impls: kernel names, "openblas" when linked, or "all".
func parseImpls(s string) ([]gemmImpl, error) {
	avail := map[string]gemmImpl{}
	var names []string
	for _, k := range gemm.Kernels() {
		avail[k] = ourGemm(k)
		names = append(names, k)
	}
	for _, e := range externalGemms {
		avail[e.name] = e
		names = append(names, e.name)
	}
	var want []string
	switch strings.TrimSpace(s) {
	case "", "default":
		want = []string{gemm.Kernels()[0]}
		for _, e := range externalGemms {
			want = append(want, e.name)
		}
	case "all":
		want = names
	default:
		want = strings.Split(s, ",")
	}
	var out []gemmImpl
	for _, w := range want {
		w = strings.TrimSpace(w)
		im, ok := avail[w]
		if !ok {
			hint := ""
			if w == "openblas" {
				hint = " (build with -tags openblas)"
			}
			return nil, fmt.Errorf("--impls: %q is not available here%s; have %s", w, hint, strings.Join(names, ", "))
		}
		out = append(out, im)
	}
	return out, nil
}

// gemmResult is one line of --json output.
type gemmResult struct {
	M          int     `json:"m"`
	K          int     `json:"k"`
	N          int     `json:"n"`
	Threads    int     `json:"threads"`
	GFLOPS     float64 `json:"gflops"` // median of the runs
	Impl       string  `json:"impl"`
	TransB     bool    `json:"transb,omitempty"`
	GFLOPSBest float64 `json:"gflops_best"`
	GFLOPSLow  float64 `json:"gflops_worst"`
	// GFLOPSCPU is the median of flop / (process CPU time / threads): the rate while
	// the threads actually held cores, which neighbours on a shared machine do not hide.
	GFLOPSCPU float64 `json:"gflops_cpu"`
	Runs      int     `json:"runs"`
}

func runBenchGemm(args []string) error {
	fs := flag.NewFlagSet("bench gemm", flag.ContinueOnError)
	sizes := fs.String("sizes", "4096x768x3072,4096x768x768,12x256x2048", "comma-separated MxKxN products (C[M×N] = A[M×K]·B[K×N])")
	threads := fs.String("threads", "1,2", "comma-separated thread counts")
	runs := fs.Int("runs", 5, "timed runs per size, thread count and implementation (interleaved; the median is reported)")
	impls := fs.String("impls", "default", "comma-separated implementations: "+strings.Join(gemm.Kernels(), ", ")+
		", openblas (with -tags openblas), 'all', or 'default' (the fastest kernel and OpenBLAS if linked)")
	jsonOut := fs.Bool("json", false, "print one JSON object per line instead of a table")
	transB := fs.Bool("transb", false, "multiply by Bᵀ stored N×K (the layout of nn.Linear weights) instead of B")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisam bench gemm [flags]\n\nTimes SGEMM and prints GFLOP/s (median of --runs) per size and thread count.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	sz, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	th, err := parseThreads(*threads)
	if err != nil {
		return err
	}
	im, err := parseImpls(*impls)
	if err != nil {
		return err
	}
	if *runs < 1 || *runs > 1000 {
		return fmt.Errorf("--runs %d: must be in 1..1000", *runs)
	}
	return benchGemm(os.Stdout, sz, th, im, *runs, *jsonOut, *transB)
}

func benchGemm(w io.Writer, sizes []gemmSize, threads []int, impls []gemmImpl, runs int, jsonOut, transB bool) error {
	defer par.SetWorkers(par.SetWorkers(0))
	defer gemm.SetKernel("")
	if !jsonOut {
		op := "A·B"
		if transB {
			op = "A·Bᵀ"
		}
		fmt.Fprintf(w, "SGEMM GFLOP/s: median of %d interleaved runs [worst-best]; C = %s, row-major\n", runs, op)
		fmt.Fprintln(w, "cpu: median GFLOP per CPU-second per thread (the rate while holding a core)")
		fmt.Fprintf(w, "kernels on this CPU: %s\n", strings.Join(gemm.Kernels(), ", "))
		fmt.Fprintf(w, "%-16s %7s", "M×K×N", "threads")
		for _, im := range impls {
			fmt.Fprintf(w, "  %-26s", im.name)
		}
		if len(impls) > 1 {
			fmt.Fprintf(w, "  %s/%s", impls[0].name, impls[len(impls)-1].name)
		}
		fmt.Fprintln(w)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range sizes {
		a := make([]float32, s.m*s.k)
		b := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = r.Float32() - 0.5
		}
		for i := range b {
			b[i] = r.Float32() - 0.5
		}
		flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		// Small products are repeated within a timed run, so that a run lasts a few
		// milliseconds: longer than the clock's and the CPU-time accounting's grain.
		reps := max(1, int(gemmRunFlop/flop))
		flop *= float64(reps)
		for _, t := range threads {
			// Warm up every implementation and check they agree (a fast wrong answer
			// is not a result), then interleave the timed runs so that a noisy
			// neighbour hurts all of them alike.
			var first []float32
			for _, im := range impls {
				im.setup(t)
				clear(c)
				im.run(transB, s.m, s.n, s.k, a, b, c)
				if first == nil {
					first = append([]float32(nil), c...)
				} else if err := sameProduct(first, c, s.k); err != nil {
					return fmt.Errorf("%s disagrees with %s on %dx%dx%d: %w", im.name, impls[0].name, s.m, s.k, s.n, err)
				}
			}
			times := make([][]time.Duration, len(impls))
			cpus := make([][]time.Duration, len(impls))
			for range runs {
				for i, im := range impls {
					if len(externalGemms) > 0 {
						// OpenBLAS's idle threads spin for a while after a call; let
						// them sleep so they do not slow whatever runs next.
						time.Sleep(100 * time.Millisecond)
					}
					im.setup(t)
					c0, t0 := benchfmt.CPUTime(), time.Now()
					for range reps {
						im.run(transB, s.m, s.n, s.k, a, b, c)
					}
					times[i] = append(times[i], time.Since(t0))
					cpus[i] = append(cpus[i], (benchfmt.CPUTime()-c0)/time.Duration(t))
				}
			}
			if !jsonOut {
				fmt.Fprintf(w, "%-16s %7d", fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), t)
			}
			var med []float64
			for i, im := range impls {
				st := benchfmt.Summarize(times[i])
				g := benchfmt.Rate(flop, st.Median) / 1e9
				best, worst := benchfmt.Rate(flop, st.Min)/1e9, benchfmt.Rate(flop, st.Max)/1e9
				gc := benchfmt.Rate(flop, benchfmt.Summarize(cpus[i]).Median) / 1e9
				med = append(med, g)
				if jsonOut {
					if err := benchfmt.JSONLine(w, gemmResult{s.m, s.k, s.n, t, benchfmt.Round(g, 2), im.name, transB,
						benchfmt.Round(best, 2), benchfmt.Round(worst, 2), benchfmt.Round(gc, 2), st.Runs}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(w, "  %-26s", fmt.Sprintf("%6.1f [%.0f-%.0f] cpu %.0f", g, worst, best, gc))
			}
			if !jsonOut {
				if len(impls) > 1 {
					fmt.Fprintf(w, "  %.2f", med[0]/med[len(med)-1])
				}
				fmt.Fprintln(w)
			}
		}
	}
	return nil
}

// sameProduct compares two results of the same product of uniform(-0.5,0.5) operands:
// each element is a sum of k terms, so float32 rounding differences stay far below 1e-3.
func sameProduct(want, got []float32, k int) error {
	tol := 1e-5 * float64(k)
	for i := range want {
		if d := float64(want[i] - got[i]); !(d <= tol && d >= -tol) {
			return fmt.Errorf("element %d: %g vs %g", i, got[i], want[i])
		}
	}
	return nil
}
