package pth

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisam/aisam/internal/fileio/fileiotest"
	"github.com/aisam/aisam/internal/pickle"
	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// expected is the "pth" section of fixtures/expected.json.
type expected struct {
	Keys    []string `json:"keys_in_order"`
	Tensors map[string]struct {
		DType        string    `json:"dtype"`
		Shape        []int     `json:"shape"`
		Stride       []int     `json:"stride"`
		Offset       int64     `json:"storage_offset"`
		StorageNumel int64     `json:"storage_numel"`
		Values       []float64 `json:"values_c_order"`
	} `json:"tensors"`
	Metadata   map[string]map[string]int64 `json:"metadata"`
	Epoch      int64                       `json:"checkpoint_epoch"`
	StorageHex map[string]string           `json:"zip_storage_hex"`
	ZipStorage map[string]struct {
		Key string `json:"storage_key"`
	} `json:"zip_tensor_storage"`
	Legacy struct {
		Tensors map[string]struct {
			Key string `json:"storage_key"`
		} `json:"tensor_storage"`
	} `json:"legacy"`
}

func loadExpected(t *testing.T) (*expected, string) {
	t.Helper()
	dir := testref.Dir(t, "fixtures")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Pth expected `json:"pth"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	return &top.Pth, filepath.Join(dir, "pth")
}

func TestFixtures(t *testing.T) {
	exp, dir := loadExpected(t)
	for _, name := range []string{"tiny_state_dict.pth", "tiny_checkpoint.pth", "tiny_state_dict_legacy.pth"} {
		t.Run(name, func(t *testing.T) {
			f, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Legacy != strings.Contains(name, "legacy") {
				t.Errorf("Legacy = %v", f.Legacy)
			}
			sd, err := f.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			byName := map[string]*Tensor{}
			for _, e := range sd {
				names = append(names, e.Name)
				byName[e.Name] = e.Tensor
			}
			if strings.Join(names, ",") != strings.Join(exp.Keys, ",") {
				t.Fatalf("keys %v\nwant %v", names, exp.Keys)
			}
			for _, k := range exp.Keys {
				w := exp.Tensors[k]
				tt := byName[k]
				if string(tt.DType()) != w.DType || fmt.Sprint(tt.Shape) != fmt.Sprint(w.Shape) ||
					fmt.Sprint(tt.Stride) != fmt.Sprint(w.Stride) || tt.Offset != w.Offset || tt.Storage.Numel != w.StorageNumel {
					t.Errorf("%s: %s %v stride %v offset %d numel %d; want %s %v %v %d %d", k, tt.DType(), tt.Shape, tt.Stride,
						tt.Offset, tt.Storage.Numel, w.DType, w.Shape, w.Stride, w.Offset, w.StorageNumel)
				}
				wantKey := exp.ZipStorage[k].Key
				if f.Legacy {
					wantKey = exp.Legacy.Tensors[k].Key
				}
				if tt.Storage.Key != wantKey {
					t.Errorf("%s: storage key %q, want %q", k, tt.Storage.Key, wantKey)
				}
				ft, err := tt.Float32()
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				if fmt.Sprint(ft.Shape()) != fmt.Sprint(w.Shape) {
					t.Errorf("%s: tensor shape %v", k, ft.Shape())
				}
				for i, v := range w.Values {
					// Every listed value is exactly representable in the tensor's dtype and in float32.
					if float64(ft.Data[i]) != v {
						t.Errorf("%s[%d] = %v, want %v", k, i, ft.Data[i], v)
					}
				}
			}
			// Sharing: the tied tensor is the same object; the slice shares the storage.
			if byName["decoder.weight"] != byName["encoder.weight"] {
				t.Error("decoder.weight is not the same tensor as encoder.weight")
			}
			if byName["shared.tail"].Storage != byName["shared.full"].Storage {
				t.Error("shared.tail does not share shared.full's storage")
			}
			// Raw storage bytes (zip files) equal the hex in expected.json.
			if !f.Legacy {
				for k, tt := range byName {
					s := tt.Storage
					b, err := s.read(0, s.Numel)
					if err != nil {
						t.Fatal(err)
					}
					if hex.EncodeToString(b) != exp.StorageHex[s.Key] {
						t.Errorf("%s: storage %s bytes %x, want %s", k, s.Key, b, exp.StorageHex[s.Key])
					}
				}
			}
			if name == "tiny_checkpoint.pth" {
				root := f.Root.(*pickle.Dict)
				if e, _ := root.Get("epoch"); e != exp.Epoch {
					t.Errorf("epoch %v, want %d", e, exp.Epoch)
				}
			} else {
				md := f.Metadata()
				if md == nil {
					t.Fatal("no _metadata")
				}
				for mod, kv := range exp.Metadata {
					m, _ := md.Get(mod)
					v, _ := m.(*pickle.Dict).Get("version")
					if v != kv["version"] {
						t.Errorf("_metadata[%q].version = %v, want %d", mod, v, kv["version"])
					}
				}
			}
		})
	}
}

func TestReadAllSharesTiedTensors(t *testing.T) {
	_, dir := loadExpected(t)
	m, err := ReadAll(filepath.Join(dir, "tiny_checkpoint.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 13 {
		t.Errorf("%d tensors, want 13", len(m))
	}
	if m["decoder.weight"] != m["encoder.weight"] {
		t.Error("tied tensors not shared")
	}
	if m["bn.num_batches_tracked"].Rank() != 0 || m["bn.num_batches_tracked"].Data[0] != 7 {
		t.Errorf("0-d int64: %v", m["bn.num_batches_tracked"])
	}
}

// TestArrayKeepsDType checks the typed path: int64 stays int64, float16 stays float16.
func TestArrayKeepsDType(t *testing.T) {
	_, dir := loadExpected(t)
	f, err := Open(filepath.Join(dir, "tiny_state_dict.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sd, _ := f.StateDict()
	for _, e := range sd {
		a, err := e.Tensor.Array()
		if err != nil {
			t.Fatal(err)
		}
		switch e.Name {
		case "bn.num_batches_tracked":
			v, _ := a.Int64()
			if a.DType != npy.Int64 || len(a.Shape) != 0 || v[0] != 7 {
				t.Errorf("%s: %s %v %v", e.Name, a.DType, a.Shape, v)
			}
		case "half.weight":
			if a.DType != npy.Float16 || hex.EncodeToString(a.Data) != "003800bd00400064ff7b0004" {
				t.Errorf("%s: %s %x", e.Name, a.DType, a.Data)
			}
		case "bf16.weight":
			if a.DType != npy.Float32 || a.Float32()[5] != float32(3.3895313892515355e38) {
				t.Errorf("%s: %s %v", e.Name, a.DType, a.Float32())
			}
		case "proj.weight_t":
			if fmt.Sprint(a.Float32()) != "[10 13 11 14 12 15]" {
				t.Errorf("%s: %v", e.Name, a.Float32())
			}
		}
	}
}

// TestSAMTinyMatchesNPZ: the torch.save'd SAM weights equal numpy's copy, key by key.
func TestSAMTinyMatchesNPZ(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	got, err := ReadAll(filepath.Join(dir, "weights.pth"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadNPZ(filepath.Join(dir, "weights.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d tensors in .pth, %d in .npz", len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s missing from .pth", k)
			continue
		}
		if fmt.Sprint(g.Shape()) != fmt.Sprint(w.Shape) {
			t.Errorf("%s: shape %v, want %v", k, g.Shape(), w.Shape)
			continue
		}
		for i, v := range w.Float32() {
			if math.Float32bits(g.Data[i]) != math.Float32bits(v) {
				t.Errorf("%s[%d] = %v, want %v", k, i, g.Data[i], v)
				break
			}
		}
	}
}

func TestErrors(t *testing.T) {
	_, dir := loadExpected(t)
	zipb, err := os.ReadFile(filepath.Join(dir, "tiny_state_dict.pth"))
	if err != nil {
		t.Fatal(err)
	}
	legb, err := os.ReadFile(filepath.Join(dir, "tiny_state_dict_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"text", []byte("hello world"), "not a torch checkpoint"},
		{"truncated zip", zipb[:len(zipb)/2], "bad zip"},
		{"truncated legacy", legb[:1600], "past the end"},
		{"legacy cut in pickle", legb[:500], "unexpected end"},
		{"legacy without data", legb[:1564], "truncated"},
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

// TestViewBounds: a view reaching past its storage is rejected when the pickle is read.
func TestViewBounds(t *testing.T) {
	s := &Storage{Key: "0", DType: Float32, Numel: 6}
	cases := []struct {
		shape, stride []int
		off           int64
		ok            bool
	}{
		{[]int{2, 3}, []int{3, 1}, 0, true},
		{[]int{3, 2}, []int{1, 3}, 0, true},
		{[]int{6}, []int{1}, 1, false},
		{[]int{2, 3}, []int{4, 1}, 0, false},
		{[]int{0, 100}, []int{100, 1}, 0, true},
		{[]int{1 << 30}, []int{0}, 0, false}, // a broadcast view asking for 4 GB
		{[]int{1 << 40, 1 << 40}, []int{1 << 40, 1}, 0, false},
	}
	for _, c := range cases {
		tt := &Tensor{Storage: s, Offset: c.off, Shape: c.shape, Stride: c.stride}
		if err := tt.check(); (err == nil) != c.ok {
			t.Errorf("shape %v stride %v offset %d: err %v, want ok=%v", c.shape, c.stride, c.off, err, c.ok)
		}
	}
}

// TestDeflatedEntries: torch writes stored entries, but a re-zipped checkpoint may be
// deflated; the same torch-written members must then read identically.
func TestDeflatedEntries(t *testing.T) {
	_, dir := loadExpected(t)
	p := filepath.Join(dir, "tiny_state_dict.pth")
	orig, err := ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	readsLike(t, rezip(t, p, zip.Deflate, nil, nil), orig)
}

// rezip copies the zip checkpoint at p entry by entry, written with method, passing each
// entry's bytes through edit (when not nil), then adds the extra entries.
func rezip(t *testing.T, p string, method uint16, edit func(name string, b []byte), extra map[string]string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(zf.Name, b)
		}
		add(zf.Name, b)
	}
	for name, content := range extra {
		add(name, []byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readsLike checks that the checkpoint bytes b hold a state dict equal to want.
func readsLike(t *testing.T, b []byte, want map[string]*tensor.Tensor) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sd {
		x, err := e.Tensor.Float32()
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if fmt.Sprint(x.Data) != fmt.Sprint(want[e.Name].Data) {
			t.Errorf("%s: %v, want %v", e.Name, x.Data, want[e.Name].Data)
		}
	}
}

// TestSharedDictBomb: a 64-level chain of dicts, each holding the next twice via the memo,
// has 2^64 paths; flattening must stop with an error instead of walking them.
func TestSharedDictBomb(t *testing.T) {
	var p bytes.Buffer
	p.WriteString("\x80\x02}q\x00") // innermost: empty dict, memo 0
	for i := 1; i <= 64; i++ {
		p.WriteString("}(X\x01\x00\x00\x00a")        // new dict, MARK, key 'a'
		p.WriteString(fmt.Sprintf("j%s", le32(i-1))) // LONG_BINGET previous
		p.WriteString("X\x01\x00\x00\x00b")
		p.WriteString(fmt.Sprintf("j%s", le32(i-1)))
		p.WriteString(fmt.Sprintf("ur%s", le32(i))) // SETITEMS, LONG_BINPUT i
	}
	p.WriteString(".")
	root, err := pickle.Unpickle(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	f := &File{Root: root}
	done := make(chan error, 1)
	go func() { _, err := f.StateDict(); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "entries") {
			t.Errorf("StateDict: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("StateDict did not stop")
	}
}

func le32(i int) string {
	return string([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
}

// TestBigEndianZip: torch >= 2.0 records the writer's byte order; a "big" record means
// every storage element is byte-swapped. The fixture's storages swapped by hand must read
// back to the README's values.
func TestBigEndianZip(t *testing.T) {
	exp, dir := loadExpected(t)
	p := filepath.Join(dir, "tiny_state_dict.pth")
	orig, err := ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	elem := map[string]int{}
	for k, info := range exp.ZipStorage {
		elem[info.Key] = map[string]int{"float32": 4, "int64": 8, "float16": 2, "bfloat16": 2}[exp.Tensors[k].DType]
	}
	swap := func(name string, b []byte) {
		if i := strings.Index(name, "/data/"); i >= 0 {
			swapBytes(b, elem[name[i+6:]])
		}
	}
	b := rezip(t, p, zip.Store, swap, map[string]string{"tiny_state_dict/byteorder": "big"})
	readsLike(t, b, orig)
}

// TestHostileStorageCounts: storage element counts that would overflow a byte count, or
// exceed the entry, are rejected while the pickle is read.
func TestHostileStorageCounts(t *testing.T) {
	for _, numel := range []string{"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40", "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x10", "K\x05"} {
		pkl := "\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" +
			numel + "tQK\x00(K\x04tK\x01\x85\x89)tRu."
		b := tinyZip("a", pkl, make([]byte, 16))
		_, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err == nil || !errors.Is(err, ErrFormat) {
			t.Errorf("numel %q: err %v", numel, err)
		}
	}
	// The same pickle with an honest count of 4 opens and reads.
	pkl := "\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00(K\x04tK\x01\x85\x89)tRu."
	b := tinyZip("a", pkl, floats1234)
	f, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	x, err := sd[0].Tensor.Float32()
	if err != nil || fmt.Sprint(x.Data) != "[1 2 3 4]" {
		t.Errorf("honest file: %v %v", x, err)
	}
}

// TestRebuildTensorV3: torch 2.x pickles some tensors over an untyped byte storage with
// the dtype as an argument; the bytes are viewed as that dtype.
func TestRebuildTensorV3(t *testing.T) {
	pkl := "\x80\x02}(X\x01\x00\x00\x00hctorch._utils\n_rebuild_tensor_v3\n((X\x07\x00\x00\x00storagectorch\nUntypedStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x08tQK\x01(K\x03tK\x01\x85\x89)ctorch\nfloat16\ntRu."
	b := tinyZip("x", pkl, []byte{0xff, 0xff, 0x00, 0x3c, 0x00, 0xb8, 0xff, 0x7b}) // ?, 1.0, -0.5, 65504
	f, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	x, err := sd[0].Tensor.Float32()
	if err != nil || fmt.Sprint(x.Data) != "[1 -0.5 65504]" || sd[0].Tensor.DType() != Float16 {
		t.Errorf("got %v %v", x, err)
	}
}

// TestPickledModule reads testdata/module.pth, a torch.save(model)-style file made by
// testdata/make_module_pth.py with CPython's pickle (stand-in torch globals, the same
// opcodes torch emits: NEWOBJ + BUILD of the module __dict__, _rebuild_parameter).
func TestPickledModule(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "module.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sd, err := f.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sd {
		x, err := e.Tensor.Float32()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s%v=%v", e.Name, x.Shape(), x.Data))
	}
	// state_dict order: own parameters, own persistent buffers, then children.
	want := "scale[1]=[9] running[2]=[7 8] fc.weight[2 3]=[1 2 3 4 5 6] fc.bias[2]=[0.5 -0.5]"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestDeepPersistentID: a persistent id nested millions of tuples deep (one TUPLE1 byte a
// level) is rejected with a short error; formatting it with %v recursed once per level
// and overflowed the goroutine stack, killing the process.
func TestDeepPersistentID(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes a 6 MB pickle")
	}
	pkl := "\x80\x02)" + strings.Repeat("\x85", 6<<20) + "Q."
	b := tinyZip("a", pkl, nil)
	_, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a storage tuple") {
		t.Fatalf("err %v", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("error of %d bytes", len(err.Error()))
	}
}

// legacyViewFile builds a legacy checkpoint {"w": tensor of 2 floats} whose tensor lies on
// a view (offset vo, size 2) of a 4-float storage holding 1, 2, 3, 4.
func legacyViewFile(vo string) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.") // magic
	b.WriteString("\x80\x02M\xe9\x03.")                                        // protocol 1001
	b.WriteString("\x80\x02}.")                                                // system info
	b.WriteString("\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n(" +
		"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04" +
		"(X\x01\x00\x00\x001" + vo + "K\x02ttQ" +
		"K\x00K\x02\x85K\x01\x85\x89)tRu.")
	b.WriteString("\x80\x02](X\x01\x00\x00\x000e.") // storage keys
	b.Write([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40})
	return b.Bytes()
}

// TestLegacyStorageViews: a legacy storage view reads its window of the base storage, and
// a view offset so large that offset+size overflows is rejected (it passed the bounds
// check and pointed the reads at arbitrary bytes of the file).
func TestLegacyStorageViews(t *testing.T) {
	cases := []struct {
		vo   string
		want string // tensor values, or "" for an error
	}{
		{"K\x00", "[1 2]"},
		{"K\x01", "[2 3]"},
		{"K\x02", "[3 4]"},
		{"K\x03", ""},
		{"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f", ""}, // MaxInt64
		{"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x3f", ""}, // MaxInt64/2: offset*4 wraps
	}
	for _, c := range cases {
		b := legacyViewFile(c.vo)
		f, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if c.want == "" {
			if err == nil || !errors.Is(err, ErrFormat) {
				t.Errorf("view offset %q: err %v, want ErrFormat", c.vo, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("view offset %q: %v", c.vo, err)
		}
		sd, err := f.StateDict()
		if err != nil {
			t.Fatal(err)
		}
		x, err := sd[0].Tensor.Float32()
		if err != nil || fmt.Sprint(x.Data) != c.want {
			t.Errorf("view offset %q: %v %v, want %s", c.vo, x, err, c.want)
		}
	}
}

// TestRebuildFromType: a tensor subclass (torch._tensor._rebuild_from_type_v2 around
// _rebuild_tensor_v2, as torch pickles nn.Parameter subclasses) rebuilds the plain tensor;
// wrappers nested deeper than torch ever writes are rejected, since each level recursed.
func TestRebuildFromType(t *testing.T) {
	const (
		v2  = "ctorch._utils\n_rebuild_tensor_v2\n"
		ft  = "ctorch._tensor\n_rebuild_from_type_v2\n"
		typ = "ctorch.nn.parameter\nParameter\n"
		pid = "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
	)
	for _, c := range []struct {
		levels int
		ok     bool
	}{{0, true}, {1, true}, {maxRebuildDepth, true}, {maxRebuildDepth + 1, false}, {50, false}} {
		fn, args := v2, "("+pid+"K\x00(K\x04tK\x01\x85\x89)t"
		for range c.levels {
			fn, args = ft, "("+fn+typ+args+"}t"
		}
		pkl := "\x80\x02}(X\x01\x00\x00\x00w" + fn + args + "Ru."
		b := tinyZip("a", pkl, floats1234)
		f, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if !c.ok {
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "nested") {
				t.Errorf("%d levels: err %v, want a nesting error", c.levels, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d levels: %v", c.levels, err)
		}
		sd, err := f.StateDict()
		if err != nil {
			t.Fatalf("%d levels: %v", c.levels, err)
		}
		x, err := sd[0].Tensor.Float32()
		if err != nil || sd[0].Name != "w" || fmt.Sprint(x.Data) != "[1 2 3 4]" {
			t.Errorf("%d levels: %s = %v %v", c.levels, sd[0].Name, x, err)
		}
	}
}

// TestManyViewsBounded: every view of a 16-byte storage is in bounds, but many large
// stride-0 views of it add up to far more than the file holds; flattening refuses them
// before anything is read, while a few stay readable.
func TestManyViewsBounded(t *testing.T) {
	const pid = "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
	for _, c := range []struct {
		views int
		ok    bool
	}{{1, true}, {4, true}, {5, false}, {5000, false}} {
		var p strings.Builder
		p.WriteString("\x80\x02}(")
		for i := range c.views {
			name := fmt.Sprintf("w%d", i)
			p.WriteString("X" + le32(len(name)) + name)
			p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(" + pid + "K\x00J\x00\x00\x40\x00\x85K\x00\x85\x89)tR")
		}
		p.WriteString("u.")
		b := tinyZip("a", p.String(), floats1234)
		f, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%d views: %v", c.views, err)
		}
		sd, err := f.StateDict()
		if !c.ok {
			if err == nil || !errors.Is(err, ErrFormat) {
				t.Errorf("%d views of 16 MB over a 16-byte storage: err %v", c.views, err)
			}
			continue
		}
		if err != nil || len(sd) != c.views {
			t.Fatalf("%d views: %d entries, %v", c.views, len(sd), err)
		}
		x, err := sd[0].Tensor.Float32()
		if err != nil || x.Numel() != 1<<22 || x.Data[0] != 1 || x.Data[1<<22-1] != 1 {
			t.Errorf("%d views: broadcast read %v %v", c.views, x, err)
		}
	}
}

// floats1234 is a storage of the float32 values 1, 2, 3, 4.
var floats1234 = []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40}

// tinyZip returns a zip checkpoint holding prefix/data.pkl and, unless storage is nil,
// the storage prefix/data/0.
func tinyZip(prefix, pkl string, storage []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: prefix + "/data.pkl", Method: zip.Store})
	w.Write([]byte(pkl))
	if storage != nil {
		w, _ = zw.CreateHeader(&zip.FileHeader{Name: prefix + "/data/0", Method: zip.Store})
		w.Write(storage)
	}
	zw.Close()
	return buf.Bytes()
}

// TestReaderAtEOFAtEnd: the legacy format's last storage ends the file; a reader that
// returns io.EOF with that full read must still give every tensor.
func TestReaderAtEOFAtEnd(t *testing.T) {
	_, dir := loadExpected(t)
	for _, name := range []string{"tiny_state_dict_legacy.pth", "tiny_state_dict.pth"} {
		p := filepath.Join(dir, name)
		want, err := ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewReader(fileiotest.NewEOFAtEnd(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sd, err := f.StateDict()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range sd {
			x, err := e.Tensor.Float32()
			if err != nil {
				t.Errorf("%s: %s: %v", name, e.Name, err)
				continue
			}
			if fmt.Sprint(x.Data) != fmt.Sprint(want[e.Name].Data) {
				t.Errorf("%s: %s = %v, want %v", name, e.Name, x.Data, want[e.Name].Data)
			}
		}
	}
}
