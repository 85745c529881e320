package aisam

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/pth"
	"github.com/aisam/aisam/safetensors"
	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

// configKey is the safetensors metadata entry that holds aisam's JSON Config.
const configKey = "aisam_config"

// FormatVersion is written beside the config; readers reject newer versions.
const FormatVersion = "1"

// Save writes the model in aisam's own format: one safetensors file whose metadata holds
// the JSON Config (classes, image size, preprocessing). LoRA is saved merged. The file is
// written atomically.
func (m *Model) Save(path string) error {
	cfg, err := json.Marshal(m.Cfg)
	if err != nil {
		return err
	}
	meta := map[string]string{configKey: string(cfg), "aisam_format": FormatVersion, "format": "pt"}
	return safetensors.WriteTensors(path, m.Params.StateDict(), meta)
}

// ReadStateDict reads a checkpoint's tensors, recognising the format by content:
// safetensors (with its metadata), NumPy .npz (a "param/" prefix is dropped, meta/* members are skipped), or a
// PyTorch file (zip or legacy; a {"model": state_dict} wrapper is descended into).
func ReadStateDict(path string) (map[string]*tensor.Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	var head [9]byte
	n, _ := io.ReadFull(f, head[:])
	f.Close()
	switch {
	case n == 9 && head[8] == '{':
		sf, err := safetensors.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer sf.Close()
		sd := map[string]*tensor.Tensor{}
		for _, name := range sf.Names() {
			t, err := sf.Tensor(name)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			sd[name] = t
		}
		return sd, sf.Metadata, nil
	case n >= 2 && string(head[:2]) == "PK" && strings.EqualFold(filepath.Ext(path), ".npz"):
		arrs, err := npy.ReadNPZ(path)
		if err != nil {
			return nil, nil, err
		}
		sd := map[string]*tensor.Tensor{}
		for name, a := range arrs {
			// meta/* members (the official vectors' meta/json manifest) describe the
			// file; they are not parameters.
			if strings.HasPrefix(name, "meta/") {
				continue
			}
			t, err := a.Tensor()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			sd[strings.TrimPrefix(name, "param/")] = t
		}
		return sd, nil, nil
	}
	sd, err := pth.ReadAll(path)
	if err != nil {
		return nil, nil, err
	}
	return sd, nil, nil
}

// LoadOptions control loading a checkpoint that is not in aisam's own format.
type LoadOptions struct {
	// Classes names the classes (background first) when the file does not; by default
	// 9 classes are Synapse's, 4 ACDC's, others "class0".. .
	Classes []string
	// SAMType forces "vit_b", "vit_l" or "vit_h"; empty detects it from the shapes.
	SAMType string
	// LoRA is a SAMed LoRA file (w_a_000.., w_b_000.., prompt_encoder.*, mask_decoder.*)
	// merged into the weights.
	LoRA string
	// Preprocess overrides the default (AI-SAM's) preprocessing.
	Preprocess *Preprocess
}

// Load reads a model file: aisam's own format (config inside), or an AI-SAM checkpoint
// ({"model": state_dict} .pth, or its tensors in safetensors/.npz), whose "sam." aliases,
// dead parameters and in-model LoRA are handled by FromStateDict.
func Load(path string, opts LoadOptions) (m *Model, err error) {
	defer guard(&err)
	sd, meta, err := ReadStateDict(path)
	if err != nil {
		return nil, err
	}
	if cfgJSON, ok := meta[configKey]; ok {
		if v := meta["aisam_format"]; v != "" && v != FormatVersion {
			return nil, fmt.Errorf("%s: aisam format %q is newer than this reader (%s)", path, v, FormatVersion)
		}
		var cfg Config
		dec := json.NewDecoder(strings.NewReader(cfgJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("%s: config: %w", path, err)
		}
		if opts.Classes != nil {
			if len(opts.Classes) != len(cfg.Classes) {
				return nil, fmt.Errorf("%s: %d class names given for a %d-class model", path, len(opts.Classes), len(cfg.Classes))
			}
			cfg.Classes = append([]string(nil), opts.Classes...)
		}
		m, err = New(cfg, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := m.Params.Load(sd, true); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m.ResetCaches()
		return m, nil
	}
	if opts.LoRA != "" {
		lora, _, err := ReadStateDict(opts.LoRA)
		if err != nil {
			return nil, err
		}
		sd, err = MergeSAMedLoRA(NormalizeStateDict(sd), lora)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opts.LoRA, err)
		}
	}
	m, err = FromStateDict(sd, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

var loraKey = regexp.MustCompile(`^image_encoder\.blocks\.(\d+)\.attn\.qkv\.(qkv\.weight|qkv\.bias|linear_[ab]_[qv]\.weight)$`)

// NormalizeStateDict maps an AI-SAM state_dict onto aisam's names: it strips
// DataParallel's "module.", folds the duplicate "sam." (and, with LoRA, "sam.sam.")
// registrations onto the canonical keys, drops non-persistent pixel_mean/std, and
// keeps everything else. It does not merge LoRA (see MergeLoRA).
func NormalizeStateDict(sd map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	allModule := len(sd) > 0
	for k := range sd {
		if !strings.HasPrefix(k, "module.") {
			allModule = false
			break
		}
	}
	out := make(map[string]*tensor.Tensor, len(sd))
	keys := make([]string, 0, len(sd))
	for k := range sd {
		keys = append(keys, k)
	}
	// Canonical keys first so that an alias never replaces its original.
	sort.Slice(keys, func(i, j int) bool {
		ai, aj := strings.HasPrefix(keys[i], "sam."), strings.HasPrefix(keys[j], "sam.")
		if ai != aj {
			return !ai
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		t := sd[k]
		if allModule {
			k = strings.TrimPrefix(k, "module.")
		}
		switch {
		case strings.HasPrefix(k, "sam.sam."):
			k = k[len("sam.sam."):]
		case strings.HasPrefix(k, "sam."):
			k = k[len("sam."):]
		}
		if k == "pixel_mean" || k == "pixel_std" {
			continue
		}
		if _, dup := out[k]; !dup {
			out[k] = t
		}
	}
	return out
}

// MergeLoRA folds in-model LoRA adapters (AI-SAM/SAMed names: blocks.N.attn.qkv.qkv.* and
// blocks.N.attn.qkv.linear_{a,b}_{q,v}.weight) into plain qkv weights:
// W[0:d] += B_q A_q and W[2d:3d] += B_v A_v. It reports the rank (0 without LoRA).
func MergeLoRA(sd map[string]*tensor.Tensor) (map[string]*tensor.Tensor, int, error) {
	type parts struct{ w, b, aq, bq, av, bv *tensor.Tensor }
	blocks := map[int]*parts{}
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, t := range sd {
		mm := loraKey.FindStringSubmatch(k)
		if mm == nil {
			out[k] = t
			continue
		}
		i, _ := strconv.Atoi(mm[1])
		p := blocks[i]
		if p == nil {
			p = &parts{}
			blocks[i] = p
		}
		switch mm[2] {
		case "qkv.weight":
			p.w = t
		case "qkv.bias":
			p.b = t
		case "linear_a_q.weight":
			p.aq = t
		case "linear_b_q.weight":
			p.bq = t
		case "linear_a_v.weight":
			p.av = t
		case "linear_b_v.weight":
			p.bv = t
		}
	}
	rank := 0
	for i, p := range blocks {
		pre := fmt.Sprintf("image_encoder.blocks.%d.attn.qkv.", i)
		if p.w == nil || p.aq == nil || p.bq == nil || p.av == nil || p.bv == nil {
			return nil, 0, fmt.Errorf("aisam: block %d has an incomplete LoRA qkv (need qkv.qkv.weight and linear_{a,b}_{q,v}.weight)", i)
		}
		w, err := mergeQV(p.w, p.aq, p.bq, p.av, p.bv)
		if err != nil {
			return nil, 0, fmt.Errorf("aisam: block %d: %w", i, err)
		}
		rank = p.aq.Dim(0)
		out[pre+"weight"] = w
		if p.b != nil {
			out[pre+"bias"] = p.b
		}
	}
	return out, rank, nil
}

// mergeQV returns w [3d, d] + [B_q A_q; 0; B_v A_v], computed in float64.
func mergeQV(w, aq, bq, av, bv *tensor.Tensor) (*tensor.Tensor, error) {
	if w.Rank() != 2 || w.Dim(0)%3 != 0 {
		return nil, fmt.Errorf("qkv weight %v is not [3d, d]", w.Shape())
	}
	d, in := w.Dim(0)/3, w.Dim(1)
	for _, x := range []struct {
		a, b *tensor.Tensor
		n    string
	}{{aq, bq, "q"}, {av, bv, "v"}} {
		if x.a.Rank() != 2 || x.b.Rank() != 2 || x.a.Dim(1) != in || x.b.Dim(0) != d || x.a.Dim(0) != x.b.Dim(1) {
			return nil, fmt.Errorf("LoRA %s shapes A %v, B %v for qkv %v", x.n, x.a.Shape(), x.b.Shape(), w.Shape())
		}
	}
	out := w.Clone()
	r := aq.Dim(0)
	add := func(a, b *tensor.Tensor, row0 int) {
		for i := 0; i < d; i++ {
			for j := 0; j < in; j++ {
				var s float64
				for k := 0; k < r; k++ {
					s += float64(b.Data[i*r+k]) * float64(a.Data[k*in+j])
				}
				out.Data[(row0+i)*in+j] += float32(s)
			}
		}
	}
	add(aq, bq, 0)
	add(av, bv, 2*d)
	return out, nil
}

// MergeSAMedLoRA merges a SAMed LoRA file (w_a_%03d / w_b_%03d for q then v of each
// encoder block, plus its prompt_encoder.* and mask_decoder.* weights, which replace the
// base ones) into a normalised state dict.
func MergeSAMedLoRA(sd, lora map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(sd))
	for k, v := range sd {
		out[k] = v
	}
	n := 0
	for k := range lora {
		if strings.HasPrefix(k, "w_a_") {
			n++
		}
	}
	if n == 0 || n%2 != 0 {
		return nil, fmt.Errorf("aisam: LoRA file has %d w_a_ tensors (want two per encoder block)", n)
	}
	for i := 0; i < n/2; i++ {
		get := func(k string) (*tensor.Tensor, error) {
			t, ok := lora[k]
			if !ok {
				return nil, fmt.Errorf("aisam: LoRA file has no %s", k)
			}
			return t, nil
		}
		var ts [4]*tensor.Tensor
		for j, k := range []string{fmt.Sprintf("w_a_%03d", 2*i), fmt.Sprintf("w_b_%03d", 2*i), fmt.Sprintf("w_a_%03d", 2*i+1), fmt.Sprintf("w_b_%03d", 2*i+1)} {
			t, err := get(k)
			if err != nil {
				return nil, err
			}
			ts[j] = t
		}
		key := fmt.Sprintf("image_encoder.blocks.%d.attn.qkv.weight", i)
		w, ok := out[key]
		if !ok {
			return nil, fmt.Errorf("aisam: LoRA for block %d but the model has no %s", i, key)
		}
		m, err := mergeQV(w, ts[0], ts[1], ts[2], ts[3])
		if err != nil {
			return nil, fmt.Errorf("aisam: block %d: %w", i, err)
		}
		out[key] = m
	}
	for k, v := range lora {
		if strings.HasPrefix(k, "prompt_encoder.") || strings.HasPrefix(k, "mask_decoder.") {
			out[k] = v
		}
	}
	return out, nil
}

// DetectConfig infers an AI-SAM configuration from a normalised, LoRA-merged state dict.
func DetectConfig(sd map[string]*tensor.Tensor, opts LoadOptions) (Config, error) {
	ce, ok := sd["auto_prompt.class_emb"]
	if !ok || ce.Rank() != 3 {
		return Config{}, fmt.Errorf("aisam: no auto_prompt.class_emb [C, T, D]: not an AI-SAM checkpoint")
	}
	pe, ok := sd["auto_prompt.prompt_emb"]
	if !ok || pe.Rank() != 2 {
		return Config{}, fmt.Errorf("aisam: no auto_prompt.prompt_emb [P, D]")
	}
	var sc sam.Config
	var err error
	if opts.SAMType != "" {
		sc, err = sam.ConfigFor(opts.SAMType)
	} else {
		sc, err = sam.DetectConfig(sd)
	}
	if err != nil {
		return Config{}, err
	}
	encDim := sc.Encoder.EmbedDim
	if ip, ok := sd["auto_prompt.image_proj.0.weight"]; ok && ip.Rank() == 4 {
		encDim = ip.Dim(1)
	}
	_, cls := sd["auto_prompt.classifier_head.weight"]
	ac := AutoPromptConfig{
		NumClasses: ce.Dim(0), NumClassTokens: ce.Dim(1), NumPoints: pe.Dim(0),
		Dim: ce.Dim(2), EncoderDim: encDim, Classifier: cls,
	}
	classes := opts.Classes
	if classes == nil {
		classes = DefaultClassNames(ac.NumClasses)
	}
	if len(classes) != ac.NumClasses {
		return Config{}, fmt.Errorf("aisam: %d class names for a %d-class checkpoint", len(classes), ac.NumClasses)
	}
	pp := DefaultPreprocess
	if opts.Preprocess != nil {
		pp = *opts.Preprocess
	}
	c := Config{SAM: sc, AutoPrompt: ac, Classes: append([]string(nil), classes...), Preprocess: pp}
	return c, c.Validate()
}

// DefaultClassNames names c classes: Synapse's for 9, ACDC's for 4, else background,
// class1, class2, ...
func DefaultClassNames(c int) []string {
	switch c {
	case len(SynapseClasses):
		return append([]string(nil), SynapseClasses...)
	case len(ACDCClasses):
		return append([]string(nil), ACDCClasses...)
	}
	out := []string{"background"}
	for i := 1; i < c; i++ {
		out = append(out, "class"+strconv.Itoa(i))
	}
	return out[:c]
}

// FromStateDict builds a model from an AI-SAM state_dict: aliases folded, LoRA merged,
// configuration detected, then loaded strictly (dead parameters included).
func FromStateDict(sd map[string]*tensor.Tensor, opts LoadOptions) (m *Model, err error) {
	defer guard(&err)
	sd, _, err = MergeLoRA(NormalizeStateDict(sd))
	if err != nil {
		return nil, err
	}
	cfg, err := DetectConfig(sd, opts)
	if err != nil {
		return nil, err
	}
	m, err = New(cfg, 0)
	if err != nil {
		return nil, err
	}
	sd = sam.AdaptStateDict(sd, m.Params)
	if err := m.Params.Load(sd, true); err != nil {
		return nil, err
	}
	m.ResetCaches()
	return m, nil
}

// HasConfig reports whether path is in aisam's own format, whose stored config (class
// names, preprocessing) is authoritative; checkpoints from elsewhere carry no
// preprocessing, so callers may choose one for them.
func HasConfig(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	var head [9]byte
	n, _ := io.ReadFull(f, head[:])
	f.Close()
	if n != 9 || head[8] != '{' {
		return false
	}
	sf, err := safetensors.Open(path)
	if err != nil {
		return false
	}
	defer sf.Close()
	_, ok := sf.Metadata[configKey]
	return ok
}
