package aisam

import (
	"math"
	"testing"

	"github.com/aisam/aisam/ag"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

func refLabels(t *testing.T, z *npy.NPZ, name string) []int {
	t.Helper()
	a, err := z.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Int64()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func scalarOf(t *testing.T, z *npy.NPZ, name string) float64 {
	t.Helper()
	x := refTensor(t, z, name)
	if x.Numel() != 1 {
		t.Fatalf("%s: %v is not a scalar", name, x.Shape())
	}
	return float64(x.Data[0])
}

func checkScalar(t *testing.T, name string, got, want, rtol float64) {
	t.Helper()
	if d := math.Abs(got - want); d > rtol*math.Max(math.Abs(want), 1e-6) || math.IsNaN(got) {
		t.Errorf("%s = %.8g, want %.8g (rel %.3g)", name, got, want, d/math.Abs(want))
	} else {
		t.Logf("%s = %.8g, want %.8g", name, got, want)
	}
}

func f32(v []float64) *tensor.Tensor {
	out := tensor.New(len(v))
	for i, x := range v {
		out.Data[i] = float32(x)
	}
	return out
}

// TestPromptLossParity checks AttnMaskLoss's terms, total and gradients (run3), for a
// target with every class present (a) and one with class 2 absent (b).
func TestPromptLossParity(t *testing.T) {
	z := refFile(t, "run3_losses.npz")
	attn := refTensor(t, z, "in/attn_map")
	fwp := refTensor(t, z, "in/feature_with_pe")
	for _, v := range []string{"a", "b"} {
		t.Run(v, func(t *testing.T) {
			target := refTensor(t, z, "in/target_onehot_"+v)
			tp := ag.NewTape()
			a, f := attn.Clone(), fwp.Clone()
			tp.Watch(a, f)
			loss, terms := PromptLoss(tp, DefaultPromptLoss, a, target, f)
			o := "out/attn/" + v + "/"
			checkClose(t, "target_resized", terms.Target, refTensor(t, z, o+"target_resized"), 2e-6)
			ge := refTensor(t, z, o+"gt_exist")
			for i, x := range ge.Data {
				if (x != 0) != terms.GTExist[i/4] {
					t.Errorf("gt_exist[%d] = %v, want %v", i, terms.GTExist[i/4], x != 0)
				}
			}
			checkClose(t, "total_attn", f32(terms.TotalAttn), refTensor(t, z, o+"total_attn"), 1e-5)
			checkClose(t, "correct_attn", f32(terms.CorrectAttn), refTensor(t, z, o+"correct_attn"), 1e-5)
			checkClose(t, "correct_max_attn", f32(terms.CorrectMaxAttn), refTensor(t, z, o+"correct_max_attn"), 1e-5)
			checkClose(t, "percision_loss", f32(terms.Precision), refTensor(t, z, o+"percision_loss"), 1e-5)
			checkClose(t, "correct_sharpness_loss", f32(terms.Sharpness), refTensor(t, z, o+"correct_sharpness_loss"), 1e-5)
			checkClose(t, "loc_logits", f32(terms.LocLogits), refTensor(t, z, o+"loc_logits"), 1e-5)
			checkClose(t, "class_loc_logits", f32(terms.ClassLocLogits), refTensor(t, z, o+"class_loc_logits"), 1e-5)
			checkScalar(t, "attn_loss", terms.AttnLoss, scalarOf(t, z, o+"attn_loss"), 1e-5)
			checkScalar(t, "loc_loss", terms.LocLoss, scalarOf(t, z, o+"loc_loss"), 1e-5)
			checkScalar(t, "class_loc_loss", terms.ClassLocLoss, scalarOf(t, z, o+"class_loc_loss"), 1e-5)
			checkScalar(t, "total", float64(loss.Data[0]), scalarOf(t, z, o+"total"), 1e-5)
			_, noPE := PromptLoss(nil, DefaultPromptLoss, attn, target, nil)
			checkScalar(t, "total_without_image_pe", noPE.Total, scalarOf(t, z, o+"total_without_image_pe"), 1e-5)
			tp.Backward(loss)
			checkClose(t, "d_attn_map", tp.Grad(a), refTensor(t, z, "grad/attn/"+v+"/d_attn_map"), 1e-5)
			checkClose(t, "d_feature_with_pe", tp.Grad(f), refTensor(t, z, "grad/attn/"+v+"/d_feature_with_pe"), 1e-5)
		})
	}
}

// TestPromptLossLogitGrad checks d total / d (pre-softmax point logits) through both
// paths, the heatmaps and feature_with_pe (run3 grad/attn/a/d_attn_logits), using the
// official logits of run1 as the leaf.
func TestPromptLossLogitGrad(t *testing.T) {
	z1 := refFile(t, "run1_autoprompt.npz")
	z := refFile(t, "run3_losses.npz")
	logits := refTensor(t, z1, "dbg/nobbox/attn_logits") // [1, 3, 4, 4096]
	image := refTensor(t, z1, "in/image_embedding")
	pe := refTensor(t, z1, "in/image_pe")
	ap := &AutoPrompt{Cfg: AutoPromptConfig{NumClasses: 3, NumPoints: 4, Dim: 256}}
	tp := ag.NewTape()
	tp.Watch(logits)
	pts := ap.Locate(tp, logits, pe, image, SoftPoints, nil)
	loss, _ := PromptLoss(tp, DefaultPromptLoss, pts.Attn, refTensor(t, z, "in/target_onehot_a"), pts.FeatureWithPE)
	checkScalar(t, "total", float64(loss.Data[0]), scalarOf(t, z, "out/attn/a/total"), 1e-4)
	tp.Backward(loss)
	checkClose(t, "d_attn_logits", tp.Grad(logits), refTensor(t, z, "grad/attn/a/d_attn_logits"), 1e-4)
}

// TestMaskLossParity checks 0.2 CE + 0.8 Dice and its gradient (run3 mask terms).
func TestMaskLossParity(t *testing.T) {
	z := refFile(t, "run3_losses.npz")
	logits := refTensor(t, z, "in/mask_logits")
	for _, v := range []string{"a", "b"} {
		t.Run(v, func(t *testing.T) {
			labels := refLabels(t, z, "in/label_"+v)
			tp := ag.NewTape()
			l := logits.Clone()
			tp.Watch(l)
			loss, terms, err := MaskLoss(tp, l, labels, 0.2, 0.8)
			if err != nil {
				t.Fatal(err)
			}
			o := "out/mask/" + v + "/"
			checkScalar(t, "ce", terms.CE, scalarOf(t, z, o+"ce"), 1e-5)
			checkScalar(t, "dice", terms.Dice, scalarOf(t, z, o+"dice"), 1e-5)
			checkClose(t, "dice_per_class", f32(terms.DicePerClass), refTensor(t, z, o+"dice_per_class"), 1e-5)
			checkScalar(t, "total", float64(loss.Data[0]), scalarOf(t, z, o+"total"), 1e-5)
			if v == "a" {
				tp.Backward(loss)
				checkClose(t, "d_logits", tp.Grad(l), refTensor(t, z, "grad/mask/a/d_logits"), 1e-5)
			}
		})
	}
}
