package aisam

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// refFile opens one of the official AI-SAM vector archives (see shared/vectors/aisam).
func refFile(t testing.TB, name string) *npy.NPZ {
	t.Helper()
	z, err := npy.OpenNPZ(filepath.Join(testref.Dir(t, "vectors/aisam"), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	return z
}

func refTensor(t testing.TB, z *npy.NPZ, name string) *tensor.Tensor {
	t.Helper()
	a, err := z.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	x, err := a.Tensor()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return x
}

var (
	refWeightsOnce sync.Once
	refWeights     map[string]*tensor.Tensor
	refWeightsErr  error
)

// loadRefWeights returns weights.npz's state_dict (the "param/" members, unique tensors).
func loadRefWeights(t testing.TB) map[string]*tensor.Tensor {
	t.Helper()
	dir := testref.Dir(t, "vectors/aisam")
	refWeightsOnce.Do(func() {
		m, err := npy.ReadNPZ(filepath.Join(dir, "weights.npz"))
		if err != nil {
			refWeightsErr = err
			return
		}
		refWeights = map[string]*tensor.Tensor{}
		for k, a := range m {
			if !strings.HasPrefix(k, "param/") {
				continue
			}
			x, err := a.Tensor()
			if err != nil {
				refWeightsErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			refWeights[strings.TrimPrefix(k, "param/")] = x
		}
	})
	if refWeightsErr != nil {
		t.Fatal(refWeightsErr)
	}
	return refWeights
}

// withPrefix returns the entries of sd under prefix, with the prefix kept.
func withPrefix(sd map[string]*tensor.Tensor, prefix string) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for k, v := range sd {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// relErr is max|got-want| / max|want|.
func relErr(got, want []float32) float64 {
	var md, mw float64
	for i, w := range want {
		d := math.Abs(float64(got[i]) - float64(w))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		md = math.Max(md, d)
		mw = math.Max(mw, math.Abs(float64(w)))
	}
	if mw == 0 {
		return md
	}
	return md / mw
}

// checkClose fails unless got matches want in shape and to rtol relative to max|want|.
func checkClose(t *testing.T, name string, got, want *tensor.Tensor, rtol float64) {
	t.Helper()
	if got.Numel() != want.Numel() {
		t.Errorf("%s: %d values %v, want %v", name, got.Numel(), got.Shape(), want.Shape())
		return
	}
	e := relErr(got.Data, want.Data)
	if e > rtol || math.IsNaN(e) {
		t.Errorf("%s: relative error %.3g > %.3g", name, e, rtol)
	} else {
		t.Logf("%s: relative error %.3g", name, e)
	}
}

// refAutoPrompt builds the vectors' AutoPrompt (C=3, T=4, P=4, vit_b dead image_proj) and
// loads its weights.
func refAutoPrompt(t *testing.T) *AutoPrompt {
	t.Helper()
	ps := nn.NewParams(1)
	ap, err := NewAutoPrompt(ps.Root().Sub("auto_prompt"), AutoPromptConfig{
		NumClasses: 3, NumClassTokens: 4, NumPoints: 4, Dim: 256, EncoderDim: 768, Classifier: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Load(withPrefix(loadRefWeights(t), "auto_prompt."), true); err != nil {
		t.Fatal(err)
	}
	return ap
}
