package gemm

import (
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"
)

// microFn computes one mr×nr tile: C[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*ldb+j] + beta·C
// for p < k (k ≥ 1), where a is a packed A micro-panel and b points at k rows of nr
// floats with stride ldb (a packed B micro-panel, or B itself). beta == 0 never reads C.
type microFn func(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// kernel is a micro-kernel with the block sizes that suit it.
type kernel struct {
	name       string
	mr, nr     int // register tile
	kc, mc, nc int // cache blocks: depth (L1/L2), rows of A (L2), columns of B (L3)
	micro      microFn
	tails      []tailKernel // fewer-row kernels, largest first (none: edges use scratch)
	trans8     trans8Fn     // 8×8 block transpose for packing Bᵀ (nil: scalar loops)
	pack6      trans8Fn     // 6×8 block to 8 k steps of 6 (stride ldd), for packing A (nil: scalar)
}

// trans8Fn writes the transpose of the 8×8 block at src (row stride lds) to dst (ldd).
type trans8Fn func(src *float32, lds int, dst *float32, ldd int)

// tailKernel computes only the first rows rows of an A panel packed for mr rows.
type tailKernel struct {
	rows int
	fn   microFn
}

// The largest register tile of any kernel (sizes the edge scratch tile).
const maxMR, maxNR = 12, 32

// goKernel is the portable kernel, available everywhere.
var goKernel = &kernel{name: "go", mr: 4, nr: 4, kc: 256, mc: 128, nc: 1024, micro: microGo}

// kernels lists the kernels this CPU can run, fastest first: the assembly ones the CPU
// supports, then the portable one.
var kernels = append(archKernels(), goKernel)

var current atomic.Pointer[kernel]

func init() { current.Store(kernels[0]) }

// Kernel reports the name of the micro-kernel in use: "avx512", "avx2" or "go".
func Kernel() string { return current.Load().name }

// Kernels lists the kernels this CPU supports, fastest first.
func Kernels() []string {
	var s []string
	for _, k := range kernels {
		s = append(s, k.name)
	}
	return s
}

// SetKernel selects the micro-kernel for later calls, for conformance tests and
// benchmarks; "" or "auto" restores the fastest. It fails for a kernel this CPU (or
// build) cannot run.
func SetKernel(name string) error {
	if name == "" || name == "auto" {
		current.Store(kernels[0])
		return nil
	}
	for _, k := range kernels {
		if k.name == name {
			current.Store(k)
			return nil
		}
	}
	return fmt.Errorf("gemm: kernel %q not available on this CPU (have %s)", name, strings.Join(Kernels(), ", "))
}

// microGo is the portable 4×4 micro-kernel: sixteen accumulators, and unchecked loads
// (the packed layout guarantees the bounds) so the loop is only loads, multiplies and adds.
func microGo(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	ld := uintptr(ldb) * 4
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := range uintptr(k) {
		ap := unsafe.Add(pa, p*16)
		bp := unsafe.Add(pb, p*ld)
		b0, b1, b2, b3 := *(*float32)(bp), *(*float32)(unsafe.Add(bp, 4)), *(*float32)(unsafe.Add(bp, 8)), *(*float32)(unsafe.Add(bp, 12))
		a0 := *(*float32)(ap)
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := *(*float32)(unsafe.Add(ap, 4))
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := *(*float32)(unsafe.Add(ap, 8))
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := *(*float32)(unsafe.Add(ap, 12))
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	for i := range 4 {
		row := cs[i*ldc : i*ldc+4 : i*ldc+4]
		for j := range 4 {
			if beta == 0 {
				row[j] = alpha * acc[i*4+j]
			} else {
				row[j] = alpha*acc[i*4+j] + beta*row[j]
			}
		}
	}
}
