package tensor

import (
	"fmt"
	"sync"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
)

// attnRowBudget bounds the score block of one task (rows x keys floats, 4 MB): no task
// holds a head's whole N x N scores (ViT-B global: 256 of 4096 rows). k and v are packed
// once per task, so 64- and 128-row blocks measured the same.
var attnRowBudget = 1 << 20

// RelPosAttention is the inference kernel of SAM's ViT attention (softmax(scale·q·kᵀ +
// rel_h + rel_w)·v per head) fused so that the N x N scores of a head are never stored
// whole: each task is one (group, head), processed in blocks of query rows.
//
// qkv [G, N, 3C] holds, per token, q, k and v, each split into heads (the layout of the
// official qkv Linear output reshaped to [.., 3, heads, C/heads]); the N = gh·gw tokens of a
// group (a window, or the whole grid) form a gh x gw grid. relH [gh, gh, d] and relW
// [gw, gw, d] are the gathered decomposed relative-position tables (indexed [query row,
// key row] and [query col, key col]); both nil means no relative positions; they multiply
// the unscaled q as in the official add_decomposed_rel_pos. The result is [G, N, C] with
// the heads concatenated (before the output projection).
func RelPosAttention(qkv *Tensor, heads, gh, gw int, relH, relW *Tensor, scale float32) *Tensor {
	out := New(qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)/3)
	RelPosAttentionTo(out, qkv, heads, gh, gw, relH, relW, scale)
	return out
}

// RelPosAttentionTo is RelPosAttention writing into out [G, N, C] (every element is
// overwritten), so that a caller can reuse one buffer across blocks.
func RelPosAttentionTo(out, qkv *Tensor, heads, gh, gw int, relH, relW *Tensor, scale float32) {
	if qkv.Rank() != 3 || heads <= 0 || qkv.Dim(2)%(3*heads) != 0 || qkv.Dim(1) != gh*gw {
		panic(fmt.Sprintf("tensor.RelPosAttention: qkv %v with %d heads on a %dx%d grid", qkv.Shape(), heads, gh, gw))
	}
	g, n, c := qkv.Dim(0), qkv.Dim(1), qkv.Dim(2)/3
	d := c / heads
	if (relH == nil) != (relW == nil) {
		panic("tensor.RelPosAttention: relH and relW must both be set or both be nil")
	}
	if relH != nil && (!EqualShape(relH.Shape(), []int{gh, gh, d}) || !EqualShape(relW.Shape(), []int{gw, gw, d})) {
		panic(fmt.Sprintf("tensor.RelPosAttention: rel tables %v, %v for a %dx%d grid, head dim %d", relH.Shape(), relW.Shape(), gh, gw, d))
	}
	if !EqualShape(out.Shape(), []int{g, n, c}) {
		panic(fmt.Sprintf("tensor.RelPosAttentionTo: out %v for qkv %v", out.Shape(), qkv.Shape()))
	}
	rb := max(1, min(n, attnRowBudget/max(n, 1)))
	if gw <= rb {
		rb -= rb % gw // whole grid rows per block
	}
	par.ForEach(g*heads, func(task int) {
		gi, h := task/heads, task%heads
		base := qkv.Data[gi*n*3*c:]
		q := base[h*d:]
		k := base[c+h*d:]
		v := base[2*c+h*d:]
		o := out.Data[gi*n*c+h*d:]
		ld := 3 * c
		var rh, rw []float32
		if relH != nil {
			// rel_h[i, ky] = q_i · relH[y(i), ky]: one small GEMM per query row y.
			rp := getScratch(n * (gh + gw))
			defer scratch.Put(rp)
			rh = (*rp)[:n*gh]
			for y := range gh {
				gemm.Sgemm(false, true, gw, gh, d, 1, q[y*gw*ld:], ld, relH.Data[y*gh*d:], d, 0, rh[y*gw*gh:], gh)
			}
			// rel_w[i, kx] = q_i · relW[x(i), kx]: the queries of column x are gw rows apart.
			rw = (*rp)[n*gh : n*(gh+gw)]
			for x := range gw {
				gemm.Sgemm(false, true, gh, gw, d, 1, q[x*ld:], gw*ld, relW.Data[x*gw*d:], d, 0, rw[x*gw:], gw*gw)
			}
		}
		// k and v are packed once per task for all its row blocks.
		pk := gemm.PackB(true, d, n, k, ld)
		defer pk.Release()
		pv := gemm.PackB(false, n, d, v, ld)
		defer pv.Release()
		sp := getScratch(rb*n + rb)
		defer scratch.Put(sp)
		s, inv := (*sp)[:rb*n], (*sp)[rb*n:rb*n+rb]
		for r0 := 0; r0 < n; r0 += rb {
			m := min(rb, n-r0)
			gemm.SgemmPacked(false, m, scale, q[r0*ld:], ld, pk, 0, s, n)
			softmaxRows(s[:m*n], n, inv, rh, rw, r0, gh, gw)
			gemm.SgemmPacked(false, m, 1, s, n, pv, 0, o[r0*c:], c)
			for i := range m {
				vec.Scale(o[(r0+i)*c:(r0+i)*c+d], inv[i])
			}
		}
	})
}

// scratch recycles the per-task buffers of RelPosAttentionTo (a windowed ViT-B block runs
// 300 tasks); every use overwrites what it reads.
var scratch sync.Pool

func getScratch(n int) *[]float32 {
	if p, ok := scratch.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

// softmaxRows adds the relative positions of query rows r0.. to the score rows of s
// (width n), replaces each row by its unnormalised exponentials and stores 1/sum in inv.
func softmaxRows(s []float32, n int, inv, rh, rw []float32, r0, gh, gw int) {
	for i := range len(s) / n {
		row := s[i*n : (i+1)*n]
		if rh != nil && useRelPosAVX2 && gw%8 == 0 && len(row) == gh*gw {
			// The relative positions and the row maximum in one pass.
			mx := addRelPosMaxAVX2(&row[0], &rh[(r0+i)*gh], gh, &rw[(r0+i)*gw], gw)
			inv[i] = 1 / float32(vec.ExpSubSum(row, row, mx))
			continue
		}
		if rh != nil {
			addRelPosRow(row, rh[(r0+i)*gh:(r0+i+1)*gh], rw[(r0+i)*gw:(r0+i+1)*gw])
		}
		inv[i] = 1 / softmaxRowUnnormalised(row)
	}
}

// addRelPosRow adds rh[ky] + rw[kx] to the score row laid out [ky, kx].
func addRelPosRow(row, rh, rw []float32) {
	kw := len(rw)
	for ky, a := range rh {
		seg := row[ky*kw : (ky+1)*kw]
		seg = seg[:len(rw)]
		for kx := range seg {
			seg[kx] += a + rw[kx]
		}
	}
}

// softmaxRowUnnormalised replaces row by exp(row - max(row)) and returns the sum.
func softmaxRowUnnormalised(row []float32) float32 {
	return float32(vec.ExpSubSum(row, row, vec.Max(row)))
}
