package npy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// fixtureNpy is one .npy entry of fixtures/expected.json.
type fixtureNpy struct {
	Descr   string        `json:"descr"`
	Shape   []int         `json:"shape"`
	Fortran bool          `json:"fortran_order"`
	Sum     any           `json:"sum"`
	Values  []json.Number `json:"-"`
	RawVals []any         `json:"values_c_order"`
	Bits    []string      `json:"bits_c_order"`
}

func loadExpected(t testing.TB) (map[string]json.RawMessage, string) {
	t.Helper()
	dir := testref.Dir(t, "fixtures")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var n map[string]json.RawMessage
	if err := json.Unmarshal(top["npy"], &n); err != nil {
		t.Fatal(err)
	}
	return n, filepath.Join(dir, "npy")
}

// jsonFloat decodes a value of expected.json, where NaN and infinities are strings.
func jsonFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	case string:
		switch x {
		case "nan":
			return math.NaN()
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
	}
	t.Fatalf("unexpected JSON value %v (%T)", v, v)
	return 0
}

func TestReadFixtures(t *testing.T) {
	exp, dir := loadExpected(t)
	count := 0
	for name, raw := range exp {
		if !strings.HasSuffix(name, ".npy") {
			continue
		}
		count++
		t.Run(name, func(t *testing.T) {
			var fx fixtureNpy
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber() // int64_5 holds 9007199254740993, which float64 cannot
			if err := dec.Decode(&fx); err != nil {
				t.Fatal(err)
			}
			a, err := ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			wantDT := DType(strings.TrimLeft(fx.Descr, "<>|="))
			if a.DType != wantDT {
				t.Errorf("dtype %q, want %q", a.DType, wantDT)
			}
			if fmt.Sprint(a.Shape) != fmt.Sprint(fx.Shape) || len(a.Shape) != len(fx.Shape) {
				t.Fatalf("shape %v, want %v", a.Shape, fx.Shape)
			}
			if a.Numel() != len(fx.RawVals) {
				t.Fatalf("numel %d, want %d", a.Numel(), len(fx.RawVals))
			}
			if a.DType.IsFloat() {
				got := a.Float64()
				f32 := a.Float32()
				for i, v := range fx.RawVals {
					w := jsonFloat(t, v)
					if !(got[i] == w && math.Signbit(got[i]) == math.Signbit(w)) && !(math.IsNaN(w) && math.IsNaN(got[i])) {
						t.Errorf("[%d] = %v, want %v", i, got[i], w)
					}
					if len(fx.Bits) > 0 {
						wb, _ := strconv.ParseUint(strings.TrimPrefix(fx.Bits[i], "0x"), 16, 32)
						if math.Float32bits(f32[i]) != uint32(wb) {
							t.Errorf("[%d] bits %08x, want %s", i, math.Float32bits(f32[i]), fx.Bits[i])
						}
					}
				}
			} else {
				got, err := a.Int64()
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for i, v := range fx.RawVals {
					w, err := v.(json.Number).Int64()
					if err != nil {
						t.Fatal(err)
					}
					if got[i] != w {
						t.Errorf("[%d] = %d, want %d", i, got[i], w)
					}
					sum += got[i]
				}
				ws, _ := fx.Sum.(json.Number).Int64()
				if sum != ws {
					t.Errorf("sum %d, want %d", sum, ws)
				}
			}
			tt, err := a.Tensor()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(tt.Shape()) != fmt.Sprint(fx.Shape) {
				t.Errorf("tensor shape %v, want %v", tt.Shape(), fx.Shape)
			}
		})
	}
	if count != 14 {
		t.Errorf("tested %d .npy fixtures, want 14", count)
	}
}

// TestWriteMatchesNumpy checks that our writer produces numpy's exact bytes for C-ordered
// little-endian fixtures (np.save's header layout and padding).
func TestWriteMatchesNumpy(t *testing.T) {
	_, dir := loadExpected(t)
	for _, name := range []string{"float32_2x3x4.npy", "float64_3x5.npy", "float64_scalar_0d.npy",
		"int16_4x4.npy", "int64_5.npy", "uint8_8x8.npy", "bool_3x7.npy", "uint8_empty_0x3.npy", "float16_4.npy"} {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			a, err := Read(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, a); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("written bytes differ from numpy's:\n got %q\nwant %q", buf.Bytes()[:min(128, buf.Len())], want[:128])
			}
		})
	}
}

// TestFortranAndBigEndianMatchC checks that layout variants read equal to the same logical
// values written in C order (our writer), byte for byte.
func TestFortranAndBigEndianMatchC(t *testing.T) {
	_, dir := loadExpected(t)
	a, err := ReadFile(filepath.Join(dir, "float32_fortran_3x4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if got := a.Float32(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fortran: %v, want %v", got, want)
	}
	tt, _ := a.Tensor()
	if tt.At(1, 2) != 6 || tt.At(2, 0) != 8 {
		t.Errorf("fortran tensor [1,2]=%v [2,0]=%v, want 6, 8", tt.At(1, 2), tt.At(2, 0))
	}
	// A 3-d Fortran array built by hand: value at (i,j,k) = 100i+10j+k, stored i fastest.
	shape := []int{2, 3, 4}
	var fdata []float32
	for k := 0; k < 4; k++ {
		for j := 0; j < 3; j++ {
			for i := 0; i < 2; i++ {
				fdata = append(fdata, float32(100*i+10*j+k))
			}
		}
	}
	fa, _ := FromFloat32(fdata, len(fdata))
	hdr := "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }"
	raw := makeNpy(1, hdr, fa.Data)
	b, err := Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bt, _ := b.Tensor()
	for i := 0; i < shape[0]; i++ {
		for j := 0; j < shape[1]; j++ {
			for k := 0; k < shape[2]; k++ {
				if v := bt.At(i, j, k); v != float32(100*i+10*j+k) {
					t.Fatalf("3-d fortran [%d,%d,%d] = %v", i, j, k, v)
				}
			}
		}
	}
}

// makeNpy builds a .npy file by hand with the given format major version and header text.
func makeNpy(major byte, hdr string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.WriteByte(major)
	b.WriteByte(0)
	h := hdr + "\n"
	if major == 1 {
		b.WriteByte(byte(len(h)))
		b.WriteByte(byte(len(h) >> 8))
	} else {
		b.Write([]byte{byte(len(h)), byte(len(h) >> 8), 0, 0})
	}
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestHeaderVariants(t *testing.T) {
	four := []byte{0, 0, 0x80, 0x3f} // float32 1.0
	cases := []struct {
		name  string
		major byte
		hdr   string
		data  []byte
		shape []int
	}{
		{"v2", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four, []int{1}},
		{"v3 double quotes", 3, `{"descr": "<f4", "fortran_order": False, "shape": (1,)}`, four, []int{1}},
		{"python2 longs", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 1L), }", four, []int{1, 1}},
		{"key order", 1, "{'shape': (), 'fortran_order': False, 'descr': '<f4'}", four, []int{}},
		{"big endian", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", []byte{0x3f, 0x80, 0, 0}, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(makeNpy(c.major, c.hdr, c.data)))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.Shape) != fmt.Sprint(c.shape) || a.Float32()[0] != 1 {
				t.Errorf("got shape %v values %v", a.Shape, a.Float32())
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	ok := "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "short magic"},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), "bad magic"},
		{"version 9", []byte("\x93NUMPY\x09\x00\x00\x00"), "unsupported format version"},
		{"truncated header", makeNpy(1, ok, nil)[:30], "short header"},
		{"truncated data", makeNpy(1, ok, []byte{1, 2, 3, 4, 5}), "data for shape"},
		{"structured dtype", makeNpy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", make([]byte, 4)), "descr"},
		{"complex", makeNpy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), "unsupported dtype"},
		{"object", makeNpy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), "unsupported dtype"},
		{"negative dim", makeNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil), "bad dimension"},
		{"huge shape", makeNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000, 1000000000), }", nil), "too large"},
		{"missing shape", makeNpy(1, "{'descr': '<f4', 'fortran_order': False}", nil), "'shape'"},
		{"not a dict", makeNpy(1, "('<f4', False)", nil), "not a dict"},
		{"unterminated", makeNpy(1, "{'descr': '<f4", nil), "unterminated"},
		{"fortran not bool", makeNpy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", make([]byte, 4)), "fortran_order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(c.raw))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want ErrFormat containing %q", err, c.want)
			}
		})
	}
}

// TestFileSizeCheckedBeforeAllocation: a header claiming a 4 GB array in a tiny file must
// be rejected from the file size alone.
func TestFileSizeCheckedBeforeAllocation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.npy")
	raw := makeNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }", make([]byte, 16))
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), "file has 16") {
		t.Fatalf("err = %v, want a size complaint", err)
	}
	// Through a plain reader the data is read as it arrives and the short stream fails.
	if _, err := Read(bytes.NewReader(raw)); err == nil {
		t.Fatal("no error from Read")
	}
}

func TestRoundTrip(t *testing.T) {
	f32, _ := FromFloat32([]float32{1.5, float32(math.Inf(-1)), -0, 3.25e-39, 7, 8}, 2, 3)
	f64, _ := FromFloat64([]float64{math.Pi}) // 0-d
	i8, _ := FromInt64(Int64, []int64{math.MinInt64, 9007199254740993, 0}, 3)
	u1, _ := FromInt64(Uint8, []int64{0, 255, 7, 9}, 2, 1, 2)
	b1, _ := FromInt64(Bool, []int64{1, 0}, 2)
	empty, _ := FromFloat32(nil, 0, 5)
	for i, a := range []*Array{f32, f64, i8, u1, b1, empty} {
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-len(a.Data))%64 != 0 {
			t.Errorf("%d: header not 64-aligned (%d bytes)", i, buf.Len()-len(a.Data))
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if b.DType != a.DType || fmt.Sprint(b.Shape) != fmt.Sprint(a.Shape) || !bytes.Equal(b.Data, a.Data) || len(b.Shape) != len(a.Shape) {
			t.Errorf("%d: round trip changed the array: %+v -> %+v", i, a, b)
		}
	}
	if _, err := FromInt64(Uint8, []int64{256}, 1); err == nil {
		t.Error("FromInt64 accepted 256 as uint8")
	}
	if _, err := FromFloat32([]float32{1, 2, 3}, 2, 2); err == nil {
		t.Error("FromFloat32 accepted 3 values for shape [2 2]")
	}
	if _, err := f32.Int64(); err == nil {
		t.Error("Int64 of a float array did not fail")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	a, _ := FromFloat32([]float32{1, 2}, 2)
	if err := WriteFile(p, a); err != nil {
		t.Fatal(err)
	}
	// A failing write must leave the old file intact and no temporary behind.
	bad := &Array{DType: Float32, Shape: []int{3}, Data: make([]byte, 4)}
	if err := WriteFile(p, bad); err == nil {
		t.Fatal("invalid array written")
	}
	b, err := ReadFile(p)
	if err != nil || fmt.Sprint(b.Float32()) != "[1 2]" {
		t.Fatalf("old file damaged: %v %v", b, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory has %d entries, want 1", len(ents))
	}
}

// TestHalf checks float16 conversion exhaustively: every finite half converts to the
// float32 of value man·2^(exp-25) computed independently, and converts back to itself.
func TestHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		exp := (h >> 10) & 0x1f
		man := h & 0x3ff
		var want float64
		switch {
		case exp == 0x1f && man == 0:
			want = math.Inf(1)
		case exp == 0x1f:
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%04x: %v, want NaN", h, f)
			}
			continue
		case exp == 0:
			want = math.Ldexp(float64(man), -24)
		default:
			want = math.Ldexp(float64(man+1024), exp-25)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != (h&0x8000 != 0) {
			t.Fatalf("HalfToFloat32(%04x) = %v, want %v", h, f, want)
		}
		if back := Float32ToHalf(f); back != uint16(h) {
			t.Fatalf("Float32ToHalf(%v) = %04x, want %04x", f, back, h)
		}
	}
	// Rounding: ties to even, overflow to Inf, underflow to 0.
	cases := []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},           // tie between 1 and 1+2^-10: even (1)
		{1 + 3.0/2048, 0x3c02},           // tie: rounds up to even
		{65520, 0x7c00},                  // halfway to the next binade: Inf
		{65519, 0x7bff},                  // just below: max finite
		{float32(math.Ldexp(1, -25)), 0}, // half the smallest subnormal: ties to even 0
		{float32(math.Ldexp(1.5, -25)), 1},
		{-float32(math.Ldexp(3, -25)), 0x8002}, // 1.5 subnormal steps: ties to even 2
	}
	for _, c := range cases {
		if got := Float32ToHalf(c.f); got != c.want {
			t.Errorf("Float32ToHalf(%g) = %04x, want %04x", c.f, got, c.want)
		}
	}
	if BFloat16ToFloat32(0x3f80) != 1 || BFloat16ToFloat32(0xc020) != -2.5 {
		t.Error("bfloat16 conversion")
	}
}
