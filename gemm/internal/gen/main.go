// Command gen writes gemm's amd64 micro-kernels (kernels_amd64.s). The kernels are
// straight-line register code, so they are generated rather than written by hand:
//
//	go generate ./gemm   (runs: go run ./internal/gen -o kernels_amd64.s)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
)

// isa describes one vector instruction set as the generator needs it.
type isa struct {
	name   string // Go function suffix
	reg    string // register prefix: Z or Y
	width  int    // floats per register
	bcast  bool   // FMA takes a broadcast memory operand (AVX-512 {1to16})
	zero   string // instruction that zeroes a register
	mr, nr int
	unroll int
	tails  []int // row counts of the tail kernels (same A panel layout, fewer rows)
}

var isas = []isa{
	// 12 rows × 2 registers = 24 accumulators; Z24-Z27 hold B; A is broadcast from memory.
	{name: "AVX512", reg: "Z", width: 16, bcast: true, zero: "VPXORD", mr: 12, nr: 32, unroll: 4, tails: []int{8, 4, 2, 1}},
	// 6 rows × 2 registers = 12 accumulators; Y12-Y13 hold B, Y14-Y15 the broadcast A.
	{name: "AVX2", reg: "Y", width: 8, zero: "VXORPS", mr: 6, nr: 16, unroll: 4, tails: []int{4, 2, 1}},
}

type writer struct{ bytes.Buffer }

func (w *writer) f(format string, args ...any) { fmt.Fprintf(&w.Buffer, format+"\n", args...) }
func (w *writer) i(format string, args ...any) { w.f("\t"+format, args...) }

// kernel emits
//
//	func micro<ISA>(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
//
// which computes C[mr×nr] = alpha·Σ_p a[p*mr+i]·b[p*ldb+j] + beta·C (beta == 0: C is
// not read), k ≥ 1. SI walks A, DX walks B, DI is C; R8/R9 are the B/C strides in bytes.
// A tail kernel (rows < s.mr, named micro<ISA>r<rows>) computes only the first rows rows
// of a panel packed for s.mr, for the bottom edge and for products with few rows.
func kernel(w *writer, s isa, rows int) {
	name := s.name
	if rows != s.mr {
		name = fmt.Sprintf("%sr%d", s.name, rows)
	}
	aStep := s.mr * 4
	s.mr = rows
	s.name = name
	regsPerRow := s.nr / s.width
	nacc := s.mr * regsPerRow
	// With few accumulators each FMA would wait for the previous one (latency 4,
	// two per cycle): the unrolled steps then rotate over several accumulator sets,
	// summed at the end, to keep at least 8 FMAs in flight.
	sets := 1
	for sets*nacc < 8 && sets < s.unroll {
		sets *= 2
	}
	accSet := func(set, i, j int) string { return fmt.Sprintf("%s%d", s.reg, set*nacc+i*regsPerRow+j) }
	acc := func(i, j int) string { return accSet(0, i, j) }
	free := sets * nacc                // first register after the accumulators
	bReg := func(step, j int) string { // two sets of B registers, alternating by step
		return fmt.Sprintf("%s%d", s.reg, free+(step%2)*regsPerRow*boolInt(s.bcast)+j)
	}
	bc := func(i int) string { return fmt.Sprintf("%s%d", s.reg, free+regsPerRow+i%2) } // AVX2 broadcast
	vsize := s.width * 4

	w.f("// func micro%s(k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)", s.name)
	w.f("TEXT ·micro%s(SB), NOSPLIT, $0-56", s.name)
	w.i("MOVQ k+0(FP), CX")
	w.i("MOVQ a+8(FP), SI")
	w.i("MOVQ b+16(FP), DX")
	w.i("MOVQ ldb+24(FP), R8")
	w.i("SHLQ $2, R8")
	w.i("MOVQ c+32(FP), DI")
	w.i("MOVQ ldc+40(FP), R9")
	w.i("SHLQ $2, R9")
	// Ask for the C tile now so that the epilogue's loads do not wait on memory.
	w.i("MOVQ DI, R10")
	for i := range s.mr {
		w.i("PREFETCHT0 (R10)")
		if s.nr*4 > 64 {
			w.i("PREFETCHT0 %d(R10)", s.nr*4-4)
		}
		if i < s.mr-1 {
			w.i("ADDQ R9, R10")
		}
	}
	for i := range sets * nacc {
		r := fmt.Sprintf("%s%d", s.reg, i)
		w.i("%s %s, %s, %s", s.zero, r, r, r)
	}
	step := func(n, aOff int) {
		set := n % sets
		for j := range regsPerRow {
			w.i("VMOVUPS %d(DX), %s", j*vsize, bReg(n, j))
		}
		w.i("ADDQ R8, DX")
		for i := range s.mr {
			off := aOff + 4*i
			if s.bcast {
				for j := range regsPerRow {
					w.i("VFMADD231PS.BCST %d(SI), %s, %s", off, bReg(n, j), accSet(set, i, j))
				}
				continue
			}
			w.i("VBROADCASTSS %d(SI), %s", off, bc(i))
			for j := range regsPerRow {
				w.i("VFMADD231PS %s, %s, %s", bReg(n, j), bc(i), accSet(set, i, j))
			}
		}
	}
	w.i("MOVQ CX, BX")
	w.i("SHRQ $%d, BX", log2(s.unroll))
	w.i("ANDQ $%d, CX", s.unroll-1)
	w.i("TESTQ BX, BX")
	w.i("JZ %s_tail", s.name)
	w.f("%s_loop:", s.name)
	for u := range s.unroll {
		step(u, u*aStep)
	}
	w.i("ADDQ $%d, SI", s.unroll*aStep)
	w.i("DECQ BX")
	w.i("JNZ %s_loop", s.name)
	w.f("%s_tail:", s.name)
	w.i("TESTQ CX, CX")
	w.i("JZ %s_store", s.name)
	w.f("%s_tailloop:", s.name)
	step(0, 0)
	w.i("ADDQ $%d, SI", aStep)
	w.i("DECQ CX")
	w.i("JNZ %s_tailloop", s.name)

	// Epilogue: C = alpha·acc (+ beta·C).
	w.f("%s_store:", s.name)
	for set := 1; set < sets; set++ {
		for i := range s.mr {
			for j := range regsPerRow {
				w.i("VADDPS %s, %s, %s", accSet(set, i, j), acc(i, j), acc(i, j))
			}
		}
	}
	alpha, beta := fmt.Sprintf("%s%d", s.reg, free), fmt.Sprintf("%s%d", s.reg, free+1)
	w.i("VBROADCASTSS alpha+48(FP), %s", alpha)
	w.i("MOVL beta+52(FP), AX")
	w.i("ANDL $0x7fffffff, AX") // -0 is zero too
	w.i("JZ %s_nobeta", s.name)
	w.i("VBROADCASTSS beta+52(FP), %s", beta)
	store := func(withBeta bool) {
		for i := range s.mr {
			for j := range regsPerRow {
				w.i("VMULPS %s, %s, %s", alpha, acc(i, j), acc(i, j))
				if withBeta {
					w.i("VFMADD231PS %d(DI), %s, %s", j*vsize, beta, acc(i, j))
				}
				w.i("VMOVUPS %s, %d(DI)", acc(i, j), j*vsize)
			}
			if i < s.mr-1 {
				w.i("ADDQ R9, DI")
			}
		}
	}
	store(true)
	w.i("VZEROUPPER")
	w.i("RET")
	w.f("%s_nobeta:", s.name)
	store(false)
	w.i("VZEROUPPER")
	w.i("RET")
	w.f("")
}

// transpose emits
//
//	func transpose8x8AVX(src *float32, lds int, dst *float32, ldd int)
//
// which writes the transpose of the 8×8 block at src (row stride lds floats) to dst (row
// stride ldd): packing B for A·Bᵀ is a transpose, and this does 64 floats in 24
// shuffles instead of 64 scattered stores. AVX only.
func transpose(w *writer) {
	w.f("// func transpose8x8AVX(src *float32, lds int, dst *float32, ldd int)")
	w.f("TEXT ·transpose8x8AVX(SB), NOSPLIT, $0-32")
	w.i("MOVQ src+0(FP), SI")
	w.i("MOVQ lds+8(FP), R8")
	w.i("SHLQ $2, R8")
	w.i("MOVQ dst+16(FP), DI")
	w.i("MOVQ ldd+24(FP), R9")
	w.i("SHLQ $2, R9")
	for i := range 8 { // Y0-Y7: rows
		w.i("VMOVUPS (SI), Y%d", i)
		if i < 7 {
			w.i("ADDQ R8, SI")
		}
	}
	for q := range 2 { // Y8-Y15: interleaved pairs of rows
		r := 4 * q
		w.i("VUNPCKLPS Y%d, Y%d, Y%d", r+1, r, 8+r)
		w.i("VUNPCKHPS Y%d, Y%d, Y%d", r+1, r, 9+r)
		w.i("VUNPCKLPS Y%d, Y%d, Y%d", r+3, r+2, 10+r)
		w.i("VUNPCKHPS Y%d, Y%d, Y%d", r+3, r+2, 11+r)
	}
	for q := range 2 { // Y0-Y7: 4-float column pieces, lanes (c, c+4)
		r := 4 * q
		w.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", 10+r, 8+r, r)
		w.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", 10+r, 8+r, r+1)
		w.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", 11+r, 9+r, r+2)
		w.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", 11+r, 9+r, r+3)
	}
	for c := range 4 { // columns c and c+4 join the halves from rows 0-3 and 4-7
		w.i("VPERM2F128 $0x20, Y%d, Y%d, Y%d", c+4, c, 8+c)
		w.i("VPERM2F128 $0x31, Y%d, Y%d, Y%d", c+4, c, 12+c)
	}
	for i := range 8 {
		w.i("VMOVUPS Y%d, (DI)", 8+i)
		if i < 7 {
			w.i("ADDQ R9, DI")
		}
	}
	w.i("VZEROUPPER")
	w.i("RET")
	w.f("")
}

// pack6 emits
//
//	func pack6x8AVX(src *float32, lds int, dst *float32, ldd int)
//
// which packs a 6×8 block of row-major A (row stride lds) as 8 k steps of 6 values with
// stride ldd (dst[p*ldd+r] = src[r*lds+p]): the transpose network of transpose8x8AVX
// with two zero rows, storing exactly 6 floats per k step.
func pack6(w *writer) {
	w.f("// func pack6x8AVX(src *float32, lds int, dst *float32, ldd int)")
	w.f("TEXT ·pack6x8AVX(SB), NOSPLIT, $0-32")
	w.i("MOVQ src+0(FP), SI")
	w.i("MOVQ lds+8(FP), R8")
	w.i("SHLQ $2, R8")
	w.i("MOVQ dst+16(FP), DI")
	w.i("MOVQ ldd+24(FP), R9")
	w.i("SHLQ $2, R9")
	for i := range 6 {
		w.i("VMOVUPS (SI), Y%d", i)
		if i < 5 {
			w.i("ADDQ R8, SI")
		}
	}
	w.i("VXORPS Y6, Y6, Y6")
	w.i("VXORPS Y7, Y7, Y7")
	for q := range 2 {
		r := 4 * q
		w.i("VUNPCKLPS Y%d, Y%d, Y%d", r+1, r, 8+r)
		w.i("VUNPCKHPS Y%d, Y%d, Y%d", r+1, r, 9+r)
		w.i("VUNPCKLPS Y%d, Y%d, Y%d", r+3, r+2, 10+r)
		w.i("VUNPCKHPS Y%d, Y%d, Y%d", r+3, r+2, 11+r)
	}
	for q := range 2 {
		r := 4 * q
		w.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", 10+r, 8+r, r)
		w.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", 10+r, 8+r, r+1)
		w.i("VSHUFPS $0x44, Y%d, Y%d, Y%d", 11+r, 9+r, r+2)
		w.i("VSHUFPS $0xEE, Y%d, Y%d, Y%d", 11+r, 9+r, r+3)
	}
	for c := range 4 {
		w.i("VPERM2F128 $0x20, Y%d, Y%d, Y%d", c+4, c, 8+c)
		w.i("VPERM2F128 $0x31, Y%d, Y%d, Y%d", c+4, c, 12+c)
	}
	// Column p is Y8+p (p < 4) or Y12+p-4: rows 0-3 in its low lane, rows 4-5 next.
	for p := range 8 {
		reg := 8 + p
		if p >= 4 {
			reg = 12 + p - 4
		}
		w.i("VMOVUPS X%d, (DI)", reg)
		w.i("VEXTRACTF128 $1, Y%d, X%d", reg, reg)
		w.i("VMOVQ X%d, 16(DI)", reg)
		if p < 7 {
			w.i("ADDQ R9, DI")
		}
	}
	w.i("VZEROUPPER")
	w.i("RET")
	w.f("")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	if 1<<l != n {
		log.Fatalf("unroll %d is not a power of two", n)
	}
	return l
}

// generate returns the whole assembly file.
func generate() []byte {
	var w writer
	w.f("// Code generated by go run ./internal/gen; DO NOT EDIT.")
	w.f("")
	w.f("//go:build amd64 && !purego")
	w.f("")
	w.f(`#include "textflag.h"`)
	w.f("")
	transpose(&w)
	pack6(&w)
	for _, s := range isas {
		kernel(&w, s, s.mr)
		for _, r := range s.tails {
			kernel(&w, s, r)
		}
	}
	return w.Bytes()
}

func main() {
	out := flag.String("o", "kernels_amd64.s", "output file")
	flag.Parse()
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".gen-*")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tmp.Write(generate()); err != nil {
		log.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		log.Fatal(err)
	}
}
