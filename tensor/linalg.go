package tensor

import (
	"fmt"

	"github.com/aisam/aisam/gemm"
	"github.com/aisam/aisam/internal/par"
)

// smallGemm is the flop count (m·n·k) under which one product is too small for gemm to
// split across workers, so batches of them are better spread one per worker.
const smallGemm = 1 << 21

func matMul(a, b *Tensor, transA, transB bool) *Tensor {
	if len(a.shape) < 2 || len(b.shape) < 2 {
		panic(fmt.Sprintf("tensor.MatMul: operands need rank >= 2, got %v and %v", a.shape, b.shape))
	}
	ra, rb := len(a.shape), len(b.shape)
	m, ka := a.shape[ra-2], a.shape[ra-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := b.shape[rb-2], b.shape[rb-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		panic(fmt.Sprintf("tensor.MatMul: inner dimensions differ: %v x %v (transA %v, transB %v)", a.shape, b.shape, transA, transB))
	}
	k := ka
	batch := broadcastShape("MatMul", a.shape[:ra-2], b.shape[:rb-2])
	shape := append(append([]int(nil), batch...), m, n)
	out := New(shape...)
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	if nb == 0 || m == 0 || n == 0 {
		return out
	}
	lda := a.shape[ra-1]
	ldb := b.shape[rb-1]
	sizeA, sizeB := a.shape[ra-2]*a.shape[ra-1], b.shape[rb-2]*b.shape[rb-1]

	// b shared by every batch and a not transposed: the batches of a are consecutive rows
	// of one tall matrix, so one big GEMM does it all.
	bShared := len(b.Data) == sizeB
	aFull := len(a.Data) == nb*sizeA
	if bShared && !transA && aFull {
		gemm.Sgemm(false, transB, nb*m, n, k, 1, a.Data, lda, b.Data, ldb, 0, out.Data, n)
		return out
	}
	sa := bstrides("MatMul", a.shape[:ra-2], batch)
	sb := bstrides("MatMul", b.shape[:rb-2], batch)
	it := rowIter{shape: batch, strides: [][]int{sa, sb}}
	one := func(i int) {
		offs := make([]int, 2)
		it.offsets(i, offs)
		ao, bo := offs[0]*sizeA, offs[1]*sizeB
		gemm.Sgemm(transA, transB, m, n, k, 1, a.Data[ao:ao+sizeA], lda, b.Data[bo:bo+sizeB], ldb, 0, out.Data[i*m*n:(i+1)*m*n], n)
	}
	if nb >= 2*par.Workers() && m*n*k <= smallGemm {
		par.ForEach(nb, one)
	} else {
		for i := range nb {
			one(i)
		}
	}
	return out
}

func linear(x, w, b *Tensor) *Tensor {
	if len(x.shape) < 1 || len(w.shape) != 2 || x.shape[len(x.shape)-1] != w.shape[1] {
		panic(fmt.Sprintf("tensor.Linear: x %v, w %v", x.shape, w.shape))
	}
	in, outF := w.shape[1], w.shape[0]
	if b != nil && len(b.Data) != outF {
		panic(fmt.Sprintf("tensor.Linear: bias %v for %d outputs", b.shape, outF))
	}
	shape := append(append([]int(nil), x.shape[:len(x.shape)-1]...), outF)
	out := New(shape...)
	rows := 1
	for _, d := range x.shape[:len(x.shape)-1] {
		rows *= d
	}
	var beta float32
	if b != nil {
		fillRows(out.Data, b.Data, rows)
		beta = 1
	}
	if rows > 0 && outF > 0 && in > 0 {
		gemm.Sgemm(false, true, rows, outF, in, 1, x.Data, in, w.Data, in, beta, out.Data, outF)
	}
	return out
}

// fillRows copies row into every one of the rows consecutive rows of dst.
func fillRows(dst, row []float32, rows int) {
	w := len(row)
	par.For(rows, max(1, elemGrain/max(w, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(dst[r*w:(r+1)*w], row)
		}
	})
}
