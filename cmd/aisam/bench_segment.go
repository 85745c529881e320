package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/aisam/aisam/aisam"
	"github.com/aisam/aisam/internal/benchfmt"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

func init() {
	register(&command{
		name:    "bench segment",
		summary: "AI-SAM time after the embedding for all classes, and the latency of each kind of edit",
		run:     runBenchSegment,
	})
}

// segmentBenchResult is one line of `bench segment --json`.
type segmentBenchResult struct {
	Bench         string  `json:"bench"` // "segment/auto" or "segment/edit/<kind>"
	ModelType     string  `json:"model_type"`
	Classes       int     `json:"classes"`
	Threads       int     `json:"threads"`
	Runs          int     `json:"runs"`
	SecondsMedian float64 `json:"seconds_median"`
	SecondsMin    float64 `json:"seconds_min"`
	// CPUSeconds is the process CPU time per operation (median): on a shared machine,
	// CPUSeconds/threads is what the wall time would be with the cores to itself.
	CPUSeconds    float64 `json:"cpu_seconds_median"`
	Decoded       int     `json:"decoded"` // mask-decoder runs per operation
	TargetSeconds float64 `json:"target_seconds"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runBenchSegment(args []string) error {
	fs := flag.NewFlagSet("bench segment", flag.ContinueOnError)
	b := newBenchFlags(fs, 3)
	classes := fs.Int("classes", 9, "number of classes, background included (9: Synapse)")
	size := fs.Int("image-size", 512, "side of the (square) input image the masks are returned at")
	editRuns := fs.Int("edit-runs", 10, "timed runs of each kind of edit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisam bench segment [flags]

Times AI-SAM on a random embedding with random weights: the automatic segmentation of
every class after the embedding (AutoPrompt transformer for all classes in one batch,
classifier, one mask-decoder pass per class, full-size logits and label map), then the
latency of each kind of interactive edit, with AI-SAM's cross-class prompts (an edit of
one class re-decodes every class) and with --local-edits semantics (one class). Targets (2 threads, ViT-B, 9 classes): 1.5 s
after the embedding, 150 ms per edit.

flags:`)
		fs.PrintDefaults()
	}
	if help, err := parseBenchArgs(fs, args); help || err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if *classes < 2 || *classes > 255 {
		return fmt.Errorf("--classes %d: must be in 2..255", *classes)
	}
	if *size < 16 || *size > 4096 {
		return fmt.Errorf("--image-size %d: must be in 16..4096", *size)
	}
	if *editRuns < 1 || *editRuns > 1000 {
		return fmt.Errorf("--edit-runs %d: must be in 1..1000", *editRuns)
	}
	names := aisam.DefaultClassNames(*classes)
	cfg, err := aisam.NewConfig(*b.modelType, names)
	if err != nil {
		return err
	}
	defer par.SetWorkers(par.SetWorkers(*b.threads))
	m, err := aisam.New(cfg, 1)
	if err != nil {
		return err
	}
	g := cfg.SAM.Prompt.ImageEmbeddingSize
	emb := tensor.New(1, cfg.AutoPrompt.Dim, g, g)
	for i := range emb.Data {
		emb.Data[i] = float32(i%97)/97 - 0.5
	}
	ctx := context.Background()
	opts := aisam.Options{Presence: map[int]aisam.Presence{}}
	for c := 1; c < *classes; c++ {
		opts.Presence[c] = aisam.PresenceOn // random weights: keep every class in play
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
	report := func(bench string, times, cpu []time.Duration, decoded int, target float64) error {
		st := benchfmt.Summarize(times)
		cst := benchfmt.Summarize(cpu)
		rss, err := benchfmt.PeakRSS()
		if err != nil {
			return err
		}
		r := segmentBenchResult{Bench: bench, ModelType: *b.modelType, Classes: *classes, Threads: *b.threads, Runs: st.Runs,
			SecondsMedian: benchfmt.Round(st.Median.Seconds(), 4), SecondsMin: benchfmt.Round(st.Min.Seconds(), 4),
			CPUSeconds: benchfmt.Round(cst.Median.Seconds(), 4), Decoded: decoded, TargetSeconds: target, PeakRSSBytes: rss}
		if *b.jsonOut {
			return benchfmt.JSONLine(os.Stdout, r)
		}
		verdict := "meets"
		if st.Median.Seconds() > target {
			verdict = "MISSES"
		}
		fmt.Printf("%-40s %s, %d classes, %d threads: median %s (CPU %s), min %s over %d runs, %d decoder runs (%s the %.3gs target)\n",
			bench, *b.modelType, *classes, *b.threads, st.Median.Round(time.Millisecond), cst.Median.Round(time.Millisecond),
			st.Min.Round(time.Millisecond), st.Runs, decoded, verdict, target)
		return nil
	}

	var sess *aisam.Session
	run := func() error {
		s, err := m.NewSessionFromEmbedding(ctx, emb, *size, *size, opts)
		sess = s
		return err
	}
	var times, cpu []time.Duration
	for i := 0; i < *b.warmup+*b.runs; i++ {
		t0, c0 := time.Now(), cpuTime()
		if err := run(); err != nil {
			return err
		}
		if i >= *b.warmup {
			times = append(times, time.Since(t0))
			cpu = append(cpu, cpuTime()-c0)
		}
	}
	r := sess.Result()
	if err := report("segment/auto", times, cpu, r.Timing.Decoded, 1.5); err != nil {
		return err
	}
	if !*b.jsonOut {
		fmt.Printf("  last run: AutoPrompt+classifier %s, decoder %s, full-size logits and labels %s\n",
			r.Timing.AutoPrompt.Round(time.Millisecond), r.Timing.Decode.Round(time.Millisecond), r.Timing.Post.Round(time.Millisecond))
	}

	// Each edit lands on a new position so that the session's decoder cache never hits.
	half := float64(*size) / 2
	pos := func(i int) (float64, float64) {
		return float64(3 + (i*37)%(*size-6)), float64(3 + (i*53)%(*size-6))
	}
	edits := []struct {
		name string
		do   func(i int) (*aisam.Result, error)
	}{
		{"move-generated-point", func(i int) (*aisam.Result, error) { x, y := pos(i); return sess.MovePoint(1, 0, x, y) }},
		{"add-positive-point", func(i int) (*aisam.Result, error) { x, y := pos(i); return sess.AddPoint(2, x, y, true) }},
		{"add-negative-point", func(i int) (*aisam.Result, error) { x, y := pos(i); return sess.AddPoint(2, x, y, false) }},
		{"box-gate", func(i int) (*aisam.Result, error) {
			x, y := pos(i)
			return sess.SetBox(3, aisam.Box{X0: x / 2, Y0: y / 2, X1: x/2 + half - 1, Y1: y/2 + half - 1})
		}},
		{"box-token", func(i int) (*aisam.Result, error) {
			x, y := pos(i)
			return sess.SetBox(4, aisam.Box{X0: x / 2, Y0: y / 2, X1: x/2 + half - 1, Y1: y/2 + half - 1, Mode: aisam.BoxToken})
		}},
		{"presence", func(i int) (*aisam.Result, error) {
			p := aisam.PresenceOff
			if i%2 == 1 {
				p = aisam.PresenceOn
			}
			return sess.SetPresence(5, p)
		}},
		{"undo", func(i int) (*aisam.Result, error) { return sess.Undo() }},
	}
	for _, local := range []bool{false, true} {
		if local {
			o := opts
			o.LocalEdits = true
			if sess, err = m.NewSessionFromEmbedding(ctx, emb, *size, *size, o); err != nil {
				return err
			}
		}
		prefix := "segment/edit/"
		if local {
			prefix = "segment/edit-local/"
		}
		for _, e := range edits {
			var ts, cs []time.Duration
			decoded := 0
			for i := 0; i < *editRuns+*b.warmup; i++ {
				t0, c0 := time.Now(), cpuTime()
				r, err := e.do(i + 1)
				d, cd := time.Since(t0), cpuTime()-c0
				if err != nil {
					return fmt.Errorf("%s: %w", e.name, err)
				}
				if i >= *b.warmup {
					ts = append(ts, d)
					cs = append(cs, cd)
					decoded = r.Timing.Decoded
				}
			}
			if err := report(prefix+e.name, ts, cs, decoded, 0.15); err != nil {
				return err
			}
		}
	}
	return nil
}
