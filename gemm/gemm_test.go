package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/aisam/aisam/internal/par"
)

// ref computes alpha·op(A)·op(B) + beta·C in float64, the independent reference.
func ref(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n) // Σ|alpha·a·b| + |beta·c|: the scale of rounding error
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			s *= float64(alpha)
			sa *= math.Abs(float64(alpha))
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
				sa += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			want[i*n+j], mag[i*n+j] = s, sa
		}
	}
	return want, mag
}

func randFill(r *rand.Rand, s []float32) {
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra stride on every operand
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s_%dx%dx%d_a%g_b%g_pad%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// operands builds A, B, C with the case's strides (C is NaN when beta is 0, which must
// then be ignored) plus a copy of C.
func (tc gemmCase) operands(r *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int, c0 []float32) {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc = ac+tc.pad, bc+tc.pad, tc.n+tc.pad
	a = make([]float32, max(0, (ar-1)*lda+ac))
	b = make([]float32, max(0, (br-1)*ldb+bc))
	c = make([]float32, max(0, (tc.m-1)*ldc+tc.n))
	randFill(r, a)
	randFill(r, b)
	randFill(r, c)
	if tc.beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	return a, lda, b, ldb, c, ldc, append([]float32(nil), c...)
}

// verify checks C against the reference and that the padding between rows is untouched.
func verify(t *testing.T, tc gemmCase, a []float32, lda int, b []float32, ldb int, c0, c []float32, ldc int) {
	t.Helper()
	want, mag := ref(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc)
	verifyRef(t, tc, want, mag, c0, c, ldc)
}

func verifyRef(t *testing.T, tc gemmCase, want, mag []float64, c0, c []float32, ldc int) {
	t.Helper()
	bad := 0
	for i := range tc.m {
		for j := range ldc {
			idx := i*ldc + j
			if idx >= len(c) {
				break
			}
			got := float64(c[idx])
			if j >= tc.n {
				if got != float64(c0[idx]) && !(math.IsNaN(got) && math.IsNaN(float64(c0[idx]))) {
					t.Fatalf("%v: padding C[%d][%d] changed from %v to %v", tc, i, j, c0[idx], got)
				}
				continue
			}
			w := want[i*tc.n+j]
			tol := float64(tc.k+4)*1.2e-7*mag[i*tc.n+j] + 1e-30
			if !(math.Abs(got-w) <= tol) {
				if bad++; bad <= 3 {
					t.Errorf("%v: C[%d][%d] = %v, want %v (tol %.3g)", tc, i, j, got, w, tol)
				}
			}
		}
	}
	if bad > 3 {
		t.Errorf("%v: %d wrong elements in all", tc, bad)
	}
}

func cases(sizes [][3]int) []gemmCase {
	var out []gemmCase
	ab := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.75}}
	for si, s := range sizes {
		for tr := range 4 {
			for abi, v := range ab {
				out = append(out, gemmCase{tr&1 != 0, tr&2 != 0, s[0], s[1], s[2], v[0], v[1], (si + tr + abi) % 3 * 2})
			}
		}
	}
	return out
}

// Odd sizes around every kernel's register tile (4×4, 6×16, 12×32) and block edges.
var conformanceSizes = [][3]int{
	{1, 1, 1}, {1, 37, 5}, {2, 3, 1}, {3, 5, 7}, {5, 16, 4}, {6, 17, 9}, {7, 33, 2},
	{11, 31, 13}, {12, 32, 16}, {13, 65, 19}, {24, 64, 30}, {25, 30, 11}, {26, 97, 40},
	{37, 5, 23}, {50, 1, 8}, {61, 129, 67}, {97, 47, 130}, {200, 70, 300},
	{2, 48, 5}, {3, 64, 10}, {4, 32, 9}, {10, 32, 3}, {15, 96, 6}, {23, 64, 33},
	{100, 9, 70}, {64, 15, 33}, {300, 2, 17},
}

func forKernels(t *testing.T, fn func(t *testing.T)) {
	defer SetKernel("")
	for _, name := range Kernels() {
		if err := SetKernel(name); err != nil {
			t.Fatal(err)
		}
		t.Run(name, fn)
	}
}

func TestKernelsAvailable(t *testing.T) {
	ks := Kernels()
	if len(ks) == 0 || ks[len(ks)-1] != "go" {
		t.Fatalf("Kernels() = %v, want the portable kernel last", ks)
	}
	if Kernel() != ks[0] {
		t.Fatalf("default kernel %q, want the fastest %q", Kernel(), ks[0])
	}
	if err := SetKernel("nope"); err == nil {
		t.Fatal("SetKernel accepted an unknown kernel")
	}
	t.Logf("kernels: %v", ks)
}

// TestConformance runs the public entry point on every kernel, 1 and 2 workers.
func TestConformance(t *testing.T) {
	forKernels(t, func(t *testing.T) {
		for _, w := range []int{1, 2} {
			old := par.SetWorkers(w)
			r := rand.New(rand.NewPCG(1, uint64(w)))
			for _, tc := range cases(conformanceSizes) {
				a, lda, b, ldb, c, ldc, c0 := tc.operands(r)
				Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				verify(t, tc, a, lda, b, ldb, c0, c, ldc)
			}
			par.SetWorkers(old)
		}
	})
}

// TestPaths forces both algorithms on every size, the blocked one with tiny cache blocks
// so that several depth, row and column blocks (and their edges) are exercised.
func TestPaths(t *testing.T) {
	workers := []int{1, 2}
	if testing.Short() {
		workers = []int{2}
	}
	forKernels(t, func(t *testing.T) {
		kr := current.Load()
		r := rand.New(rand.NewPCG(2, 2))
		for _, w := range workers {
			old := par.SetWorkers(w)
			for _, tc := range cases(conformanceSizes) {
				a, lda, b, ldb, c, ldc, c0 := tc.operands(r)
				want, mag := ref(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc)
				for _, path := range []string{"direct", "blocked", "tiny-blocks"} {
					copy(c, c0)
					switch path {
					case "direct":
						direct(kr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					case "blocked":
						packed(kr, kr.kc, kr.mc, kr.nc, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					default:
						packed(kr, 7, 2*kr.mr, 2*kr.nr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					}
					verifyRef(t, tc, want, mag, c0, c, ldc)
				}
			}
			par.SetWorkers(old)
		}
	})
}

// TestPackedB multiplies by a B packed once (PackB), twice in a row so that reuse is
// covered, on every kernel, with 1 and 2 workers and nested inside a parallel loop.
func TestPackedB(t *testing.T) {
	forKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 5))
		for _, w := range []int{1, 2} {
			old := par.SetWorkers(w)
			for _, tc := range cases(conformanceSizes) {
				a, lda, b, ldb, c, ldc, c0 := tc.operands(r)
				want, mag := ref(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc)
				pb := PackB(tc.transB, tc.k, tc.n, b, ldb)
				for range 2 {
					copy(c, c0)
					SgemmPacked(tc.transA, tc.m, tc.alpha, a, lda, pb, tc.beta, c, ldc)
					verifyRef(t, tc, want, mag, c0, c, ldc)
				}
				copy(c, c0)
				par.ForEach(2, func(i int) {
					if i == 0 {
						SgemmPacked(tc.transA, tc.m, tc.alpha, a, lda, pb, tc.beta, c, ldc)
					}
				})
				verifyRef(t, tc, want, mag, c0, c, ldc)
				pb.Release()
			}
			par.SetWorkers(old)
		}
	})
	pb := PackB(false, 0, 3, nil, 3)
	c := []float32{1, 2, 3}
	SgemmPacked(false, 1, 1, nil, 0, pb, 2, c, 3)
	if c[0] != 2 || c[1] != 4 || c[2] != 6 {
		t.Fatalf("k = 0: C = %v, want beta·C = [2 4 6]", c)
	}
}

// TestDegenerate covers k == 0 and alpha == 0 (C = beta·C) and empty products.
func TestDegenerate(t *testing.T) {
	for _, tc := range []struct {
		k           int
		alpha, beta float32
		want        float32 // C starts as 2
	}{{0, 1, 0, 0}, {0, 1, 3, 6}, {4, 0, 0.5, 1}, {4, 0, 1, 2}} {
		c := []float32{2, 2, 2, 2, 9, 2, 2, 2, 2} // 2×4 with stride 5; c[4] is padding
		a := make([]float32, 2*max(tc.k, 1))
		b := make([]float32, max(tc.k, 1)*4)
		for i := range a {
			a[i] = float32(math.NaN()) // alpha == 0 must not look at A·B... unless k > 0
		}
		if tc.k > 0 {
			clear(a)
		}
		Sgemm(false, false, 2, 4, tc.k, tc.alpha, a, max(tc.k, 1), b, 4, tc.beta, c, 5)
		for i, v := range c {
			want := tc.want
			if i == 4 {
				want = 9
			}
			if v != want {
				t.Fatalf("k=%d alpha=%g beta=%g: c = %v, want %g (padding 9)", tc.k, tc.alpha, tc.beta, c, tc.want)
			}
		}
	}
	Sgemm(false, false, 0, 5, 3, 1, nil, 3, make([]float32, 15), 5, 0, nil, 5) // m == 0: nothing to do
	Sgemm(false, false, 2, 3, 0, 1, nil, 0, nil, 3, 0, make([]float32, 6), 3)  // k == 0: A and B are empty
}

func TestBadShapesPanic(t *testing.T) {
	for name, fn := range map[string]func(){
		"negative": func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
		"short A": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short C": func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
		"small lda": func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		},
		"small ldbT": func() {
			Sgemm(false, true, 2, 2, 3, 1, make([]float32, 6), 3, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// guarded returns n floats that end exactly where an inaccessible page begins, so a
// kernel that reads or writes one element past the operand crashes the test.
func guarded(t *testing.T, n int) []float32 {
	page := syscall.Getpagesize()
	size := roundUp(max(n*4, 1), page)
	mem, err := syscall.Mmap(-1, 0, size+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[size-n*4])), n)
}

// TestNoReadPastEnd puts every operand, exactly sized, against a guard page.
func TestNoReadPastEnd(t *testing.T) {
	sizes := [][3]int{{1, 32, 3}, {5, 64, 7}, {12, 32, 5}, {13, 96, 9}, {30, 16, 17}, {37, 33, 31}, {100, 128, 40}, {40, 7, 9}, {70, 3, 16}}
	forKernels(t, func(t *testing.T) {
		kr := current.Load()
		r := rand.New(rand.NewPCG(3, 3))
		for _, tc := range cases(sizes) {
			tc.pad = 0
			a0, lda, b0, ldb, c1, ldc, _ := tc.operands(r)
			for _, path := range []string{"sgemm", "direct", "tiny-blocks"} {
				a, b, c := guarded(t, len(a0)), guarded(t, len(b0)), guarded(t, len(c1))
				copy(a, a0)
				copy(b, b0)
				copy(c, c1)
				c0 := append([]float32(nil), c...)
				switch path {
				case "sgemm":
					Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				case "direct":
					direct(kr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				default:
					packed(kr, 5, kr.mr, kr.nr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				}
				verify(t, tc, a, lda, b, ldb, c0, c, ldc)
			}
		}
	})
}

// TestTranspose8x8 checks each kernel's block transpose element by element, with strides.
func TestTranspose8x8(t *testing.T) {
	for _, kr := range kernels {
		if kr.trans8 == nil {
			continue
		}
		src := make([]float32, 8*11)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, 8*13)
		kr.trans8(&src[1], 11, &dst[2], 13)
		for i := range 8 {
			for j := range 8 {
				if got, want := dst[2+i*13+j], src[1+j*11+i]; got != want {
					t.Fatalf("%s: dst[%d][%d] = %v, want %v", kr.name, i, j, got, want)
				}
			}
		}
		for i, v := range dst {
			if (i < 2 || (i-2)%13 >= 8) && v != 0 {
				t.Fatalf("%s: wrote outside the block at %d", kr.name, i)
			}
		}
	}
}

// TestPackingAssembly checks the assembly packing helpers against the scalar loops for
// every register-tile shape, including the AVX-512 kernel's (12×32), which this way is
// covered even on CPUs that cannot run that kernel.
func TestPackingAssembly(t *testing.T) {
	var p6, t8 trans8Fn
	for _, kr := range kernels {
		if kr.pack6 != nil {
			p6, t8 = kr.pack6, kr.trans8
		}
	}
	if p6 == nil || t8 == nil {
		t.Skip("no assembly packing on this CPU")
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, mr := range []int{6, 12} {
		for _, nr := range []int{16, 32} {
			for _, sz := range [][3]int{{mr, 8, 40}, {2*mr + 1, 19, 37}, {3 * mr, 64, 64}, {mr - 1, 9, 8}} {
				rows, kc, cols := sz[0], sz[1], min(sz[2], nr)
				for _, trans := range []bool{false, true} {
					lda := kc + 3
					if trans {
						lda = rows + 3
					}
					a := make([]float32, (max(rows, kc)+2)*lda)
					randFill(r, a)
					want := make([]float32, roundUp(rows, mr)*kc)
					got := make([]float32, len(want))
					randFill(r, got) // packing must overwrite every slot, padding included
					packA(want, nil, trans, a, lda, 1, rows, 2, kc, mr)
					packA(got, p6, trans, a, lda, 1, rows, 2, kc, mr)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("packA mr=%d rows=%d kc=%d trans=%v: [%d] = %v, want %v", mr, rows, kc, trans, i, got[i], want[i])
						}
					}
					ldb := max(kc, cols) + 3 // B square: rows and columns both cover p0+kc and j0+cols
					b := make([]float32, ldb*ldb)
					randFill(r, b)
					wantB := make([]float32, kc*nr)
					gotB := make([]float32, kc*nr)
					randFill(r, gotB)
					packB(wantB, nil, trans, b, ldb, 1, kc, 2, cols, nr)
					packB(gotB, t8, trans, b, ldb, 1, kc, 2, cols, nr)
					for i := range wantB {
						if gotB[i] != wantB[i] {
							t.Fatalf("packB nr=%d kc=%d cols=%d trans=%v: [%d] = %v, want %v", nr, kc, cols, trans, i, gotB[i], wantB[i])
						}
					}
				}
			}
		}
	}
}

// refMicro is a plain-Go micro-kernel for any tile: rows rows of an A panel packed for
// stride rows, nr columns. It lets the drivers run with the AVX-512 kernel's geometry.
func refMicro(stride, rows, nr int) microFn {
	return func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
		as := unsafe.Slice(a, (k-1)*stride+rows)
		bs := unsafe.Slice(b, (k-1)*ldb+nr)
		cs := unsafe.Slice(c, (rows-1)*ldc+nr)
		for i := range rows {
			for j := range nr {
				var s float32
				for p := range k {
					s += as[p*stride+i] * bs[p*ldb+j]
				}
				if beta == 0 {
					cs[i*ldc+j] = alpha * s
				} else {
					cs[i*ldc+j] = alpha*s + beta*cs[i*ldc+j]
				}
			}
		}
	}
}

// TestDriversWith12x32 runs the blocked, direct and narrow drivers with a 12×32 kernel
// (the AVX-512 geometry, with its tail kernels and the assembly packing where this CPU
// has it) built from refMicro, so the drivers' index arithmetic for that shape is tested
// on any machine.
func TestDriversWith12x32(t *testing.T) {
	kr := &kernel{name: "ref12x32", mr: 12, nr: 32, kc: 256, mc: 192, nc: 3072, micro: refMicro(12, 12, 32)}
	for _, r := range []int{8, 4, 2, 1} {
		kr.tails = append(kr.tails, tailKernel{r, refMicro(12, r, 32)})
	}
	for _, k := range kernels {
		if k.pack6 != nil {
			kr.pack6, kr.trans8 = k.pack6, k.trans8
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	defer par.SetWorkers(par.SetWorkers(2))
	sizes := [][3]int{{1, 37, 5}, {11, 33, 13}, {13, 64, 19}, {25, 65, 40}, {61, 129, 67}, {100, 9, 70}, {50, 31, 20}}
	for _, tc := range cases(sizes) {
		a, lda, b, ldb, c, ldc, c0 := tc.operands(r)
		want, mag := ref(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c0, ldc)
		for _, path := range []string{"direct", "tiny-blocks", "narrow"} {
			copy(c, c0)
			switch path {
			case "direct":
				direct(kr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			case "narrow":
				if tc.n > directMaxM {
					continue
				}
				narrow(kr, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			default:
				packed(kr, 7, 24, 64, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			}
			verifyRef(t, tc, want, mag, c0, c, ldc)
		}
	}
}

// TestSchedule checks that the tasks cover every row block and column panel exactly
// once, whole blocks first, for serial and parallel runs.
func TestSchedule(t *testing.T) {
	for _, tc := range [][3]int{{1, 1, 1}, {1, 5, 2}, {22, 96, 2}, {22, 48, 2}, {3, 2, 2}, {5, 200, 4}, {7, 3, 1}} {
		nIC, panels, w := tc[0], tc[1], tc[2]
		tasks := schedule(nIC, panels, w)
		seen := make([]int, nIC*panels)
		small := false
		for _, tk := range tasks {
			if tk.jlo >= tk.jhi || tk.jhi > panels || tk.ib >= nIC {
				t.Fatalf("%v: bad task %+v", tc, tk)
			}
			whole := tk.jlo == 0 && tk.jhi == panels
			if whole && small && panels > 1 {
				t.Fatalf("%v: a whole block after a cut one: %v", tc, tasks)
			}
			small = small || !whole
			for j := tk.jlo; j < tk.jhi; j++ {
				seen[tk.ib*panels+j]++
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("%v: block %d panel %d done %d times", tc, i/panels, i%panels, n)
			}
		}
		if w == 1 && len(tasks) != nIC {
			t.Fatalf("%v: serial run cut blocks: %v", tc, tasks)
		}
	}
}
