package aisam

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/tensor"
)

// benchSession builds a ViT-B AI-SAM with 9 classes and a synthetic embedding.
func benchSession(b *testing.B) (*Model, *tensor.Tensor, Options) {
	b.Helper()
	cfg, err := NewConfig("vit_b", DefaultClassNames(9))
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	g := cfg.SAM.Prompt.ImageEmbeddingSize
	emb := tensor.New(1, cfg.AutoPrompt.Dim, g, g)
	for i := range emb.Data {
		emb.Data[i] = float32(i%97)/97 - 0.5
	}
	opts := Options{Presence: map[int]Presence{}}
	for c := 1; c < 9; c++ {
		opts.Presence[c] = PresenceOn
	}
	return m, emb, opts
}

// cpuTime is the process's user+system CPU time: on a shared machine the CPU time per
// operation is steadier than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSegmentAuto is the automatic segmentation after the embedding (issue 4's
// 1.5 s target on 2 threads); BenchmarkSegmentEdit one cross-class edit (150 ms).
func BenchmarkSegmentAuto(b *testing.B) {
	m, emb, opts := benchSession(b)
	defer par.SetWorkers(par.SetWorkers(2))
	b.ResetTimer()
	c0 := cpuTime()
	defer func() { b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op") }()
	for range b.N {
		if _, err := m.NewSessionFromEmbedding(context.Background(), emb, 512, 512, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSegmentEdit(b *testing.B) {
	m, emb, opts := benchSession(b)
	defer par.SetWorkers(par.SetWorkers(2))
	s, err := m.NewSessionFromEmbedding(context.Background(), emb, 512, 512, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuTime()
	defer func() { b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op") }()
	for i := range b.N {
		x, y := float64(3+(i*37)%500), float64(3+(i*53)%500)
		if _, err := s.AddPoint(2, x, y, true); err != nil {
			b.Fatal(err)
		}
	}
}
