package aisam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/tensor"
)

// officialStateDict rebuilds the vectors' AISAM.state_dict(): 690 keys, every "sam.*"
// an alias of a canonical key (manifest.json), dead parameters included.
func officialStateDict(t *testing.T) map[string]*tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "vectors/aisam"), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Keys    []string          `json:"state_dict_keys"`
		Aliases map[string]string `json:"aliases"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	w := loadRefWeights(t)
	sd := map[string]*tensor.Tensor{}
	for _, k := range man.Keys {
		src := k
		if a, ok := man.Aliases[k]; ok {
			src = a
		}
		x, ok := w[src]
		if !ok {
			t.Fatalf("weights.npz has no %s (for %s)", src, k)
		}
		sd[k] = x
	}
	if len(sd) != 690 {
		t.Fatalf("%d keys, want 690", len(sd))
	}
	return sd
}

func TestFromOfficialStateDict(t *testing.T) {
	sd := officialStateDict(t)
	m, err := FromStateDict(sd, LoadOptions{Classes: []string{"bg", "x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := refConfig()
	if !reflect.DeepEqual(m.Cfg.AutoPrompt, want.AutoPrompt) {
		t.Errorf("AutoPrompt config %+v, want %+v", m.Cfg.AutoPrompt, want.AutoPrompt)
	}
	if !reflect.DeepEqual(m.Cfg.SAM.Encoder, want.SAM.Encoder) || !reflect.DeepEqual(m.Cfg.SAM.Decoder, want.SAM.Decoder) {
		t.Errorf("SAM config %+v, want %+v", m.Cfg.SAM, want.SAM)
	}
	ref := loadRefWeights(t)
	for _, p := range m.Params.List() {
		w, ok := ref[p.Name]
		if !ok {
			t.Fatalf("model parameter %s not in the checkpoint", p.Name)
		}
		if !reflect.DeepEqual(p.T.Data, w.Data) {
			t.Fatalf("%s differs after loading", p.Name)
		}
	}
	if len(m.Params.List()) != len(ref) {
		t.Errorf("%d parameters, checkpoint has %d unique tensors", len(m.Params.List()), len(ref))
	}
	// A wrong class count is an error naming the problem.
	if _, err := FromStateDict(sd, LoadOptions{Classes: []string{"a", "b"}}); err == nil {
		t.Error("2 class names for a 3-class checkpoint: no error")
	}
	// A missing key is reported by name.
	delete(sd, "auto_prompt.point_loc_project_norm.bias")
	if _, err := FromStateDict(sd, LoadOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("point_loc_project_norm.bias")) {
		t.Errorf("missing key: err = %v", err)
	}
}

// TestLoRAMerge checks that merged weights compute what the LoRA module computes:
// qkv(x) + [B_q A_q x; 0; B_v A_v x], for AI-SAM's in-model names and SAMed's files.
func TestLoRAMerge(t *testing.T) {
	const d, r = 12, 3
	rng := rand.New(rand.NewPCG(7, 8))
	rnd := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	w, b := rnd(3*d, d), rnd(3*d)
	aq, bq, av, bv := rnd(r, d), rnd(d, r), rnd(r, d), rnd(d, r)
	x := rnd(5, d)
	// The LoRA module's output, computed directly in float64.
	want := make([]float64, 5*3*d)
	for n := 0; n < 5; n++ {
		for o := 0; o < 3*d; o++ {
			s := float64(b.Data[o])
			for j := 0; j < d; j++ {
				s += float64(w.Data[o*d+j]) * float64(x.Data[n*d+j])
			}
			var A, B *tensor.Tensor
			switch {
			case o < d:
				A, B = aq, bq
			case o >= 2*d:
				A, B = av, bv
			}
			if A != nil {
				oo := o % d
				for k := 0; k < r; k++ {
					var ax float64
					for j := 0; j < d; j++ {
						ax += float64(A.Data[k*d+j]) * float64(x.Data[n*d+j])
					}
					s += float64(B.Data[oo*r+k]) * ax
				}
			}
			want[n*3*d+o] = s
		}
	}
	check := func(name string, merged *tensor.Tensor) {
		t.Helper()
		got := tensor.Linear(x, merged, b)
		wf := make([]float32, len(want))
		for i, v := range want {
			wf[i] = float32(v)
		}
		if e := relErr(got.Data, wf); e > 1e-5 {
			t.Errorf("%s: relative error %.3g", name, e)
		}
	}
	pre := "image_encoder.blocks.0.attn.qkv."
	sd, rank, err := MergeLoRA(map[string]*tensor.Tensor{
		pre + "qkv.weight": w, pre + "qkv.bias": b,
		pre + "linear_a_q.weight": aq, pre + "linear_b_q.weight": bq,
		pre + "linear_a_v.weight": av, pre + "linear_b_v.weight": bv,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rank != r || sd[pre+"bias"] != b || len(sd) != 2 {
		t.Errorf("rank %d, keys %d", rank, len(sd))
	}
	check("in-model LoRA", sd[pre+"weight"])

	dec := rnd(2, 2)
	out, err := MergeSAMedLoRA(map[string]*tensor.Tensor{pre + "weight": w, "mask_decoder.x": rnd(2, 2)},
		map[string]*tensor.Tensor{"w_a_000": aq, "w_b_000": bq, "w_a_001": av, "w_b_001": bv, "mask_decoder.x": dec})
	if err != nil {
		t.Fatal(err)
	}
	check("SAMed LoRA file", out[pre+"weight"])
	if out["mask_decoder.x"] != dec {
		t.Error("the LoRA file's mask decoder weights did not replace the base ones")
	}
	if _, _, err := MergeLoRA(map[string]*tensor.Tensor{pre + "qkv.weight": w, pre + "linear_a_q.weight": aq}); err == nil {
		t.Error("incomplete LoRA: no error")
	}
	if _, err := MergeSAMedLoRA(map[string]*tensor.Tensor{pre + "weight": w}, map[string]*tensor.Tensor{"w_a_000": rnd(r, d+1), "w_b_000": bq, "w_a_001": av, "w_b_001": bv}); err == nil {
		t.Error("mis-shaped LoRA: no error")
	}
}

// TestSaveLoadRoundTrip saves a random model in aisam's format and loads it back.
func TestSaveLoadRoundTrip(t *testing.T) {
	cfg := tinyConfig()
	cfg.Classes = []string{"background", "RV", "LV"}
	cfg.Preprocess.Window = &[2]float64{-125, 275}
	m, err := New(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Cfg, m2.Cfg) {
		t.Errorf("config %+v, want %+v", m2.Cfg, m.Cfg)
	}
	for _, p := range m.Params.List() {
		q := m2.Params.Get(p.Name)
		if q == nil || !reflect.DeepEqual(p.T.Data, q.T.Data) || !reflect.DeepEqual(p.T.Shape(), q.T.Shape()) {
			t.Fatalf("%s differs after the round trip", p.Name)
		}
	}
	// Corruptions are errors, never panics.
	b, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)/2],
		"empty":     {},
		"header":    append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, b[8:]...),
	} {
		p := filepath.Join(t.TempDir(), name+".safetensors")
		os.WriteFile(p, bad, 0o644)
		if _, err := Load(p, LoadOptions{}); err == nil {
			t.Errorf("%s file: no error", name)
		}
	}
}

// TestReadPyTorchCheckpoint reads a {"model": state_dict, "epoch": 3} .pth (fixture
// values from its README) and checks that Load names the missing AI-SAM part.
func TestReadPyTorchCheckpoint(t *testing.T) {
	path := filepath.Join(testref.Dir(t, "fixtures/pth"), "tiny_checkpoint.pth")
	sd, meta, err := ReadStateDict(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta != nil {
		t.Errorf("metadata %v from a .pth", meta)
	}
	w := sd["encoder.weight"]
	if w == nil || !reflect.DeepEqual(w.Shape(), []int{4, 3}) || w.Data[0] != -1 || w.Data[11] != 4.5 {
		t.Fatalf("encoder.weight = %v", w)
	}
	if pt := sd["proj.weight_t"]; pt == nil || !reflect.DeepEqual(pt.Data, []float32{10, 13, 11, 14, 12, 15}) {
		t.Errorf("proj.weight_t = %v", pt)
	}
	if _, err := Load(path, LoadOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not an AI-SAM checkpoint")) {
		t.Errorf("Load of a non-AI-SAM checkpoint: err = %v", err)
	}
}

// TestFromLoRAStateDict loads an AI-SAM state_dict as saved with use_lora: the SAM
// modules under "sam.sam." (and their canonical aliases), each encoder block's qkv
// wrapped as qkv.qkv with linear_{a,b}_{q,v}; the merged weight must be W + B A.
func TestFromLoRAStateDict(t *testing.T) {
	src := officialStateDict(t)
	rng := rand.New(rand.NewPCG(11, 12))
	rnd := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
		return x
	}
	sd := map[string]*tensor.Tensor{}
	for k, v := range src {
		if strings.HasPrefix(k, "sam.") {
			k = "sam.sam." + k[len("sam."):]
		}
		if strings.Contains(k, ".attn.qkv.") {
			k = strings.Replace(k, ".attn.qkv.", ".attn.qkv.qkv.", 1)
		}
		sd[k] = v
	}
	const r = 4
	d := 64 // the tiny ViT's width
	lora := map[int][4]*tensor.Tensor{}
	for blk := 0; blk < 2; blk++ {
		ab := [4]*tensor.Tensor{rnd(r, d), rnd(d, r), rnd(r, d), rnd(d, r)}
		lora[blk] = ab
		for _, pre := range []string{"", "sam.sam."} {
			p := fmt.Sprintf("%simage_encoder.blocks.%d.attn.qkv.", pre, blk)
			sd[p+"linear_a_q.weight"], sd[p+"linear_b_q.weight"] = ab[0], ab[1]
			sd[p+"linear_a_v.weight"], sd[p+"linear_b_v.weight"] = ab[2], ab[3]
		}
	}
	m, err := FromStateDict(sd, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadRefWeights(t)
	for blk, ab := range lora {
		name := fmt.Sprintf("image_encoder.blocks.%d.attn.qkv.weight", blk)
		w, got := ref[name], m.Params.Get(name).T
		for o := 0; o < 3*d; o++ {
			for j := 0; j < d; j++ {
				want := float64(w.Data[o*d+j])
				var a, b *tensor.Tensor
				switch {
				case o < d:
					a, b = ab[0], ab[1]
				case o >= 2*d:
					a, b = ab[2], ab[3]
				}
				if a != nil {
					for k := 0; k < r; k++ {
						want += float64(b.Data[(o%d)*r+k]) * float64(a.Data[k*d+j])
					}
				}
				if math.Abs(float64(got.Data[o*d+j])-want) > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("%s[%d,%d] = %g, want %g", name, o, j, got.Data[o*d+j], want)
				}
			}
		}
	}
	if !reflect.DeepEqual(m.Params.Get("auto_prompt.class_emb").T.Data, ref["auto_prompt.class_emb"].Data) {
		t.Error("auto_prompt.class_emb differs")
	}
}

// TestLoadOfficialWeightsNPZ loads the vectors' weights.npz as a file (its param/ prefix
// stripped, its meta/json manifest skipped) and checks the loaded AutoPrompt against run1.
func TestLoadOfficialWeightsNPZ(t *testing.T) {
	path := filepath.Join(testref.Dir(t, "vectors/aisam"), "weights.npz")
	m, err := Load(path, LoadOptions{Classes: []string{"bg", "x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	want := refConfig()
	if !reflect.DeepEqual(m.Cfg.AutoPrompt, want.AutoPrompt) || !reflect.DeepEqual(m.Cfg.SAM.Encoder, want.SAM.Encoder) {
		t.Errorf("config %+v, want %+v", m.Cfg, want)
	}
	// Independent of the weights' reading: run1's official class-2 tokens and heatmap logits.
	z := refFile(t, "run1_autoprompt.npz")
	tok, feat := m.AutoPrompt.Encode(nil, refTensor(t, z, "in/image_embedding"), []int{2})
	checkClose(t, "tokens_out[2]", tok, tensor.Slice(refTensor(t, z, "dbg/nobbox/tokens_out"), 1, 2, 3), 1e-5)
	logits := m.AutoPrompt.Heatmaps(nil, tok, feat)
	checkClose(t, "attn_logits[2]", logits, tensor.Slice(refTensor(t, z, "dbg/nobbox/attn_logits"), 1, 2, 3), 1e-5)
}
