package aisam

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aisam/aisam/nn"
	"github.com/aisam/aisam/tensor"
)

// TestFoldedAttention checks the folded image-side attentions against the projected
// ones, and the projected ones against the tape path's attend on token-major inputs.
func TestFoldedAttention(t *testing.T) {
	ps := nn.NewParams(3)
	a := nn.NewAttention(ps.Root().Sub("a"), 64, 8, 2)
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(shape ...int) *tensor.Tensor {
		x := tensor.New(shape...)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		return x
	}
	cm := func(x *tensor.Tensor) *tensor.Tensor { return tensor.Transpose(x, 1, 2) } // [B,n,D] <-> [B,D,n]
	for _, bb := range [][2]int{{3, 3}, {3, 1}, {1, 1}} {
		bq, bk := bb[0], bb[1]
		t.Run(fmt.Sprint(bq, bk), func(t *testing.T) {
			tok, tok2 := randn(bq, 3, 64), randn(bq, 3, 64)
			img, img2 := randn(bk, 64, 50), randn(bk, 64, 50)
			want := attend(nil, a, tok, cm(img), cm(img2))
			checkClose(t, "token->image projected", attnTokToImageProj(a, tok, img, img2), want, 1e-5)
			checkClose(t, "token->image folded", attnTokToImage(a, tok, img, img2), want, 1e-5)
			want = cm(attend(nil, a, cm(img), tok, tok2))
			checkClose(t, "image->token projected", attnImageToTokProj(a, img, tok, tok2), want, 1e-5)
			checkClose(t, "image->token folded", attnImageToTok(a, img, tok, tok2), want, 1e-5)
		})
	}
}

// BenchmarkAutoPrompt times the AutoPrompt transformer and heatmaps for 9 classes at
// SAM's size (random weights), with and without the folded attentions.
func BenchmarkAutoPrompt(b *testing.B) {
	ps := nn.NewParams(1)
	ap, err := NewAutoPrompt(ps.Root(), AutoPromptConfig{NumClasses: 9, NumClassTokens: 16, NumPoints: 4, Dim: 256, EncoderDim: 768, Classifier: true})
	if err != nil {
		b.Fatal(err)
	}
	emb := tensor.New(1, 256, 64, 64)
	for i := range emb.Data {
		emb.Data[i] = float32(i%97)/97 - 0.5
	}
	for _, fold := range []bool{true, false} {
		b.Run(fmt.Sprintf("fold=%v", fold), func(b *testing.B) {
			foldAttention = fold
			defer func() { foldAttention = true }()
			for range b.N {
				tok, f := ap.encodeFast(emb, nil)
				ap.heatmapsCM(tok, f)
			}
		})
	}
}
