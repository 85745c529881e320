package sam

import (
	"fmt"
	"strings"

	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
	"github.com/aisam/aisam/weights"
)

// Model is a whole SAM with its parameters.
type Model struct {
	Encoder *ImageEncoder
	Prompt  *PromptEncoder
	Decoder *MaskDecoder
	Params  *nn.Params
	Config  Config
}

// PixelMean and PixelStd normalise RGB 0-255 input (not part of the state dict).
var (
	PixelMean = [3]float32{123.675, 116.28, 103.53}
	PixelStd  = [3]float32{58.395, 57.12, 57.375}
)

// New builds a model with PyTorch-style random initialisation drawn from seed. It panics
// on an invalid config (see Config.Validate for checking user-supplied configs).
func New(cfg Config, seed uint64) *Model {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	ps := nn.NewParams(seed)
	r := ps.Root()
	return &Model{
		Encoder: NewImageEncoder(r.Sub("image_encoder"), cfg.Encoder),
		Prompt:  NewPromptEncoder(r.Sub("prompt_encoder"), cfg.Prompt),
		Decoder: NewMaskDecoder(r.Sub("mask_decoder"), cfg.Decoder),
		Params:  ps,
		Config:  cfg,
	}
}

// Load reads a checkpoint (the official .pth, or .safetensors / .npz: whatever package
// weights reads) and builds the model it describes. modelType is "vit_b", "vit_l",
// "vit_h", or "" to detect the type from the tensor shapes.
func Load(path string, modelType string) (*Model, error) {
	sd, err := weights.Load(path)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	m, err := FromStateDict(sd, modelType)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromStateDict builds a model from a state dict (see Load for modelType).
func FromStateDict(sd map[string]*tensor.Tensor, modelType string) (*Model, error) {
	var cfg Config
	var err error
	if modelType == "" {
		cfg, err = DetectConfig(sd)
	} else {
		cfg, err = ConfigFor(modelType)
	}
	if err != nil {
		return nil, err
	}
	return FromStateDictConfig(sd, cfg)
}

// FromStateDictConfig builds a model of cfg and loads sd strictly into it. A checkpoint
// whose pos_embed or global rel_pos tables are for another input size (e.g. the official
// 1024 weights into a 512 SAMed config) is adapted first (AdaptStateDict).
func FromStateDictConfig(sd map[string]*tensor.Tensor, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := New(cfg, 0)
	sd = AdaptStateDict(sd, m.Params)
	if err := m.Params.Load(sd, true); err != nil {
		return nil, err
	}
	return m, nil
}

// AdaptStateDict resizes image_encoder.pos_embed (bilinear, align_corners=False) and
// relative-position tables (linear) whose lengths differ from the model's, as SAMed's
// load_from does, returning a new map (the input is not modified). Other keys pass through.
func AdaptStateDict(sd map[string]*tensor.Tensor, ps *nn.Params) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, t := range sd {
		out[k] = t
		p := ps.Get(k)
		if p == nil || tensor.SameShape(t, p.T) || t.Rank() != p.T.Rank() {
			continue
		}
		switch {
		case k == "image_encoder.pos_embed" && t.Rank() == 4 && t.Dim(3) == p.T.Dim(3):
			x := tensor.Permute(t, 0, 3, 1, 2)
			x = tensor.ResizeBilinear(x, p.T.Dim(1), p.T.Dim(2), false)
			out[k] = tensor.Permute(x, 0, 2, 3, 1)
		case strings.HasSuffix(k, ".rel_pos_h") || strings.HasSuffix(k, ".rel_pos_w"):
			if t.Rank() == 2 && t.Dim(1) == p.T.Dim(1) {
				x := tensor.ResizeBilinear(t.Reshape(1, 1, t.Dim(0), t.Dim(1)), p.T.Dim(0), t.Dim(1), false)
				out[k] = x.Reshape(p.T.Dim(0), t.Dim(1))
			}
		}
	}
	return out
}
