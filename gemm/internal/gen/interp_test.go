package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// This file runs the generated kernels through a small interpreter of the instructions
// they use, so that the AVX-512 kernels are checked for register use, offsets, loop
// counts and bounds even on machines without AVX-512 (the encoding itself is the Go
// assembler's job). Running the AVX2 kernels through it too checks the interpreter
// against the kernels that the gemm package's tests run on real hardware.

// machine is the interpreter's state: memory is float32 words addressed in bytes, split
// into named regions so that any access outside an operand is caught.
type machine struct {
	t       *testing.T
	gpr     map[string]int64
	vec     map[string][]float32
	zf      bool
	mem     []float32
	regions [][3]int64 // start byte, end byte, writable
	args    map[string]any
}

func (m *machine) check(addr int64, n int, write bool) {
	for _, r := range m.regions {
		if addr >= r[0] && addr+int64(4*n) <= r[1] {
			if write && r[2] == 0 {
				m.t.Fatalf("store to read-only operand at byte %d", addr)
			}
			return
		}
	}
	m.t.Fatalf("access of %d floats at byte %d is outside every operand", n, addr)
}

// operand forms: $imm, REG, off(REG), (REG), name+off(FP)
func (m *machine) addr(op string) int64 {
	i := strings.Index(op, "(")
	off := int64(0)
	if i > 0 {
		v, err := strconv.ParseInt(op[:i], 0, 64)
		if err != nil {
			m.t.Fatalf("bad offset in %q", op)
		}
		off = v
	}
	return m.gpr[strings.TrimSuffix(op[i+1:], ")")] + off
}

func isMem(op string) bool { return strings.Contains(op, "(") && !strings.Contains(op, "(FP)") }

func (m *machine) imm(op string) int64 {
	if strings.HasPrefix(op, "$") {
		v, err := strconv.ParseInt(op[1:], 0, 64)
		if err != nil {
			m.t.Fatalf("bad immediate %q", op)
		}
		return v
	}
	return m.gpr[op]
}

func lanes(reg string) int {
	if reg[0] == 'Z' {
		return 16
	}
	return 8
}

func (m *machine) load(op string, n int) []float32 {
	a := m.addr(op)
	m.check(a, n, false)
	return append([]float32(nil), m.mem[a/4:a/4+int64(n)]...)
}

func (m *machine) run(text string) {
	lines := strings.Split(text, "\n")
	labels := map[string]int{}
	for i, l := range lines {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, "\t") {
			labels[strings.TrimSuffix(l, ":")] = i
		}
	}
	for pc, steps := 0, 0; pc < len(lines); pc++ {
		if steps++; steps > 1e6 {
			m.t.Fatal("runaway kernel")
		}
		l := strings.TrimSpace(lines[pc])
		if l == "" || strings.HasSuffix(l, ":") || strings.HasPrefix(l, "//") || strings.HasPrefix(l, "TEXT") {
			continue
		}
		op, rest, _ := strings.Cut(l, " ")
		var a []string
		for _, x := range strings.Split(rest, ",") {
			a = append(a, strings.TrimSpace(x))
		}
		switch op {
		case "MOVQ":
			if strings.HasSuffix(a[0], "(FP)") {
				m.gpr[a[1]] = m.args[strings.Split(a[0], "+")[0]].(int64)
			} else {
				m.gpr[a[1]] = m.gpr[a[0]]
			}
		case "MOVL":
			m.gpr[a[1]] = int64(math.Float32bits(m.args[strings.Split(a[0], "+")[0]].(float32)))
		case "SHLQ":
			m.gpr[a[1]] <<= m.imm(a[0])
		case "SHRQ":
			m.gpr[a[1]] >>= m.imm(a[0])
		case "ANDQ", "ANDL":
			m.gpr[a[1]] &= m.imm(a[0])
			m.zf = m.gpr[a[1]] == 0
		case "ADDQ":
			m.gpr[a[1]] += m.imm(a[0])
		case "DECQ":
			m.gpr[a[0]]--
			m.zf = m.gpr[a[0]] == 0
		case "TESTQ":
			m.zf = m.gpr[a[0]]&m.gpr[a[1]] == 0
		case "JZ", "JNZ":
			if (op == "JZ") == m.zf {
				pc = labels[a[0]]
			}
		case "PREFETCHT0", "VZEROUPPER":
		case "RET":
			return
		case "VPXORD", "VXORPS":
			m.vec[a[2]] = make([]float32, lanes(a[2]))
		case "VMOVUPS":
			if isMem(a[0]) {
				m.vec[a[1]] = m.load(a[0], lanes(a[1]))
			} else {
				ad := m.addr(a[1])
				m.check(ad, lanes(a[0]), true)
				copy(m.mem[ad/4:], m.vec[a[0]])
			}
		case "VBROADCASTSS":
			var v float32
			if strings.HasSuffix(a[0], "(FP)") {
				v = m.args[strings.Split(a[0], "+")[0]].(float32)
			} else {
				v = m.load(a[0], 1)[0]
			}
			r := make([]float32, lanes(a[1]))
			for i := range r {
				r[i] = v
			}
			m.vec[a[1]] = r
		case "VFMADD231PS", "VFMADD231PS.BCST":
			n := lanes(a[2])
			var src []float32
			switch {
			case op == "VFMADD231PS.BCST":
				v := m.load(a[0], 1)[0]
				src = make([]float32, n)
				for i := range src {
					src[i] = v
				}
			case isMem(a[0]):
				src = m.load(a[0], n)
			default:
				src = m.vec[a[0]]
			}
			b, acc := m.vec[a[1]], m.vec[a[2]]
			out := make([]float32, n)
			for i := range out {
				out[i] = float32(float64(acc[i]) + float64(b[i])*float64(src[i]))
			}
			m.vec[a[2]] = out
		case "VMULPS", "VADDPS":
			x, y := m.vec[a[0]], m.vec[a[1]]
			out := make([]float32, lanes(a[2]))
			for i := range out {
				if op == "VMULPS" {
					out[i] = x[i] * y[i]
				} else {
					out[i] = x[i] + y[i]
				}
			}
			m.vec[a[2]] = out
		default:
			m.t.Fatalf("interpreter does not know %q", l)
		}
	}
	m.t.Fatal("kernel fell off its end without RET")
}

// functions splits the generated file into its TEXT blocks by function name.
func functions(src string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(src, "TEXT ·")[1:] {
		name, _, _ := strings.Cut(part, "(")
		out[name] = "TEXT ·" + part
	}
	return out
}

func TestKernelsInterpreted(t *testing.T) {
	fns := functions(string(generate()))
	r := rand.New(rand.NewPCG(7, 7))
	for _, s := range isas {
		for _, rows := range append([]int{s.mr}, s.tails...) {
			name := "micro" + s.name
			if rows != s.mr {
				name = fmt.Sprintf("%sr%d", name, rows)
			}
			text, ok := fns[name]
			if !ok {
				t.Fatalf("%s not generated", name)
			}
			for _, k := range []int{1, 2, 3, 4, 5, 8, 13} {
				for _, beta := range []float32{0, 1, -0.5} {
					interpretOne(t, name, text, r, s.mr, rows, s.nr, k, 1.25, beta)
				}
			}
		}
	}
}

// interpretOne lays out A (k×mr panel, rows used), B (k rows of ldb floats) and C (rows
// of ldc floats, exactly sized) in one memory, runs the kernel and checks C.
func interpretOne(t *testing.T, name, text string, r *rand.Rand, mr, rows, nr, k int, alpha, beta float32) {
	ldb, ldc := nr+3, nr+5
	aLen := (k-1)*mr + rows // the kernel may read only the rows it computes
	bLen := (k-1)*ldb + nr
	cLen := (rows-1)*ldc + nr
	gap := 16
	aOff, bOff := gap, gap+aLen+gap
	cOff := bOff + bLen + gap
	mem := make([]float32, cOff+cLen+gap)
	for i := range mem {
		mem[i] = float32(r.NormFloat64())
	}
	if beta == 0 {
		for i := cOff; i < cOff+cLen; i++ {
			mem[i] = float32(math.NaN())
		}
	}
	orig := append([]float32(nil), mem...)
	m := &machine{t: t, gpr: map[string]int64{}, vec: map[string][]float32{}, mem: mem,
		regions: [][3]int64{{int64(4 * aOff), int64(4 * (aOff + aLen)), 0}, {int64(4 * bOff), int64(4 * (bOff + bLen)), 0},
			{int64(4 * cOff), int64(4 * (cOff + cLen)), 1}},
		args: map[string]any{"k": int64(k), "a": int64(4 * aOff), "b": int64(4 * bOff), "ldb": int64(ldb),
			"c": int64(4 * cOff), "ldc": int64(ldc), "alpha": alpha, "beta": beta}}
	m.run(text)
	for i := range mem {
		inC := i >= cOff && i < cOff+cLen && (i-cOff)%ldc < nr
		if !inC {
			if mem[i] != orig[i] && !(math.IsNaN(float64(mem[i])) && math.IsNaN(float64(orig[i]))) {
				t.Fatalf("%s k=%d: wrote outside the C tile at word %d", name, k, i)
			}
			continue
		}
		row, col := (i-cOff)/ldc, (i-cOff)%ldc
		var s, mag float64
		for p := range k {
			v := float64(orig[aOff+p*mr+row]) * float64(orig[bOff+p*ldb+col])
			s += v
			mag += math.Abs(v)
		}
		want := float64(alpha) * s
		mag *= math.Abs(float64(alpha))
		if beta != 0 {
			want += float64(beta) * float64(orig[i])
			mag += math.Abs(float64(beta) * float64(orig[i]))
		}
		if got := float64(mem[i]); !(math.Abs(got-want) <= 1e-5*mag+1e-30) {
			t.Fatalf("%s k=%d beta=%g: C[%d][%d] = %v, want %v", name, k, beta, row, col, got, want)
		}
	}
}
