package weights

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// sameTensors fails unless a and b hold the same names, shapes and float32 bits.
func sameTensors(t *testing.T, what string, a, b map[string]*tensor.Tensor) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d vs %d tensors", what, len(a), len(b))
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			t.Errorf("%s: %s missing", what, k)
			continue
		}
		if !tensor.SameShape(x, y) {
			t.Errorf("%s: %s shape %v vs %v", what, k, x.Shape(), y.Shape())
			continue
		}
		for i := range x.Data {
			if math.Float32bits(x.Data[i]) != math.Float32bits(y.Data[i]) {
				t.Errorf("%s: %s[%d] = %v vs %v", what, k, i, x.Data[i], y.Data[i])
				break
			}
		}
	}
}

// TestSAMTinyAllFormats: the official torch.save'd weights equal numpy's .npz copy, and
// both survive a safetensors and an .npz round trip.
func TestSAMTinyAllFormats(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	fromPth, err := Load(filepath.Join(dir, "weights.pth"))
	if err != nil {
		t.Fatal(err)
	}
	fromNpz, err := Load(filepath.Join(dir, "weights.npz"))
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, "pth vs npz", fromPth, fromNpz)
	if _, ok := fromPth["image_encoder.pos_embed"]; !ok {
		t.Error("image_encoder.pos_embed missing")
	}
	tmp := t.TempDir()
	for _, ext := range []string{".safetensors", ".npz"} {
		p := filepath.Join(tmp, "w"+ext)
		if err := Save(p, fromPth); err != nil {
			t.Fatal(err)
		}
		back, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, ext+" round trip", fromPth, back)
	}
	if err := Save(filepath.Join(tmp, "w.pth"), fromPth); err == nil {
		t.Error("Save to .pth accepted")
	}
}

func TestOptions(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	p := filepath.Join(dir, "weights.pth")
	all, err := List(p)
	if err != nil {
		t.Fatal(err)
	}
	nEnc := 0
	for _, in := range all {
		if strings.HasPrefix(in.Name, "image_encoder.") {
			nEnc++
		}
	}
	enc, err := Load(p, Only("image_encoder."), TrimPrefix("image_encoder."))
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != nEnc || nEnc == 0 {
		t.Errorf("Only: %d tensors, want %d", len(enc), nEnc)
	}
	if _, ok := enc["pos_embed"]; !ok {
		t.Error("TrimPrefix: pos_embed missing")
	}
	two, err := List(p, Only("prompt_encoder."), Only("mask_decoder."))
	if err != nil {
		t.Fatal(err)
	}
	if len(two)+nEnc != len(all) {
		t.Errorf("Only(two prefixes): %d + %d != %d", len(two), nEnc, len(all))
	}
}

// TestTorchFixtures: zip, nested {"model": sd, "epoch": 3} and legacy files load equal,
// with the README's values for the float16 and bfloat16 tensors.
func TestTorchFixtures(t *testing.T) {
	dir := testref.Dir(t, "fixtures/pth")
	ref, err := Load(filepath.Join(dir, "tiny_state_dict.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tiny_checkpoint.pth", "tiny_state_dict_legacy.pth"} {
		m, err := Load(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, n, ref, m)
	}
	want := map[string][]float32{
		"half.weight":   {0.5, -1.25, 2.0, 1024.0, 65504.0, 6.103515625e-05},
		"bf16.weight":   {1.0, -2.5, 3.140625, 0.0078125, -65536.0, 3.3895313892515355e+38},
		"proj.weight_t": {10, 13, 11, 14, 12, 15},
		"shared.tail":   {6.0, 7.5, 9.0, 10.5, 12.0, 13.5},
	}
	for k, w := range want {
		if fmt.Sprint(ref[k].Data) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v", k, ref[k].Data, w)
		}
	}
	if ref["decoder.weight"] != ref["encoder.weight"] {
		t.Error("tied weights not shared")
	}
	infos, err := List(filepath.Join(dir, "tiny_state_dict_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if infos[7].Name != "half.weight" || infos[7].DType != "float16" || fmt.Sprint(infos[7].Shape) != "[2 3]" {
		t.Errorf("List[7] = %+v", infos[7])
	}
}

// TestLoadIntoParams: a checkpoint loads into nn.Params by name, and a mismatch is
// reported key by key.
func TestLoadIntoParams(t *testing.T) {
	sd, err := Load(filepath.Join(testref.Dir(t, "fixtures/pth"), "tiny_state_dict.pth"), Only("encoder."))
	if err != nil {
		t.Fatal(err)
	}
	ps := nn.NewParams(1)
	nn.NewLinear(ps.Root().Sub("encoder"), 3, 4, true)
	if err := ps.Load(sd, true); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ps.Get("encoder.bias").T.Data); got != "[0.1 -0.2 0.3 -0.4]" {
		t.Errorf("encoder.bias = %s", got)
	}
	bad := nn.NewParams(1)
	nn.NewLinear(bad.Root().Sub("encoder"), 4, 4, true)
	nn.NewLinear(bad.Root().Sub("head"), 4, 1, false)
	err = bad.Load(sd, true)
	var le *nn.LoadError
	if !errors.As(err, &le) || len(le.Missing) != 1 || len(le.Mismatched) != 1 {
		t.Fatalf("error %v, want one missing and one mis-shaped key", err)
	}
}

func TestDetect(t *testing.T) {
	dir := testref.Dir(t, "fixtures")
	cases := []struct {
		file string
		want Format
	}{
		{"pth/tiny_state_dict.pth", TorchZip},
		{"pth/tiny_state_dict_legacy.pth", TorchLegacy},
		{"npy/compressed.npz", NPZ},
		{"npy/float32_2x3x4.npy", ""},
		{"README.md", ""},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Detect(bytes.NewReader(b), int64(len(b)))
		if got != c.want || (c.want == "") != errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: %q, %v; want %q", c.file, got, err, c.want)
		}
	}
	var buf bytes.Buffer
	a, _ := npy.FromFloat32([]float32{1}, 1)
	if err := npy.EncodeNPZ(&buf, []npy.Member{{Name: "x", Array: a}}, true); err != nil {
		t.Fatal(err)
	}
	if f, _ := Detect(bytes.NewReader(buf.Bytes()), int64(buf.Len())); f != NPZ {
		t.Errorf("deflated npz detected as %q", f)
	}
	if _, err := Load(filepath.Join(dir, "README.md")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Load(README) = %v", err)
	}
}

// TestAISAMWeightsNPZ: the AI-SAM reference weights (deflated .npz, '/' in member names)
// hold 516 unique tensors with 17,077,233 values (vectors/aisam/README.md), and the
// meta/json member is byte-identical to manifest.json.
func TestAISAMWeightsNPZ(t *testing.T) {
	dir := testref.Dir(t, "vectors/aisam")
	p := filepath.Join(dir, "weights.npz")
	m, err := Load(p, Only("param/"), TrimPrefix("param/"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range m {
		n += x.Numel()
	}
	if len(m) != 516 || n != 17077233 {
		t.Errorf("%d tensors with %d values, want 516 with 17077233", len(m), n)
	}
	if x := m["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"]; x == nil || fmt.Sprint(x.Shape()) != "[2 128]" {
		t.Errorf("gaussian matrix: %v", x)
	}
	z, err := npy.OpenNPZ(p)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	meta, err := z.Get("meta/json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if meta.DType != npy.Uint8 || !bytes.Equal(meta.Data, want) {
		t.Errorf("meta/json: %s, %d bytes, differs from manifest.json (%d bytes)", meta.DType, len(meta.Data), len(want))
	}
}
