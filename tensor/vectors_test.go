package tensor

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// These tests run the kernels on inputs from the official PyTorch vectors in
// shared/vectors and compare with the outputs torch produced there.

var npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)

// parseNpy decodes a little-endian float32, C-order .npy file (all these tests need).
func parseNpy(b []byte) (*Tensor, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not an npy file")
	}
	var hl, start int
	if b[6] == 1 {
		hl, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	} else {
		hl, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	}
	hdr := string(b[start : start+hl])
	if !strings.Contains(hdr, "'<f4'") || strings.Contains(hdr, "'fortran_order': True") {
		return nil, fmt.Errorf("unsupported npy header %q", hdr)
	}
	m := npyShape.FindStringSubmatch(hdr)
	if m == nil {
		return nil, fmt.Errorf("no shape in %q", hdr)
	}
	var shape []int
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" {
			d, err := strconv.Atoi(f)
			if err != nil {
				return nil, err
			}
			shape = append(shape, d)
		}
	}
	raw := b[start+hl:]
	t := New(shape...)
	if len(raw) != 4*len(t.Data) {
		return nil, fmt.Errorf("%d data bytes for shape %v", len(raw), shape)
	}
	for i := range t.Data {
		t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return t, nil
}

func loadNpy(t *testing.T, path string) *Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	x, err := parseNpy(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

// npz reads the named members (without ".npy") of an npz archive.
func npz(t *testing.T, path string, names ...string) map[string]*Tensor {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n+".npy"] = true
	}
	out := map[string]*Tensor{}
	for _, f := range z.File {
		if !want[f.Name] {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, err = io.Copy(&buf, r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		x, err := parseNpy(buf.Bytes())
		if err != nil {
			t.Fatalf("%s/%s: %v", path, f.Name, err)
		}
		out[strings.TrimSuffix(f.Name, ".npy")] = x
	}
	for _, n := range names {
		if out[n] == nil {
			t.Fatalf("%s: no member %s", path, n)
		}
	}
	return out
}

// maxULP returns the largest distance in float32 units in the last place.
func maxULP(a, b []float32) int64 {
	var m int64
	for i := range a {
		x, y := int64(int32(math.Float32bits(a[i]))), int64(int32(math.Float32bits(b[i])))
		if x < 0 {
			x = math.MinInt32 - x
		}
		if y < 0 {
			y = math.MinInt32 - y
		}
		d := x - y
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

func maxAbs(a []float32, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// AI-SAM's attention loss resizes the one-hot target with align_corners=True, 256 -> 64.
func TestVectorsBilinearAlignCorners(t *testing.T) {
	dir := testref.Dir(t, "vectors/aisam")
	v := npz(t, filepath.Join(dir, "run3_losses.npz"), "in/target_onehot_a", "out/attn/a/target_resized",
		"in/target_onehot_b", "out/attn/b/target_resized")
	for _, c := range []string{"a", "b"} {
		in, want := v["in/target_onehot_"+c], v["out/attn/"+c+"/target_resized"]
		got := ResizeBilinear(in, 64, 64, true)
		shapeIs(t, "target_resized", got, want.Shape()...)
		if d := maxAbs(got.Data, want.Data); !(d <= 1.2e-7) {
			t.Errorf("case %s: max abs diff %g (max %d ulp)", c, d, maxULP(got.Data, want.Data))
		}
	}
}

// SAM's postprocess_masks: bilinear 64 -> 256, crop to the resized image (171x256), bilinear
// to the original 200x300, all align_corners=False.
func TestVectorsBilinearPostprocess(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	for _, c := range []string{"point1_multi", "point1_single", "box_only", "points2_box_mask"} {
		low := loadNpy(t, filepath.Join(dir, c+"__low_res_masks.npy"))
		want := loadNpy(t, filepath.Join(dir, c+"__masks_logits_orig_size.npy"))
		up := ResizeBilinear(low, 256, 256, false)
		crop := Slice(up, 2, 0, 171)
		got := ResizeBilinear(crop, 200, 300, false)
		shapeIs(t, c, got, want.Shape()...)
		// Several masks take torch's generic kernel, which we reproduce bit for bit; a
		// single mask is channels-last-contiguous in torch and takes another kernel,
		// whose rounding differs by a couple of ulp (values ~0.1).
		tol := 3e-8
		if low.Dim(1) > 1 {
			tol = 0
		}
		if d := maxAbs(got.Data, want.Data); !(d <= tol) {
			t.Errorf("%s: max abs diff %g (max %d ulp)", c, d, maxULP(got.Data, want.Data))
		}
	}
}

// SAM's patch embedding: conv 16x16 stride 16, 3 -> 64 channels on the 256x256 input.
func TestVectorsPatchEmbed(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	w := npz(t, filepath.Join(dir, "weights.npz"), "image_encoder.patch_embed.proj.weight", "image_encoder.patch_embed.proj.bias")
	x := loadNpy(t, filepath.Join(dir, "encoder_input_1x3xSxS.npy"))
	want := loadNpy(t, filepath.Join(dir, "enc_patch_embed.npy"))
	got := Permute(Conv2d(x, w["image_encoder.patch_embed.proj.weight"], w["image_encoder.patch_embed.proj.bias"], 16, 0), 0, 2, 3, 1)
	shapeIs(t, "patch_embed", got, want.Shape()...)
	closeTo(t, "patch_embed", got.Data, f64(want.Data), 1e-5, 1e-5)
}

// SAM's prompt encoder mask_downscaling: conv k2 s2, LayerNorm2d, GELU, conv k2 s2,
// LayerNorm2d, GELU, conv 1x1.
func TestVectorsMaskDownscaling(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	p := "prompt_encoder.mask_downscaling."
	var names []string
	for _, i := range []string{"0", "1", "3", "4", "6"} {
		names = append(names, p+i+".weight", p+i+".bias")
	}
	w := npz(t, filepath.Join(dir, "weights.npz"), names...)
	m := loadNpy(t, filepath.Join(dir, "points2_box_mask__mask_input.npy"))
	want := loadNpy(t, filepath.Join(dir, "points2_box_mask__dense_embeddings.npy"))
	x := m.Reshape(1, 1, 64, 64)
	x = Conv2d(x, w[p+"0.weight"], w[p+"0.bias"], 2, 0)
	x = GELU(LayerNorm2d(x, w[p+"1.weight"], w[p+"1.bias"], 1e-6))
	x = Conv2d(x, w[p+"3.weight"], w[p+"3.bias"], 2, 0)
	x = GELU(LayerNorm2d(x, w[p+"4.weight"], w[p+"4.bias"], 1e-6))
	x = Conv2d(x, w[p+"6.weight"], w[p+"6.bias"], 1, 0)
	shapeIs(t, "dense_embeddings", x, want.Shape()...)
	closeTo(t, "dense_embeddings", x.Data, f64(want.Data), 1e-5, 1e-5)
}

// SAM's neck on the tiny encoder's last block: conv 1x1 (no bias), LayerNorm2d, conv 3x3
// pad 1 (no bias), LayerNorm2d.
func TestVectorsNeck(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	p := "image_encoder.neck."
	w := npz(t, filepath.Join(dir, "weights.npz"), p+"0.weight", p+"1.weight", p+"1.bias", p+"2.weight", p+"3.weight", p+"3.bias")
	x := Permute(loadNpy(t, filepath.Join(dir, "enc_block01_out.npy")), 0, 3, 1, 2)
	want := loadNpy(t, filepath.Join(dir, "image_embedding.npy"))
	y := Conv2d(x, w[p+"0.weight"], nil, 1, 0)
	y = LayerNorm2d(y, w[p+"1.weight"], w[p+"1.bias"], 1e-6)
	y = Conv2d(y, w[p+"2.weight"], nil, 1, 1)
	y = LayerNorm2d(y, w[p+"3.weight"], w[p+"3.bias"], 1e-6)
	shapeIs(t, "image_embedding", y, want.Shape()...)
	closeTo(t, "image_embedding", y.Data, f64(want.Data), 1e-5, 1e-5)
}
