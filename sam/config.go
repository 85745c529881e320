// Package sam is Segment Anything (facebookresearch/segment-anything) in Go: the ViT image
// encoder, the prompt encoder and the two-way-transformer mask decoder, with parameters
// named exactly as the official state_dict keys, plus pre/post-processing and a predictor.
//
// Model code runs on *ag.Tape methods: a nil tape is inference, a tape with watched
// parameters trains (AI-SAM trains the mask decoder through it). The image encoder also has
// an inference-only fast path (fused windowed attention with relative positions).
package sam

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aisam/aisam/tensor"
)

// EncoderConfig describes an ImageEncoderViT.
type EncoderConfig struct {
	ImgSize   int // input side (1024 for the official models)
	PatchSize int
	InChans   int
	EmbedDim  int
	Depth     int
	Heads     int
	MLPRatio  float64
	OutChans  int // neck channels (the prompt/decoder width)
	// WindowSize is the side of the attention windows; 0 means every block is global.
	WindowSize int
	// GlobalAttnIndexes lists the blocks with global attention.
	GlobalAttnIndexes []int
	UseAbsPos         bool
	UseRelPos         bool
	// PosEmbedSize is the token-grid side of pos_embed (0 means ImgSize/PatchSize). A
	// different input grid resizes pos_embed bilinearly at run time, as SAMed does.
	PosEmbedSize int
}

// PromptConfig describes a PromptEncoder.
type PromptConfig struct {
	EmbedDim           int
	ImageEmbeddingSize int // side of the embedding grid (64)
	InputImageSize     int // side of the encoder input (1024)
	MaskInChans        int // 16 for the official models
}

// DecoderConfig describes a MaskDecoder and its TwoWayTransformer.
type DecoderConfig struct {
	TransformerDim      int
	Depth               int
	Heads               int
	MLPDim              int
	AttnDownsample      int
	NumMultimaskOutputs int
	IoUHeadDepth        int
	IoUHeadHidden       int
}

// Config is a whole SAM.
type Config struct {
	Type    string // "vit_b", "vit_l", "vit_h" or "custom"
	Encoder EncoderConfig
	Prompt  PromptConfig
	Decoder DecoderConfig
}

// GridSize returns the token-grid side of the encoder input.
func (c EncoderConfig) GridSize() int { return c.ImgSize / c.PatchSize }

func (c EncoderConfig) posEmbedSize() int {
	if c.PosEmbedSize > 0 {
		return c.PosEmbedSize
	}
	return c.GridSize()
}

// IsGlobal reports whether block i attends globally.
func (c EncoderConfig) IsGlobal(i int) bool {
	return c.WindowSize <= 0 || slices.Contains(c.GlobalAttnIndexes, i)
}

// Validate checks that the configuration describes a buildable model.
func (c Config) Validate() error {
	e := c.Encoder
	switch {
	case e.ImgSize <= 0 || e.PatchSize <= 0 || e.ImgSize%e.PatchSize != 0:
		return fmt.Errorf("sam: image size %d is not a positive multiple of patch size %d", e.ImgSize, e.PatchSize)
	case e.InChans <= 0 || e.EmbedDim <= 0 || e.Depth < 0 || e.OutChans <= 0:
		return fmt.Errorf("sam: bad encoder widths (in %d, embed %d, depth %d, out %d)", e.InChans, e.EmbedDim, e.Depth, e.OutChans)
	case e.Heads <= 0 || e.EmbedDim%e.Heads != 0:
		return fmt.Errorf("sam: embed dim %d not divisible by %d heads", e.EmbedDim, e.Heads)
	case e.MLPRatio <= 0:
		return fmt.Errorf("sam: MLP ratio %g must be positive", e.MLPRatio)
	case e.WindowSize < 0:
		return fmt.Errorf("sam: negative window size %d", e.WindowSize)
	}
	for _, g := range e.GlobalAttnIndexes {
		if g < 0 || g >= e.Depth {
			return fmt.Errorf("sam: global attention index %d outside depth %d", g, e.Depth)
		}
	}
	p := c.Prompt
	if p.EmbedDim <= 0 || p.EmbedDim%2 != 0 || p.ImageEmbeddingSize <= 0 || p.InputImageSize <= 0 || p.MaskInChans < 4 || p.MaskInChans%4 != 0 {
		return fmt.Errorf("sam: bad prompt config %+v", p)
	}
	if p.EmbedDim != e.OutChans {
		return fmt.Errorf("sam: prompt width %d differs from encoder neck width %d", p.EmbedDim, e.OutChans)
	}
	d := c.Decoder
	switch {
	case d.TransformerDim != p.EmbedDim:
		return fmt.Errorf("sam: decoder width %d differs from prompt width %d", d.TransformerDim, p.EmbedDim)
	case d.Heads <= 0 || d.AttnDownsample <= 0 || d.TransformerDim%d.AttnDownsample != 0 || (d.TransformerDim/d.AttnDownsample)%d.Heads != 0 || d.TransformerDim%d.Heads != 0:
		return fmt.Errorf("sam: decoder width %d, %d heads, downsample %d do not divide", d.TransformerDim, d.Heads, d.AttnDownsample)
	case d.TransformerDim%8 != 0:
		return fmt.Errorf("sam: decoder width %d must be a multiple of 8", d.TransformerDim)
	case d.Depth < 1 || d.MLPDim <= 0 || d.NumMultimaskOutputs < 1 || d.IoUHeadDepth < 1 || d.IoUHeadHidden <= 0:
		return fmt.Errorf("sam: bad decoder config %+v", d)
	}
	return nil
}

func officialConfig(typ string, embed, depth, heads int, global []int) Config {
	return Config{
		Type: typ,
		Encoder: EncoderConfig{
			ImgSize: 1024, PatchSize: 16, InChans: 3, EmbedDim: embed, Depth: depth, Heads: heads,
			MLPRatio: 4, OutChans: 256, WindowSize: 14, GlobalAttnIndexes: global,
			UseAbsPos: true, UseRelPos: true,
		},
		Prompt: PromptConfig{EmbedDim: 256, ImageEmbeddingSize: 64, InputImageSize: 1024, MaskInChans: 16},
		Decoder: DecoderConfig{
			TransformerDim: 256, Depth: 2, Heads: 8, MLPDim: 2048, AttnDownsample: 2,
			NumMultimaskOutputs: 3, IoUHeadDepth: 3, IoUHeadHidden: 256,
		},
	}
}

// ModelTypes lists the registered model types.
var ModelTypes = []string{"vit_b", "vit_l", "vit_h"}

// ConfigFor returns the official configuration of "vit_b", "vit_l" or "vit_h"
// ("default" is vit_h, as in the official registry).
func ConfigFor(modelType string) (Config, error) {
	switch strings.ToLower(modelType) {
	case "vit_b":
		return officialConfig("vit_b", 768, 12, 12, []int{2, 5, 8, 11}), nil
	case "vit_l":
		return officialConfig("vit_l", 1024, 24, 16, []int{5, 11, 17, 23}), nil
	case "vit_h", "default":
		return officialConfig("vit_h", 1280, 32, 16, []int{7, 15, 23, 31}), nil
	}
	return Config{}, fmt.Errorf("sam: unknown model type %q (want one of %s)", modelType, strings.Join(ModelTypes, ", "))
}

// WithImageSize returns c for another input side (e.g. SAMed's 512): the embedding grid
// and prompt sizes follow, and pos_embed keeps the checkpoint's grid (resized at run time).
func (c Config) WithImageSize(size int) Config {
	if c.Encoder.PosEmbedSize == 0 {
		c.Encoder.PosEmbedSize = c.Encoder.GridSize()
	}
	c.Encoder.ImgSize = size
	c.Prompt.InputImageSize = size
	c.Prompt.ImageEmbeddingSize = size / c.Encoder.PatchSize
	c.Encoder.GlobalAttnIndexes = slices.Clone(c.Encoder.GlobalAttnIndexes)
	return c
}

// shapeOf returns the shape of key in sd or an error naming it.
func shapeOf(sd map[string]*tensor.Tensor, key string, rank int) ([]int, error) {
	t, ok := sd[key]
	if !ok {
		return nil, fmt.Errorf("sam: state dict has no %q", key)
	}
	if t.Rank() != rank {
		return nil, fmt.Errorf("sam: %q has shape %v, want rank %d", key, t.Shape(), rank)
	}
	return t.Shape(), nil
}

// countIndexed returns 1 + the largest N in keys "<prefix>N.".
func countIndexed(sd map[string]*tensor.Tensor, prefix string) int {
	n := 0
	for k := range sd {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		i := strings.IndexByte(rest, '.')
		if i <= 0 {
			continue
		}
		if v, err := strconv.Atoi(rest[:i]); err == nil && v+1 > n {
			n = v + 1
		}
	}
	return n
}

// DetectConfig infers the configuration from a state dict's shapes. The official types are
// recognised by their encoder width and depth; other shapes give a "custom" config.
//
// The decoder's attention head count is a guess: its projections have the same shapes
// for any count that divides the width, so no shape determines it. DetectConfig takes 8
// for a width of 256 or more (the official models, MedSAM and SAMed all use 8) and
// width/16 below (a 16-wide head, at least 1). A checkpoint trained with another count
// loads without error but computes something else: pass LoadOptions.DecoderHeads (the
// CLI's --decoder-heads) when the count is known. The encoder's head count, by contrast,
// follows from the rel_pos tables (width / their head dimension).
func DetectConfig(sd map[string]*tensor.Tensor) (Config, error) {
	pw, err := shapeOf(sd, "image_encoder.patch_embed.proj.weight", 4)
	if err != nil {
		return Config{}, err
	}
	embed, inCh, patch := pw[0], pw[1], pw[2]
	depth := countIndexed(sd, "image_encoder.blocks.")
	if depth == 0 {
		return Config{}, fmt.Errorf("sam: state dict has no image_encoder.blocks")
	}
	for _, typ := range ModelTypes {
		c, _ := ConfigFor(typ)
		if c.Encoder.EmbedDim == embed && c.Encoder.Depth == depth && c.Encoder.PatchSize == patch {
			if pe, ok := sd["image_encoder.pos_embed"]; ok && pe.Rank() == 4 && pe.Dim(1) != c.Encoder.GridSize() {
				c = c.WithImageSize(pe.Dim(1) * patch)
				c.Encoder.PosEmbedSize = 0
				c.Type = "custom"
			}
			return c, nil
		}
	}
	c := Config{Type: "custom"}
	e := &c.Encoder
	e.EmbedDim, e.InChans, e.PatchSize, e.Depth, e.MLPRatio = embed, inCh, patch, depth, 4
	if s, err := shapeOf(sd, "image_encoder.blocks.0.mlp.lin1.weight", 2); err == nil {
		e.MLPRatio = float64(s[0]) / float64(embed)
	}
	grid := 0
	if pe, ok := sd["image_encoder.pos_embed"]; ok {
		if pe.Rank() != 4 {
			return Config{}, fmt.Errorf("sam: pos_embed has shape %v, want [1 h w C]", pe.Shape())
		}
		e.UseAbsPos = true
		grid = pe.Dim(1)
	}
	// Relative-position tables: the longest belongs to global blocks (2*grid-1 rows), the
	// others to windowed blocks (2*window-1 rows).
	rows := make([]int, depth)
	headDim := 0
	for i := range depth {
		s, err := shapeOf(sd, fmt.Sprintf("image_encoder.blocks.%d.attn.rel_pos_h", i), 2)
		if err != nil {
			break
		}
		rows[i], headDim = s[0], s[1]
		e.UseRelPos = true
	}
	if e.UseRelPos {
		longest := slices.Max(rows)
		if grid == 0 {
			grid = (longest + 1) / 2
		}
		for i, r := range rows {
			if r == 2*grid-1 && r == longest {
				e.GlobalAttnIndexes = append(e.GlobalAttnIndexes, i)
			} else {
				e.WindowSize = (r + 1) / 2
			}
		}
		if len(e.GlobalAttnIndexes) == depth {
			e.WindowSize = 0
		}
		e.Heads = embed / headDim
	} else {
		return Config{}, fmt.Errorf("sam: cannot infer head count without rel_pos tables")
	}
	if grid == 0 {
		return Config{}, fmt.Errorf("sam: cannot infer the input size")
	}
	e.ImgSize = grid * patch
	s, err := shapeOf(sd, "image_encoder.neck.0.weight", 4)
	if err != nil {
		return Config{}, err
	}
	e.OutChans = s[0]
	p := &c.Prompt
	p.EmbedDim, p.ImageEmbeddingSize, p.InputImageSize = e.OutChans, grid, e.ImgSize
	if s, err := shapeOf(sd, "prompt_encoder.mask_downscaling.3.weight", 4); err == nil {
		p.MaskInChans = s[0]
	} else {
		return Config{}, err
	}
	d := &c.Decoder
	d.TransformerDim = e.OutChans
	d.Depth = countIndexed(sd, "mask_decoder.transformer.layers.")
	if s, err := shapeOf(sd, "mask_decoder.transformer.layers.0.mlp.lin1.weight", 2); err == nil {
		d.MLPDim = s[0]
	} else {
		return Config{}, err
	}
	if s, err := shapeOf(sd, "mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight", 2); err == nil && s[0] > 0 {
		d.AttnDownsample = d.TransformerDim / s[0]
	} else {
		return Config{}, fmt.Errorf("sam: cannot infer the decoder's attention downsampling")
	}
	if s, err := shapeOf(sd, "mask_decoder.mask_tokens.weight", 2); err == nil {
		d.NumMultimaskOutputs = s[0] - 1
	} else {
		return Config{}, err
	}
	d.IoUHeadDepth = countIndexed(sd, "mask_decoder.iou_prediction_head.layers.")
	if s, err := shapeOf(sd, "mask_decoder.iou_prediction_head.layers.0.weight", 2); err == nil {
		d.IoUHeadHidden = s[0]
	} else {
		return Config{}, err
	}
	d.Heads = 8
	if d.TransformerDim < 256 {
		d.Heads = max(1, d.TransformerDim/16)
	}
	sort.Ints(e.GlobalAttnIndexes)
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("sam: detected config is invalid: %w", err)
	}
	return c, nil
}
