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

// LoadOptions choose how a state dict becomes a model.
type LoadOptions struct {
	// ModelType is "vit_b", "vit_l" or "vit_h", or "" or "custom" to take the
	// configuration from the tensor shapes (DetectConfig).
	ModelType string
	// DecoderHeads, if positive, is the mask decoder's attention head count for a detected
	// configuration. The shapes do not determine it (DetectConfig guesses); a checkpoint
	// trained with another count loads without error but computes something else, so give
	// it here when known. An official ModelType fixes it at 8.
	DecoderHeads int
}

// Load reads a checkpoint (the official .pth, or .safetensors / .npz: whatever package
// weights reads) and builds the model it describes. modelType is "vit_b", "vit_l",
// "vit_h", or "" to detect the type from the tensor shapes.
func Load(path string, modelType string) (*Model, error) {
	return LoadWith(path, LoadOptions{ModelType: modelType})
}

// LoadWith is Load with all the options.
func LoadWith(path string, o LoadOptions) (*Model, error) {
	sd, err := weights.Load(path)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	m, err := FromStateDictWith(sd, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromStateDict builds a model from a state dict (see Load for modelType).
func FromStateDict(sd map[string]*tensor.Tensor, modelType string) (*Model, error) {
	return FromStateDictWith(sd, LoadOptions{ModelType: modelType})
}

// FromStateDictWith builds a model from a state dict. When an official type is asked for
// and the shapes say the checkpoint is another model, the error names the model found
// (the key-by-key mismatch list is kept for checkpoints whose shapes describe no model).
func FromStateDictWith(sd map[string]*tensor.Tensor, o LoadOptions) (*Model, error) {
	if o.DecoderHeads < 0 {
		return nil, fmt.Errorf("sam: decoder heads %d must be positive (or 0 to guess)", o.DecoderHeads)
	}
	if o.ModelType == "" || strings.EqualFold(o.ModelType, "custom") {
		cfg, err := DetectConfig(sd)
		if err != nil {
			return nil, err
		}
		if o.DecoderHeads > 0 && o.DecoderHeads != cfg.Decoder.Heads {
			cfg.Decoder.Heads = o.DecoderHeads
			cfg.Type = "custom"
		}
		return FromStateDictConfig(sd, cfg)
	}
	cfg, err := ConfigFor(o.ModelType)
	if err != nil {
		return nil, err
	}
	if o.DecoderHeads > 0 && o.DecoderHeads != cfg.Decoder.Heads {
		return nil, fmt.Errorf("sam: %s has %d decoder heads, not %d (give no model type to load a custom decoder)", cfg.Type, cfg.Decoder.Heads, o.DecoderHeads)
	}
	if found, err := DetectConfig(sd); err == nil && !sameArchitecture(found, cfg) {
		return nil, fmt.Errorf("sam: checkpoint holds %s, not %s (give no model type to detect it)", describeConfig(found), cfg.Type)
	}
	return FromStateDictConfig(sd, cfg)
}

// sameArchitecture reports whether a and b have the same parameter shapes apart from the
// input size (which AdaptStateDict bridges).
func sameArchitecture(a, b Config) bool {
	ea, eb, da, db := a.Encoder, b.Encoder, a.Decoder, b.Decoder
	return ea.EmbedDim == eb.EmbedDim && ea.Depth == eb.Depth && ea.PatchSize == eb.PatchSize &&
		ea.InChans == eb.InChans && ea.OutChans == eb.OutChans && a.Prompt.MaskInChans == b.Prompt.MaskInChans &&
		da.Depth == db.Depth && da.MLPDim == db.MLPDim && da.NumMultimaskOutputs == db.NumMultimaskOutputs &&
		da.IoUHeadDepth == db.IoUHeadDepth && da.IoUHeadHidden == db.IoUHeadHidden
}

// describeConfig names a detected model: its official type when the shapes are one's
// (whatever the input size), else its main sizes.
func describeConfig(c Config) string {
	for _, typ := range ModelTypes {
		if o, _ := ConfigFor(typ); sameArchitecture(c, o) {
			return "a " + typ + " model"
		}
	}
	e := c.Encoder
	return fmt.Sprintf("a custom model (encoder width %d, depth %d, patch %d, input %d; neck %d)", e.EmbedDim, e.Depth, e.PatchSize, e.ImgSize, e.OutChans)
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
