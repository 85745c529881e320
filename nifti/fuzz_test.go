package nifti

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read: it must return a volume consistent with its
// header or an error, never panic, loop, or allocate far beyond the data actually present.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"be_int16_qform.nii", "be_nifti2_f64.nii.gz", "le_int8.nii", "ext_nanslope.nii", "noform.nii", "le_uint64.nii"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Bytes that can legitimately be decoded: the input, or what it inflates to.
		present := int64(len(data))
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1<<26))
			present += n
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err := Read(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if alloc := int64(after.TotalAlloc - before.TotalAlloc); alloc > 64*present+1<<20 {
			t.Fatalf("allocated %d bytes for %d bytes of data", alloc, present)
		}
		if err != nil {
			return
		}
		n := 1
		for _, d := range v.Dims {
			n *= d
		}
		if len(v.Data) != n || len(v.Spacing) != len(v.Dims) || len(v.Orientation) != 3 {
			t.Fatalf("inconsistent volume: dims %v, %d values, spacing %v, orientation %q", v.Dims, len(v.Data), v.Spacing, v.Orientation)
		}
	})
}
