package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
)

// validFile returns a small valid little-endian NIfTI-1 file (int8, 3x2x2).
func validFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/le_int8.nii")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vox_offset 0 in a single file means the first valid position, 352, as nibabel reads it.
func TestZeroVoxOffset(t *testing.T) {
	b := validFile(t)
	want, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[108:], 0)
	got, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got.VoxOffset != 352 || len(got.Data) != len(want.Data) {
		t.Fatalf("vox_offset %d, %d voxels", got.VoxOffset, len(got.Data))
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("voxel %d: %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
}

func TestHostileHeaders(t *testing.T) {
	le := binary.LittleEndian
	put16 := func(b []byte, off int, v int16) { le.PutUint16(b[off:], uint16(v)) }
	putf := func(b []byte, off int, v float32) { le.PutUint32(b[off:], math.Float32bits(v)) }
	cases := []struct {
		name   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"empty", func(b []byte) []byte { return nil }, "too short"},
		{"short header", func(b []byte) []byte { return b[:200] }, "header truncated"},
		{"sizeof_hdr", func(b []byte) []byte { le.PutUint32(b, 349); return b }, "sizeof_hdr"},
		{"magic", func(b []byte) []byte { copy(b[344:], "abc\x00"); return b }, "magic"},
		{"rank 0", func(b []byte) []byte { put16(b, 40, 0); return b }, "dim[0]"},
		{"rank 8", func(b []byte) []byte { put16(b, 40, 8); return b }, "dim[0]"},
		{"negative dim", func(b []byte) []byte { put16(b, 44, -3); return b }, "dim[2]"},
		{"huge dims", func(b []byte) []byte {
			put16(b, 40, 7)
			for i := 1; i <= 7; i++ {
				put16(b, 40+2*i, 32767)
			}
			return b
		}, "overflow"},
		{"too many voxels", func(b []byte) []byte {
			put16(b, 40, 3)
			put16(b, 42, 32767)
			put16(b, 44, 32767)
			put16(b, 46, 3)
			return b
		}, "exceed"},
		{"lying dims", func(b []byte) []byte { put16(b, 42, 3000); put16(b, 44, 3000); return b }, "only"},
		{"truncated data", func(b []byte) []byte { return b[:len(b)-1] }, "only"},
		{"vox_offset inside header", func(b []byte) []byte { putf(b, 108, 100); return b }, "inside"},
		{"vox_offset past end", func(b []byte) []byte { putf(b, 108, 1e9); return b }, "beyond"},
		{"vox_offset fraction", func(b []byte) []byte { putf(b, 108, 352.5); return b }, "vox_offset"},
		{"vox_offset NaN", func(b []byte) []byte { putf(b, 108, float32(math.NaN())); return b }, "vox_offset"},
		{"RGB", func(b []byte) []byte { put16(b, 70, 128); return b }, "RGB24"},
		{"complex", func(b []byte) []byte { put16(b, 70, 32); return b }, "complex64"},
		{"inter inf", func(b []byte) []byte { putf(b, 112, 2); putf(b, 116, float32(math.Inf(1))); return b }, "scl_inter"},
		{"sform NaN", func(b []byte) []byte { put16(b, 254, 1); putf(b, 280, float32(math.NaN())); return b }, "srow"},
	}
	for _, c := range cases {
		b := c.mutate(append([]byte(nil), validFile(t)...))
		for _, via := range []string{"plain", "gzip"} {
			in := b
			if via == "gzip" {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write(b)
				zw.Close()
				in = buf.Bytes()
			}
			_, err := Read(bytes.NewReader(in))
			if err == nil || !errors.Is(err, ErrFormat) {
				t.Errorf("%s (%s): error %v, want ErrFormat", c.name, via, err)
				continue
			}
			// A gzip stream's length is unknown up front, so it fails while streaming.
			if via == "plain" && !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
			}
		}
	}
}

// A tiny gzip file whose header claims 2^31 voxels must fail without allocating them.
func TestLyingGzipDoesNotAllocate(t *testing.T) {
	b := append([]byte(nil), validFile(t)...)
	binary.LittleEndian.PutUint16(b[40:], 3)
	for i, d := range []int16{32767, 32767, 2} {
		binary.LittleEndian.PutUint16(b[42+2*i:], uint16(d))
	}
	binary.LittleEndian.PutUint16(b[70:], DTFloat64)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Write(make([]byte, 1<<20)) // 1 MiB of real data, 16 GiB claimed
	zw.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(bytes.NewReader(buf.Bytes()))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want truncated data", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d bytes for 1 MiB of data", alloc)
	}
}
