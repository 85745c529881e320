package npy

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

func TestNPZFixtures(t *testing.T) {
	dir := testref.Dir(t, "fixtures/npy")
	type member struct {
		name  string
		dtype DType
		shape string
		check func(a *Array) error
	}
	sumIs := func(want float64) func(a *Array) error {
		return func(a *Array) error {
			s := 0.0
			for _, v := range a.Float64() {
				s += v
			}
			if s != want {
				return fmt.Errorf("sum %v, want %v", s, want)
			}
			return nil
		}
	}
	cases := []struct {
		file    string
		members []member
	}{
		{"compressed.npz", []member{
			{"image", Float32, "[3 4]", func(a *Array) error {
				// np.linspace(-1, 1, 12, dtype=float32): computed in float64, then cast.
				for i, v := range a.Float32() {
					w := float32(-1 + 2*float64(i)/11)
					if !(math.Abs(float64(v-w)) <= 1e-7) {
						return fmt.Errorf("[%d] = %v, want %v", i, v, w)
					}
				}
				return sumIs(0)(a)
			}},
			{"index", Int64, "[10]", func(a *Array) error {
				v, err := a.Int64()
				if err != nil {
					return err
				}
				for i := range v {
					if v[i] != int64(i)-3 {
						return fmt.Errorf("[%d] = %d", i, v[i])
					}
				}
				return sumIs(15)(a)
			}},
			{"label", Uint8, "[16 80]", func(a *Array) error {
				tile := []int64{0, 1, 2, 3, 8}
				v, _ := a.Int64()
				for i := range v {
					if v[i] != tile[(i%80)%5] {
						return fmt.Errorf("[%d] = %d", i, v[i])
					}
				}
				return sumIs(3584)(a)
			}},
		}},
		{"stored_positional.npz", []member{
			{"named", Bool, "[2]", sumIs(1)},
			{"arr_0", Int16, "[2 3]", func(a *Array) error {
				if got := fmt.Sprint(a.Float32()); got != "[0 1 2 3 4 5]" {
					return fmt.Errorf("values %s", got)
				}
				return nil
			}},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			z, err := OpenNPZ(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			var names []string
			for _, m := range c.members {
				names = append(names, m.name)
			}
			if got := strings.Join(z.Names(), ","); got != strings.Join(names, ",") {
				t.Errorf("names %s, want %s", got, strings.Join(names, ","))
			}
			for _, m := range c.members {
				a, err := z.Get(m.name)
				if err != nil {
					t.Fatal(err)
				}
				if a.DType != m.dtype || fmt.Sprint(a.Shape) != m.shape {
					t.Errorf("%s: %s %v, want %s %s", m.name, a.DType, a.Shape, m.dtype, m.shape)
				}
				if err := m.check(a); err != nil {
					t.Errorf("%s: %v", m.name, err)
				}
			}
			if _, err := z.Get("nope"); err == nil || !strings.Contains(err.Error(), "no array") {
				t.Errorf("Get(missing) = %v", err)
			}
		})
	}
}

// TestNPZSynapseSlice checks a real-layout archive against the README's pixel table.
func TestNPZSynapseSlice(t *testing.T) {
	p := filepath.Join(testref.Dir(t, "fixtures/synapse/train_npz"), "case0005_slice001.npz")
	m, err := ReadNPZ(p)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := m["image"].Tensor()
	lab, _ := m["label"].Tensor()
	pix := []struct {
		y, x int
		bits uint32
		lab  float32
	}{{32, 32, 0x3ed0a3d7, 8}, {39, 32, 0x3f71eb85, 7}, {27, 12, 0x3ee00000, 5}, {10, 32, 0x3de66666, 0}}
	for _, p := range pix {
		if b := math.Float32bits(img.At(p.y, p.x)); b != p.bits || lab.At(p.y, p.x) != p.lab {
			t.Errorf("[%d,%d] = %08x / %v, want %08x / %v", p.y, p.x, b, lab.At(p.y, p.x), p.bits, p.lab)
		}
	}
	s := 0.0
	for _, v := range img.Data {
		s += float64(v)
	}
	if s != 819.3325006160885 {
		t.Errorf("image sum %v", s)
	}
}

func TestNPZRoundTrip(t *testing.T) {
	a, _ := FromFloat32([]float32{1, -2, 3.5, 4, 5, 6}, 2, 3)
	b, _ := FromInt64(Int32, []int64{-7, 1 << 30}, 2)
	s, _ := FromFloat64([]float64{2.5})
	e, _ := FromInt64(Uint8, nil, 0)
	members := []Member{{"image_encoder.blocks.0/attn", a}, {"idx", b}, {"scalar", s}, {"empty", e}}
	for _, compress := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "x.npz")
		if err := WriteNPZ(p, members, compress); err != nil {
			t.Fatal(err)
		}
		z, err := OpenNPZ(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(z.Names(), ","); got != "image_encoder.blocks.0/attn,idx,scalar,empty" {
			t.Errorf("names %s", got)
		}
		for _, m := range members {
			g, err := z.Get(m.Name + ".npy") // the suffixed form works too
			if err != nil {
				t.Fatal(err)
			}
			if g.DType != m.Array.DType || fmt.Sprint(g.Shape) != fmt.Sprint(m.Array.Shape) || len(g.Shape) != len(m.Array.Shape) || !bytes.Equal(g.Data, m.Array.Data) {
				t.Errorf("compress=%v %s: got %+v", compress, m.Name, g)
			}
		}
		z.Close()
		// Check the zip method with archive/zip directly.
		zr, err := zip.OpenReader(p)
		if err != nil {
			t.Fatal(err)
		}
		want := zip.Store
		if compress {
			want = zip.Deflate
		}
		if zr.File[0].Method != want || zr.File[0].Name != "image_encoder.blocks.0/attn.npy" {
			t.Errorf("member 0: method %d name %q", zr.File[0].Method, zr.File[0].Name)
		}
		zr.Close()
	}
	if err := WriteNPZ(filepath.Join(t.TempDir(), "d.npz"), []Member{{"a", a}, {"a", b}}, false); err == nil {
		t.Error("duplicate names accepted")
	}
}

func TestNPZErrors(t *testing.T) {
	if _, err := NewNPZ(bytes.NewReader([]byte("not a zip at all")), 16); err == nil {
		t.Error("garbage accepted as npz")
	}
	// A zip whose member is not a .npy.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x.npy")
	w.Write([]byte("hello"))
	zw.Close()
	z, err := NewNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Get("x"); err == nil || !strings.Contains(err.Error(), `member "x.npy"`) {
		t.Errorf("Get of a non-npy member: %v", err)
	}
	if _, err := OpenNPZ(filepath.Join(t.TempDir(), "missing.npz")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
