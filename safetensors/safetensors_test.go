package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/fileio/fileiotest"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// build assembles a file by hand, as the format's specification describes it.
func build(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

// handMade holds F16 [1, -2], BF16 scalar -2.5, I64 [[-3]] and U8 [] (empty).
var handMade = build(
	`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},`+
		`"e":{"dtype":"U8","shape":[0],"data_offsets":[14,14]},`+
		`"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]},`+
		`"c":{"dtype":"I64","shape":[1,1],"data_offsets":[6,14]},`+
		`"__metadata__":{"format":"pt"}}  `,
	[]byte{0x00, 0x3c, 0x00, 0xc0, 0x20, 0xc0, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})

func TestReadHandMade(t *testing.T) {
	f, err := NewReader(bytes.NewReader(handMade), int64(len(handMade)))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "a,b,c,e" {
		t.Errorf("names %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	cases := []struct {
		name, shape, values string
	}{
		{"a", "[2]", "[1 -2]"},
		{"b", "[]", "[-2.5]"},
		{"c", "[1 1]", "[-3]"},
		{"e", "[0]", "[]"},
	}
	for _, c := range cases {
		tt, err := f.Tensor(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tt.Shape()) != c.shape || fmt.Sprint(tt.Data) != c.values {
			t.Errorf("%s: %v %v, want %s %s", c.name, tt.Shape(), tt.Data, c.shape, c.values)
		}
	}
	a, err := f.Array("c")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Int64(); a.DType != npy.Int64 || v[0] != -3 {
		t.Errorf("Array(c) = %s %v", a.DType, v)
	}
	if _, err := f.Tensor("zz"); err == nil {
		t.Error("missing tensor read")
	}
}

func TestRoundTrip(t *testing.T) {
	w, _ := npy.FromFloat32([]float32{1, -2.5, float32(math.Inf(1)), 3e-39, 5, 6}, 2, 3)
	h, _ := npy.FromInt64(npy.Int64, []int64{math.MaxInt64, -1}, 2)
	s, _ := npy.FromFloat64([]float64{math.Pi})
	x, _ := npy.FromInt64(npy.Uint8, []int64{1, 2, 3}, 3)
	members := []npy.Member{{Name: "z.weight", Array: w}, {Name: "idx", Array: h}, {Name: "scalar", Array: s}, {Name: "odd", Array: x}}
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(p, members, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 || raw[8] != '{' {
		t.Errorf("header length %d: data not 8-aligned or header not JSON", n)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "z.weight,idx,scalar,odd" {
		t.Errorf("data order %s", got)
	}
	for _, m := range members {
		a, err := f.Array(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		if a.DType != m.Array.DType || fmt.Sprint(a.Shape) != fmt.Sprint(m.Array.Shape) || !bytes.Equal(a.Data, m.Array.Data) {
			t.Errorf("%s: got %+v", m.Name, a)
		}
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	// WriteTensors + ReadAll.
	q := filepath.Join(t.TempDir(), "t.safetensors")
	in := map[string]*tensor.Tensor{"b": tensor.FromSlice([]float32{1, 2}, 2), "a": tensor.Scalar(7)}
	if err := WriteTensors(q, in, nil); err != nil {
		t.Fatal(err)
	}
	out, err := ReadAll(q)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out["b"].Data) != "[1 2]" || out["a"].Rank() != 0 || out["a"].Data[0] != 7 {
		t.Errorf("ReadAll: %v", out)
	}
	if err := WriteFile(q, []npy.Member{{Name: "a", Array: w}, {Name: "a", Array: h}}, nil); err == nil {
		t.Error("duplicate names written")
	}
	if _, err := ReadAll(q); err != nil {
		t.Errorf("failed write damaged the old file: %v", err)
	}
}

func TestErrors(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, 1<<40)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", []byte{1, 2}, "no header length"},
		{"header past end", build(good, nil)[:20], "exceeds the file"},
		{"header over limit", hugeLen, "limit"},
		{"not json", build("[1,2]", nil), "start with '{'"},
		{"bad json", build(`{"a":`, nil), "header JSON"},
		{"trailing", build(good+"xx", make([]byte, 4)), "after the JSON"},
		{"unknown dtype", build(`{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), "unknown dtype"},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "want 8"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "bad shape"},
		{"huge shape", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), "bad shape"},
		{"reversed offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), "data_offsets"},
		{"gap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "gap or overlap"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, make([]byte, 4)), "gap or overlap"},
		{"data too short", build(good, make([]byte, 2)), "cover 4"},
		{"data too long", build(good, make([]byte, 6)), "cover 4"},
		{"bad metadata", build(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"missing shape", build(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), "shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(c.b), int64(len(c.b)))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want ErrFormat containing %q", err, c.want)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add(handMade)
	var b bytes.Buffer
	w, _ := npy.FromFloat32([]float32{1, 2, 3}, 3)
	Encode(&b, []npy.Member{{Name: "w", Array: w}}, map[string]string{"k": "v"})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			tt, err := file.Tensor(n)
			if err != nil {
				continue
			}
			if tt.Numel() > len(b) {
				t.Fatalf("%s: %d elements from %d bytes", n, tt.Numel(), len(b))
			}
		}
	})
}

// TestEncodeRejectsInvalidArrays: Encode writes only arrays whose shape, dtype and data
// agree; two negative dimensions multiply to a positive count that matched the data and
// were written into a header no reader accepts.
func TestEncodeRejectsInvalidArrays(t *testing.T) {
	cases := []struct {
		name string
		a    *npy.Array
	}{
		{"two negative dims", &npy.Array{DType: npy.Float32, Shape: []int{-1, -4}, Data: make([]byte, 16)}},
		{"short data", &npy.Array{DType: npy.Float32, Shape: []int{2, 2}, Data: make([]byte, 12)}},
		{"bad dtype", &npy.Array{DType: "c8", Shape: []int{1}, Data: make([]byte, 8)}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := Encode(&b, []npy.Member{{Name: "w", Array: c.a}}, nil); err == nil {
			t.Errorf("%s: encoded", c.name)
		}
	}
}

// TestReaderAtEOFAtEnd: the last tensor's data ends the file; a reader that returns
// io.EOF with that full read must still give it.
func TestReaderAtEOFAtEnd(t *testing.T) {
	w, _ := npy.FromFloat32([]float32{1.5, -2}, 2)
	var b bytes.Buffer
	if err := Encode(&b, []npy.Member{{Name: "w", Array: w}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := NewReader(fileiotest.NewEOFAtEnd(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.Tensor("w")
	if err != nil || fmt.Sprint(x.Data) != "[1.5 -2]" {
		t.Errorf("w = %v, %v", x, err)
	}
}
