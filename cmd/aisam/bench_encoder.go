package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/aisam/aisam/internal/benchfmt"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

func init() {
	register(&command{
		name:    "bench encoder",
		summary: "SAM image encoder time per image (random weights), GFLOP/s, peak RSS",
		run:     func(args []string) error { return runBenchEncoder(os.Stdout, args) },
	})
}

// modelBenchResult is one line of `bench encoder|decoder --json`.
type modelBenchResult struct {
	Bench         string  `json:"bench"`
	ModelType     string  `json:"model_type"`
	Threads       int     `json:"threads"`
	Runs          int     `json:"runs"`
	SecondsMedian float64 `json:"seconds_median"`
	SecondsMin    float64 `json:"seconds_min"`
	GFLOPS        float64 `json:"gflops"` // at the median
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	// CPUSeconds is the process's user+system time per run, summed over threads: on a
	// shared machine it moves far less than the wall-clock time.
	CPUSeconds float64 `json:"cpu_seconds_per_run"`
}

// benchFlags are the flags shared by the SAM benchmarks.
type benchFlags struct {
	modelType  *string
	threads    *int
	runs       *int
	warmup     *int
	jsonOut    *bool
	cpuprofile *string
}

func newBenchFlags(fs *flag.FlagSet, runs int) benchFlags {
	return benchFlags{
		modelType:  fs.String("model-type", "vit_b", "vit_b, vit_l or vit_h (random weights)"),
		threads:    fs.Int("threads", 2, "worker threads"),
		runs:       fs.Int("runs", runs, "timed runs (the median is reported)"),
		warmup:     fs.Int("warmup", 1, "untimed runs first"),
		jsonOut:    fs.Bool("json", false, "print one JSON object instead of text"),
		cpuprofile: fs.String("cpuprofile", "", "write a pprof CPU profile of the timed runs to this file"),
	}
}

func (b benchFlags) check() error {
	if *b.threads < 1 || *b.threads > 1024 {
		return fmt.Errorf("--threads %d: must be in 1..1024", *b.threads)
	}
	if *b.runs < 1 || *b.runs > 10000 {
		return fmt.Errorf("--runs %d: must be in 1..10000", *b.runs)
	}
	if *b.warmup < 0 || *b.warmup > 100 {
		return fmt.Errorf("--warmup %d: must be in 0..100", *b.warmup)
	}
	return nil
}

func parseBenchArgs(fs *flag.FlagSet, args []string) (bool, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return false, nil
}

// timeModel times fn with benchfmt after the warm-up, under an optional CPU profile, and
// prints the result.
func timeModel(w io.Writer, b benchFlags, bench string, flop float64, fn func() error) error {
	defer par.SetWorkers(par.SetWorkers(*b.threads))
	for range *b.warmup {
		if err := fn(); err != nil {
			return err
		}
	}
	if *b.cpuprofile != "" {
		f, err := os.Create(*b.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := procCPUTime()
	times, err := benchfmt.Time(0, *b.runs, fn)
	cpu := (procCPUTime() - cpu0).Seconds() / float64(*b.runs)
	if err != nil {
		return err
	}
	st := benchfmt.Summarize(times)
	rss, err := benchfmt.PeakRSS()
	if err != nil {
		return err
	}
	res := modelBenchResult{
		Bench: bench, ModelType: *b.modelType, Threads: *b.threads, Runs: st.Runs,
		SecondsMedian: benchfmt.Round(st.Median.Seconds(), 4), SecondsMin: benchfmt.Round(st.Min.Seconds(), 4),
		GFLOPS: benchfmt.Round(benchfmt.Rate(flop, st.Median)/1e9, 1), PeakRSSBytes: rss,
		CPUSeconds: benchfmt.Round(cpu, 4),
	}
	if *b.jsonOut {
		return benchfmt.JSONLine(w, res)
	}
	_, err = fmt.Fprintf(w, "%s %s, %d threads: median %s, min %s over %d runs (spread %.0f%%); %.1f GFLOP/s; CPU %.3f s/run; peak RSS %s MiB\n",
		bench, res.ModelType, res.Threads, st.Median.Round(time.Millisecond), st.Min.Round(time.Millisecond), st.Runs,
		100*st.Spread(), res.GFLOPS, cpu, benchfmt.MiB(rss))
	return err
}

// procCPUTime returns the process's user + system CPU time.
func procCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runBenchEncoder(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench encoder", flag.ContinueOnError)
	b := newBenchFlags(fs, 3)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisam bench encoder [flags]\n\nTimes the SAM image encoder on one random image with random weights.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseBenchArgs(fs, args); help || err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	cfg, err := sam.ConfigFor(*b.modelType)
	if err != nil {
		return err
	}
	par.SetWorkers(*b.threads)
	enc := sam.New(cfg, 1).Encoder
	s := cfg.Encoder.ImgSize
	x := tensor.New(1, 3, s, s)
	for i := range x.Data {
		x.Data[i] = float32(i%251)/125 - 1
	}
	return timeModel(w, b, "encoder", sam.EncoderFLOPs(cfg.Encoder, s, s), func() error {
		_, err := enc.ForwardContext(context.Background(), x)
		return err
	})
}
