package hdf5

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// FuzzOpen opens arbitrary bytes as HDF5 and reads every dataset reachable from the root:
// errors are fine; panics, hangs and allocations far beyond the file are not.
func FuzzOpen(f *testing.F) {
	for _, p := range []string{"testdata/latest.h5", "testdata/v108.h5", "testdata/dense.h5"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	gz, err := os.ReadFile(testref.Dir(f, "fixtures/synapse/test_vol_h5") + "/case0001_gzip.npy.h5")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gz)
	old := MaxBytes
	MaxBytes = 1 << 20 // keep each execution fast; the expansion bound is tested separately
	// Mutations of v2 structures would nearly all stop at their checksums.
	ignoreChecksums = true
	defer func() { MaxBytes, ignoreChecksums = old, false }()
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		walk(t, data)
		runtime.ReadMemStats(&after)
		// Decoded data may exceed the file by the deflate bound; metadata reads by the budget.
		limit := int64(len(data))*(maxExpansion*4+128) + 4<<20
		if alloc := int64(after.TotalAlloc - before.TotalAlloc); alloc > limit {
			t.Fatalf("allocated %d bytes for a %d-byte file", alloc, len(data))
		}
	})
}

func walk(t *testing.T, data []byte) {
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return
	}
	var visit func(path string, depth int)
	visit = func(path string, depth int) {
		if depth > 4 {
			return
		}
		names, err := f.List(path)
		if err != nil {
			return
		}
		for _, n := range names {
			p := path + "/" + n
			d, err := f.Dataset(p)
			if err != nil {
				visit(p, depth+1)
				continue
			}
			v, err := d.ReadFloat32()
			if err == nil && int64(len(v)) != d.Len() {
				t.Fatalf("%s: %d values for %d elements", p, len(v), d.Len())
			}
		}
	}
	visit("", 0)
}
