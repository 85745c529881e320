// Package gemm is aisam's single-precision matrix multiply: packed, cache-blocked, with
// assembly micro-kernels for AVX-512 (12×32) and AVX2+FMA (6×16) chosen at run time
// (golang.org/x/sys/cpu) and a portable Go kernel (4×4) everywhere else. A plain
// `go build` gets the fast path: no cgo, no GOEXPERIMENT; `-tags purego` keeps only the
// Go kernel.
//
// The layout follows BLIS: B is packed into kc×nr micro-panels shared by all workers,
// each worker packs an mc×kc block of A into mr×kc micro-panels that stay in its L2, and
// the micro-kernel computes one mr×nr tile of C in registers; tail kernels with fewer
// rows finish the bottom edge. Products with few rows (m ≤ directMaxM, as in SAM's mask
// decoder) skip the blocking and read B in place, so they do not pay for packing a large
// B that they use only once.
//
// The assembly is generated (go generate ./gemm runs internal/gen). SetKernel forces a
// kernel for tests and benchmarks; `aisam bench gemm` measures it, and with
// `-tags openblas` (cgo, libopenblas-dev) also times OpenBLAS in the same run.
package gemm

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/aisam/aisam/internal/par"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where op(A) is
// m×k (A is k×m when transA) and op(B) is k×n (B is n×k when transB); lda, ldb and ldc
// are the row strides. It runs on the internal/par pool. beta == 0 ignores C's contents.
// Inconsistent sizes are programming errors and panic with the shapes.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	kr := current.Load()
	if m <= directMaxM || (m*k <= directMaxA && k <= directMaxK) {
		direct(kr, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if n <= directMaxM && n < kr.nr {
		narrow(kr, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	packed(kr, kr.kc, kr.mc, kr.nc, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// The direct path reads B in place once per mr rows of A. That costs less than packing
// B when A has at most directMaxM rows, or when all of packed A stays in L2
// (directMaxA floats) and a k×nr strip of B stays in L1 (k ≤ directMaxK), as in the
// many small products of windowed attention.
const (
	directMaxM = 24
	directMaxA = 64 << 10
	directMaxK = 256
)

func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need("A", ar, ac, lda, len(a))
	need("B", br, bc, ldb, len(b))
	need("C", m, n, ldc, len(c))
}

// need panics unless an operand of rows×cols with stride ld fits in have elements.
func need(name string, rows, cols, ld, have int) {
	if rows == 0 || cols == 0 {
		return // an empty operand is never read, whatever its stride
	}
	if ld < cols {
		panic(fmt.Sprintf("gemm: %s is %d×%d but its stride is %d", name, rows, cols, ld))
	}
	if have < (rows-1)*ld+cols {
		panic(fmt.Sprintf("gemm: %s is %d×%d with stride %d: needs %d elements, has %d", name, rows, cols, ld, (rows-1)*ld+cols, have))
	}
}

// scaleC sets C = beta·C (C = 0 when beta is 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// ceilDiv and roundUp are the block arithmetic.
func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// balanced splits total into the fewest blocks of at most limit and returns the block
// size, rounded up to a multiple of unit, so that the last block is not a sliver.
func balanced(total, limit, unit int) int {
	nb := ceilDiv(total, limit)
	return roundUp(ceilDiv(total, nb), unit)
}

// bufPools recycle packing buffers between calls and workers, one pool per power-of-two
// capacity so that a request never draws (and drops) a buffer too small for it.
var bufPools [48]sync.Pool

// getBuf returns a buffer of n floats whose start is 64-byte aligned.
func getBuf(n int) *[]float32 {
	class := bits.Len(uint(max(n, 16) - 1))
	if p, ok := bufPools[class].Get().(*[]float32); ok {
		*p = (*p)[:n]
		return p
	}
	s := alignedFloats(1 << class)[:n]
	return &s
}

func putBuf(p *[]float32) {
	bufPools[bits.Len(uint(cap(*p)-1))].Put(p)
}

// tile runs the micro-kernels on one rows×cols tile of C. Short full-width tiles use the
// tail kernels; narrow tiles (at the right edge) go through scratch (mr×nr floats), since
// every kernel writes whole rows of nr floats.
func tile(kr *kernel, kc int, ap, bp []float32, ldb int, alpha, beta float32, c []float32, ci, ldc, rows, cols int, scratch []float32) {
	if cols == kr.nr {
		if rows == kr.mr {
			kr.micro(kc, &ap[0], &bp[0], ldb, &c[ci], ldc, alpha, beta)
			return
		}
		if len(kr.tails) > 0 {
			for r0 := 0; r0 < rows; {
				t := kr.tails[0]
				for _, u := range kr.tails {
					if u.rows <= rows-r0 {
						t = u
						break
					}
				}
				t.fn(kc, &ap[r0], &bp[0], ldb, &c[ci+r0*ldc], ldc, alpha, beta)
				r0 += t.rows
			}
			return
		}
	}
	kr.micro(kc, &ap[0], &bp[0], ldb, &scratch[0], kr.nr, alpha, 0)
	for i := range rows {
		src := scratch[i*kr.nr : i*kr.nr+cols]
		dst := c[ci+i*ldc : ci+i*ldc+cols]
		if beta == 0 {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] = v + beta*dst[j]
		}
	}
}

// direct computes a product with few rows: A is packed whole (it is small), and B's
// micro-panels are read in place when op(B) is row-major and full width, or packed one
// panel at a time otherwise. Workers split the columns.
func direct(kr *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mp := roundUp(m, kr.mr)
	abuf := getBuf(mp * k)
	defer putBuf(abuf)
	packA(*abuf, kr.pack6, transA, a, lda, 0, m, 0, k, kr.mr)
	job := directJob{kr, transB, m, n, k, alpha, *abuf, b, ldb, beta, c, ldc}
	panels := ceilDiv(n, kr.nr)
	const grain = 4
	if panels <= grain || par.Workers() == 1 || par.Nested() {
		job.run(0, panels) // no closure, no allocation: tiny products are called often
		return
	}
	j := job
	par.For(panels, grain, j.run)
}

// directJob is the direct path after A is packed; run computes panels [lo,hi) of C.
type directJob struct {
	kr     *kernel
	transB bool
	m, n   int
	k      int
	alpha  float32
	ap     []float32
	b      []float32
	ldb    int
	beta   float32
	c      []float32
	ldc    int
}

func (d *directJob) run(lo, hi int) {
	kr, mr, nr, k := d.kr, d.kr.mr, d.kr.nr, d.k
	scratch := getBuf(maxMR * maxNR)
	defer putBuf(scratch)
	var bbuf *[]float32
	if d.transB || (hi-1)*nr+nr > d.n {
		bbuf = getBuf(k * nr)
		defer putBuf(bbuf)
	}
	for jp := lo; jp < hi; jp++ {
		j0 := jp * nr
		cols := min(nr, d.n-j0)
		bp, bld := []float32(nil), 0
		if !d.transB && cols == nr {
			bp, bld = d.b[j0:], d.ldb
		} else {
			packB(*bbuf, kr.trans8, d.transB, d.b, d.ldb, 0, k, j0, cols, nr)
			bp, bld = *bbuf, nr
		}
		for i0 := 0; i0 < d.m; i0 += mr {
			tile(kr, k, d.ap[i0*k:], bp, bld, d.alpha, d.beta, d.c, i0*d.ldc+j0, d.ldc, min(mr, d.m-i0), cols, *scratch)
		}
	}
}

// bPackLimit caps the packed B (k × nc floats, 16 MiB) that all workers share from L3.
const bPackLimit = 4 << 20

// narrow computes a product with few columns (n below the register tile's width, where
// the blocked path would waste most of each tile) as its transpose with few rows,
// Cᵀ = op(B)ᵀ·op(A)ᵀ, on the direct path, into scratch that is then added into C.
func narrow(kr *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	tbuf := getBuf(n * m)
	defer putBuf(tbuf)
	t := *tbuf
	direct(kr, !transB, !transA, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			if beta == 0 {
				row[j] = t[j*m+i]
			} else {
				row[j] = t[j*m+i] + beta*row[j]
			}
		}
	}
}

// packed is the blocked product for everything else. It packs all of B's depth for a
// column block at once, so that workers then run their row blocks through every depth
// block without meeting at a barrier between them (on a shared, noisy machine a barrier
// waits for the slowest worker each time), and each row block's C stays in cache across
// the depth blocks.
func packed(kr *kernel, kcMax, mcMax, ncMax int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	nr := kr.nr
	kc0 := balanced(k, kcMax, 1)
	nPC := ceilDiv(k, kc0)
	nc0 := balanced(n, max(nr, min(ncMax, bPackLimit/k/nr*nr)), nr)
	stride := roundUp(min(nc0, n), nr) * kc0 // floats per depth block of packed B
	bbuf := getBuf(stride * nPC)
	defer putBuf(bbuf)
	bb := *bbuf
	for jc := 0; jc < n; jc += nc0 {
		nc := min(nc0, n-jc)
		packBBlock(kr, bb, stride, transB, b, ldb, k, kc0, jc, nc)
		mulPackedB(kr, mcMax, transA, m, nc, k, kc0, stride, alpha, a, lda, bb, beta, c[jc:], ldc)
	}
}

// packBBlock packs columns [jc,jc+nc) of op(B), all k rows, into bb: depth block q at
// q*stride, its column panel jp at jp*nr*kc within it.
func packBBlock(kr *kernel, bb []float32, stride int, transB bool, b []float32, ldb, k, kc0, jc, nc int) {
	nr := kr.nr
	panels := ceilDiv(nc, nr)
	nPC := ceilDiv(k, kc0)
	pack := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			q, jp := t/panels, t%panels
			pc := q * kc0
			kc := min(kc0, k-pc)
			packB(bb[q*stride+jp*nr*kc:], kr.trans8, transB, b, ldb, pc, kc, jc+jp*nr, min(nr, nc-jp*nr), nr)
		}
	}
	if par.Nested() || par.Workers() == 1 {
		pack(0, nPC*panels) // no closure on the pool: attention packs per (window, head)
		return
	}
	par.For(nPC*panels, 8, pack)
}

// mulPackedB computes C[:, :nc] = alpha·op(A)·Bblk + beta·C for a column block of B
// packed by packBBlock, splitting the row blocks (and their column panels) among workers.
func mulPackedB(kr *kernel, mcMax int, transA bool, m, nc, k, kc0, stride int, alpha float32, a []float32, lda int, bb []float32, beta float32, c []float32, ldc int) {
	mr, nr := kr.mr, kr.nr
	nPC := ceilDiv(k, kc0)
	mc := balanced(m, mcMax, mr)
	nIC := ceilDiv(m, mc)
	panels := ceilDiv(nc, nr)
	w := par.Workers()
	if par.Nested() {
		w = 1 // par.ForEach will run the tasks serially: cutting row blocks only repacks A
	}
	run := func(task task) {
		i0 := task.ib * mc
		rows := min(mc, m-i0)
		abuf := getBuf(roundUp(rows, mr) * kc0)
		defer putBuf(abuf)
		scratch := getBuf(maxMR * maxNR)
		defer putBuf(scratch)
		ab := *abuf
		for q := range nPC {
			pc := q * kc0
			kc := min(kc0, k-pc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			packA(ab, kr.pack6, transA, a, lda, i0, rows, pc, kc, mr)
			for jp := task.jlo; jp < task.jhi; jp++ {
				j0 := jp * nr
				cols := min(nr, nc-j0)
				bp := bb[q*stride+jp*nr*kc:]
				for ir := 0; ir < rows; ir += mr {
					tile(kr, kc, ab[ir*kc:], bp, nr, alpha, bt, c, (i0+ir)*ldc+j0, ldc, min(mr, rows-ir), cols, *scratch)
				}
			}
		}
	}
	if w == 1 {
		for ib := range nIC {
			run(task{ib, 0, panels})
		}
		return
	}
	tasks := schedule(nIC, panels, w)
	par.ForEach(len(tasks), func(t int) { run(tasks[t]) })
}

// PackedB is op(B) packed once for the blocked product, for a caller that multiplies
// many matrices by the same B (attention: every block of a head's queries by its keys,
// then every block of scores by its values), so that B is not packed again for each.
type PackedB struct {
	kr                *kernel
	k, n, kc0, stride int
	buf               *[]float32
}

// PackB packs op(B) (k×n; B is n×k when transB) for SgemmPacked, with the kernel in use
// now. Release returns its buffer to the pool; a released PackedB must not be used.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	check(false, transB, 0, n, k, nil, 1, b, ldb, nil, 1)
	kr := current.Load()
	p := &PackedB{kr: kr, k: k, n: n}
	if k == 0 || n == 0 {
		return p
	}
	p.kc0 = balanced(k, kr.kc, 1)
	p.stride = roundUp(n, kr.nr) * p.kc0
	p.buf = getBuf(p.stride * ceilDiv(k, p.kc0))
	packBBlock(kr, *p.buf, p.stride, transB, b, ldb, k, p.kc0, 0, n)
	return p
}

// Release returns the packed buffer to the pool.
func (p *PackedB) Release() {
	if p.buf != nil {
		putBuf(p.buf)
		p.buf = nil
	}
}

// SgemmPacked computes C = alpha·op(A)·op(B) + beta·C like Sgemm, with op(B) (k×n)
// packed by PackB; op(A) is m×k.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) {
	n, k := b.n, b.k
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	need("A", ar, ac, lda, len(a))
	need("C", m, n, ldc, len(c))
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if b.buf == nil {
		panic("gemm: SgemmPacked with a released PackedB")
	}
	mulPackedB(b.kr, b.kr.mc, transA, m, n, k, b.kc0, b.stride, alpha, a, lda, *b.buf, beta, c, ldc)
}

// task is one row block of C and a range of its column panels.
type task struct{ ib, jlo, jhi int }

// schedule orders the work of one column block for w workers, who take tasks in order.
// Whole row blocks come first; the last w blocks are cut into column chunks, so that
// the workers finish together even when one of them was slowed down (guided
// scheduling), and with too few row blocks for the workers all of them are cut. Each
// cut repacks its A block, which is cheap next to the products.
func schedule(nIC, panels, w int) []task {
	split, whole := 1, nIC
	if w > 1 {
		split = min(panels, 4)
		whole = max(0, nIC-w)
		if nIC < 2*w {
			split = min(panels, ceilDiv(3*w, nIC))
			whole = 0
		}
	}
	per := ceilDiv(panels, split)
	tasks := make([]task, 0, whole+(nIC-whole)*split)
	for ib := range nIC {
		if ib < whole {
			tasks = append(tasks, task{ib, 0, panels})
			continue
		}
		for jlo := 0; jlo < panels; jlo += per {
			tasks = append(tasks, task{ib, jlo, min(panels, jlo+per)})
		}
	}
	return tasks
}
