package hdf5

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// synapseExpected mirrors expected.json's synapse.test section (written by the fixture
// generator from the numpy arrays it gave h5py).
type synapseExpected map[string]struct {
	Image struct {
		Descr string  `json:"descr"`
		Shape []int   `json:"shape"`
		Sum   float64 `json:"sum"`
		Min   float64 `json:"min"`
		Max   float64 `json:"max"`
	} `json:"image"`
	Label struct {
		Shape  []int          `json:"shape"`
		Sum    float64        `json:"sum"`
		Counts map[string]int `json:"counts"`
	} `json:"label"`
	ImageSlices []float64 `json:"image_slice_sums"`
	LabelSlices []float64 `json:"label_slice_sums"`
	Layout      map[string]struct {
		Chunks      []int  `json:"chunks"`
		Compression string `json:"compression"`
		Offset      *int64 `json:"contiguous_offset"`
	} `json:"layout"`
	Samples []struct {
		ZYX   [3]int  `json:"zyx"`
		Image float64 `json:"image"`
		Bits  string  `json:"image_bits"`
		Label float64 `json:"label"`
	} `json:"samples_zyx"`
}

func loadSynapse(t *testing.T) synapseExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testref.Dir(t, "fixtures"), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Synapse struct {
			Test synapseExpected `json:"test"`
		} `json:"synapse"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return all.Synapse.Test
}

func TestSynapseVolumes(t *testing.T) {
	exp := loadSynapse(t)
	dir := testref.Dir(t, "fixtures/synapse/test_vol_h5")
	if len(exp) != 3 {
		t.Fatalf("expected.json lists %d files", len(exp))
	}
	for name, e := range exp {
		t.Run(name, func(t *testing.T) {
			f, err := OpenFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			keys, err := f.Keys()
			if err != nil || len(keys) != 2 || keys[0] != "image" || keys[1] != "label" {
				t.Fatalf("keys %v, %v", keys, err)
			}
			img, err := f.Dataset("image")
			if err != nil {
				t.Fatal(err)
			}
			lab, err := f.Dataset("/label")
			if err != nil {
				t.Fatal(err)
			}
			if img.Type.String() != e.Image.Descr || !slices.Equal(img.Shape, e.Image.Shape) || !slices.Equal(lab.Shape, e.Label.Shape) {
				t.Fatalf("image %s %v, label %v; want %s %v", img.Type, img.Shape, lab.Shape, e.Image.Descr, e.Image.Shape)
			}
			for dn, l := range e.Layout {
				d := img
				if dn == "label" {
					d = lab
				}
				if !slices.Equal(d.Chunks(), l.Chunks) {
					t.Errorf("%s chunks %v, want %v", dn, d.Chunks(), l.Chunks)
				}
				if l.Offset != nil && d.DataOffset() != *l.Offset {
					t.Errorf("%s data at %d, want %d", dn, d.DataOffset(), *l.Offset)
				}
				if f := d.Filters(); (l.Compression == "gzip") != (len(f) == 1 && f[0] == "deflate") {
					t.Errorf("%s filters %v, compression %q", dn, f, l.Compression)
				}
			}
			im, err := img.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			lb, err := lab.ReadFloat64()
			if err != nil {
				t.Fatal(err)
			}
			// Every partial float64 sum is exact (README §1), so == is right.
			plane := 64 * 64
			total, mn, mx := 0.0, math.Inf(1), math.Inf(-1)
			for z := 0; z < 3; z++ {
				s, ls := 0.0, 0.0
				for _, v := range im[z*plane : (z+1)*plane] {
					s += float64(v)
					mn, mx = math.Min(mn, float64(v)), math.Max(mx, float64(v))
				}
				for _, v := range lb[z*plane : (z+1)*plane] {
					ls += v
				}
				if s != e.ImageSlices[z] || ls != e.LabelSlices[z] {
					t.Errorf("slice %d sums %v %v, want %v %v", z, s, ls, e.ImageSlices[z], e.LabelSlices[z])
				}
				total += s
			}
			if total != e.Image.Sum || mn != e.Image.Min || mx != e.Image.Max {
				t.Errorf("image sum/min/max %v/%v/%v, want %v/%v/%v", total, mn, mx, e.Image.Sum, e.Image.Min, e.Image.Max)
			}
			counts := map[string]int{}
			ls := 0.0
			for _, v := range lb {
				counts[strconv.Itoa(int(v))]++
				ls += v
			}
			if ls != e.Label.Sum || len(counts) != len(e.Label.Counts) {
				t.Errorf("label sum %v, %d classes", ls, len(counts))
			}
			for k, n := range e.Label.Counts {
				if counts[k] != n {
					t.Errorf("label %s: %d, want %d", k, counts[k], n)
				}
			}
			for _, s := range e.Samples {
				i := s.ZYX[0]*plane + s.ZYX[1]*64 + s.ZYX[2]
				bits, _ := strconv.ParseUint(s.Bits[2:], 16, 32)
				if math.Float32bits(im[i]) != uint32(bits) || lb[i] != s.Label {
					t.Errorf("%v: image %#x label %v, want %s %v", s.ZYX, math.Float32bits(im[i]), lb[i], s.Bits, s.Label)
				}
			}
		})
	}
}

// The gzip file holds the same arrays as case0001 (README §1), chunked with edge chunks.
func TestSynapseGzipEqualsContiguous(t *testing.T) {
	dir := testref.Dir(t, "fixtures/synapse/test_vol_h5")
	read := func(name, ds string) []byte {
		f, err := OpenFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		d, err := f.Dataset(ds)
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.ReadRaw()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, ds := range []string{"image", "label"} {
		a, b := read("case0001.npy.h5", ds), read("case0001_gzip.npy.h5", ds)
		if string(a) != string(b) {
			t.Errorf("%s differs between contiguous and gzip files", ds)
		}
	}
}

// One File serves many reads, also concurrently: the metadata budget is per operation.
func TestRepeatedConcurrentReads(t *testing.T) {
	f, err := OpenFile(filepath.Join(testref.Dir(t, "fixtures/synapse/test_vol_h5"), "case0001_gzip.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 150; i++ {
				d, err := f.Dataset("label")
				if err != nil {
					errs <- err
					return
				}
				b, err := d.ReadRaw()
				if err != nil {
					errs <- err
					return
				}
				if len(b) != 3*64*64*4 {
					errs <- errors.New("short read")
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkReadGzip decodes the chunked, deflated Synapse volume (8 chunks).
func BenchmarkReadGzip(b *testing.B) {
	f, err := OpenFile(filepath.Join(testref.Dir(b, "fixtures/synapse/test_vol_h5"), "case0001_gzip.npy.h5"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	d, err := f.Dataset("image")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(3 * 64 * 64 * 4)
	for b.Loop() {
		if _, err := d.ReadFloat32(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSynapseGzipChunkIndex reads the v1 B-tree chunk index of case0001_gzip's image and
// compares it with the chunk table of the fixtures' README (offset → file position,
// stored bytes), including the four edge chunks at z = 2 that reach past D = 3.
func TestSynapseGzipChunkIndex(t *testing.T) {
	f, err := OpenFile(filepath.Join(testref.Dir(t, "fixtures/synapse/test_vol_h5"), "case0001_gzip.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.Dataset("image")
	if err != nil {
		t.Fatal(err)
	}
	want := map[[3]uint64][2]uint64{
		{0, 0, 0}: {4536, 1872}, {0, 0, 32}: {6408, 1936}, {0, 32, 0}: {8344, 2023}, {0, 32, 32}: {10367, 1991},
		{2, 0, 0}: {12358, 1068}, {2, 0, 32}: {13426, 1029}, {2, 32, 0}: {14455, 1139}, {2, 32, 32}: {15594, 1156},
	}
	d.f = d.f.op()
	chunks, err := d.btreeChunks()
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	for _, c := range chunks {
		w, ok := want[[3]uint64(c.offset)]
		if !ok || c.addr != w[0] || c.size != w[1] || c.mask != 0 {
			t.Errorf("chunk %v at %d, %d bytes, mask %d; want %v", c.offset, c.addr, c.size, c.mask, w)
		}
	}
	if fs := d.Filters(); len(fs) != 1 || fs[0] != "deflate" {
		t.Errorf("filters %v, want [deflate]", fs)
	}
}
