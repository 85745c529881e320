package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

func init() {
	register(&command{
		name:    "bench decoder",
		summary: "SAM prompt encoder + mask decoder time per 1-point prompt (random weights)",
		run:     func(args []string) error { return runBenchDecoder(os.Stdout, args) },
	})
}

func runBenchDecoder(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("bench decoder", flag.ContinueOnError)
	b := newBenchFlags(fs, 20)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisam bench decoder [flags]\n\nTimes the prompt encoder and mask decoder (one point, multimask) on a random embedding with random weights.\n\nflags:")
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
	// Only the prompt encoder and decoder: the image encoder's weights would dominate
	// the peak RSS of a benchmark that never runs it.
	ps := nn.NewParams(1)
	m := &sam.Model{
		Prompt:  sam.NewPromptEncoder(ps.Root().Sub("prompt_encoder"), cfg.Prompt),
		Decoder: sam.NewMaskDecoder(ps.Root().Sub("mask_decoder"), cfg.Decoder),
		Params:  ps,
		Config:  cfg,
	}
	g := cfg.Prompt.ImageEmbeddingSize
	emb := tensor.New(1, cfg.Prompt.EmbedDim, g, g)
	for i := range emb.Data {
		emb.Data[i] = float32(i%97)/97 - 0.5
	}
	p := sam.NewPredictor(m)
	if err := p.SetEmbedding(emb, 1024, 1024); err != nil {
		return err
	}
	pr := sam.Prompt{Points: [][2]float64{{358, 461}}, Labels: []int{1}, Multimask: true}
	// GFLOP/s counts the official decoder's operations (the inference path folds the
	// image-side projections and does about half of them), so it compares with PyTorch.
	return timeModel(w, b, "decoder", sam.DecoderFLOPs(cfg, 2), func() error {
		pts := &sam.Points{Coords: sam.CoordsTensor([]float64{pr.Points[0][0], pr.Points[0][1]}, 1024, 1024, cfg.Encoder.ImgSize), Labels: [][]int{pr.Labels}}
		_, _, err := p.PredictInput(pts, nil, nil, true)
		return err
	})
}
