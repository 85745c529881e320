package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refRelPosAttention is a float64 transcription of the official Attention.forward with
// add_decomposed_rel_pos, on the layout RelPosAttention documents.
func refRelPosAttention(qkv *Tensor, heads, gh, gw int, relH, relW *Tensor, scale float64) []float64 {
	g, n, c := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)/3
	d := c / heads
	out := make([]float64, g*n*c)
	at := func(gi, i, which, h, j int) float64 {
		return float64(qkv.Data[(gi*n+i)*3*c+which*c+h*d+j])
	}
	for gi := range g {
		for h := range heads {
			for i := range n {
				yi, xi := i/gw, i%gw
				logits := make([]float64, n)
				mx := math.Inf(-1)
				for k := range n {
					s := 0.0
					for j := range d {
						s += at(gi, i, 0, h, j) * at(gi, k, 1, h, j)
					}
					s *= scale
					if relH != nil {
						yk, xk := k/gw, k%gw
						for j := range d {
							s += at(gi, i, 0, h, j) * float64(relH.Data[(yi*gh+yk)*d+j])
							s += at(gi, i, 0, h, j) * float64(relW.Data[(xi*gw+xk)*d+j])
						}
					}
					logits[k] = s
					mx = math.Max(mx, s)
				}
				sum := 0.0
				for k := range logits {
					logits[k] = math.Exp(logits[k] - mx)
					sum += logits[k]
				}
				for j := range d {
					o := 0.0
					for k := range n {
						o += logits[k] / sum * at(gi, k, 2, h, j)
					}
					out[(gi*n+i)*c+h*d+j] = o
				}
			}
		}
	}
	return out
}

func randTensor(r *rand.Rand, std float64, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64() * std)
	}
	return t
}

func TestRelPosAttentionMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name             string
		g, heads, gh, gw int
		d                int
		rel              bool
		budget           int
	}{
		{"windows", 3, 2, 7, 7, 8, true, 1 << 18},
		{"global-rect", 1, 3, 5, 9, 16, true, 1 << 18},
		{"row-blocks", 2, 2, 6, 6, 8, true, 36 * 8},     // 8 rows: blocks of whole grid rows
		{"ragged-blocks", 1, 1, 3, 7, 4, true, 21 * 14}, // 14 rows, then 7
		{"partial-rows", 1, 2, 6, 6, 4, true, 36 * 4},   // blocks shorter than a grid row
		{"no-relpos", 2, 2, 4, 4, 8, false, 1 << 18},
		{"width-8", 1, 2, 3, 8, 8, true, 1 << 18},          // the AVX2 rel-pos pass
		{"width-16-blocks", 1, 1, 5, 16, 8, true, 80 * 32}, // ... on row blocks
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(b int) { attnRowBudget = b }(attnRowBudget)
			attnRowBudget = tc.budget
			c := tc.heads * tc.d
			qkv := randTensor(r, 1, tc.g, tc.gh*tc.gw, 3*c)
			var rh, rw *Tensor
			if tc.rel {
				rh = randTensor(r, 0.3, tc.gh, tc.gh, tc.d)
				rw = randTensor(r, 0.3, tc.gw, tc.gw, tc.d)
			}
			scale := 1 / math.Sqrt(float64(tc.d))
			want := refRelPosAttention(qkv, tc.heads, tc.gh, tc.gw, rh, rw, scale)
			got := RelPosAttention(qkv, tc.heads, tc.gh, tc.gw, rh, rw, float32(scale))
			for i, w := range want {
				if d := math.Abs(float64(got.Data[i]) - w); !(d <= 2e-5+2e-5*math.Abs(w)) {
					t.Fatalf("element %d: %g, want %g", i, got.Data[i], w)
				}
			}
		})
	}
}

func TestRelPosAttentionRejectsBadShapes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a qkv that does not fit the grid")
		}
	}()
	RelPosAttention(New(1, 10, 12), 2, 3, 3, nil, nil, 1)
}

// The AVX2 rel-pos pass rounds exactly as addRelPosRow and returns the row maximum.
func TestAddRelPosMaxAVX2(t *testing.T) {
	if !useRelPosAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1, 8}, {3, 8}, {2, 16}, {5, 24}, {64, 64}} {
		nh, kw := sz[0], sz[1]
		row := make([]float32, nh*kw)
		for i := range row {
			row[i] = float32(r.NormFloat64() * 3)
		}
		rh, rw := make([]float32, nh), make([]float32, kw)
		for i := range rh {
			rh[i] = float32(r.NormFloat64())
		}
		for i := range rw {
			rw[i] = float32(r.NormFloat64())
		}
		want := append([]float32(nil), row...)
		addRelPosRow(want, rh, rw)
		wantMax := want[0]
		for _, v := range want {
			wantMax = max(wantMax, v)
		}
		got := addRelPosMaxAVX2(&row[0], &rh[0], nh, &rw[0], kw)
		if got != wantMax {
			t.Fatalf("%dx%d: max %v, want %v", nh, kw, got, wantMax)
		}
		for i := range want {
			if row[i] != want[i] {
				t.Fatalf("%dx%d: element %d = %v, want %v", nh, kw, i, row[i], want[i])
			}
		}
	}
}
