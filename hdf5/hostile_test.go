package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// readAll opens b and reads dataset name, returning the first error.
func readAll(b []byte, name string) error {
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	d, err := f.Dataset(name)
	if err != nil {
		return err
	}
	_, err = d.ReadFloat32()
	return err
}

// Byte positions below were located in the h5py-written Synapse fixtures (README §1):
// case0001.npy.h5 has the image dataspace dims at 832, maximum dims at 856 and its layout
// message at 936;
// case0001_gzip.npy.h5 has the image chunk B-tree node at 1400 (keys of 40 bytes from
// 1424), the root SNOD at 1072 and the first image chunk at 4536.
func TestHostileHDF5(t *testing.T) {
	dir := testref.Dir(t, "fixtures/synapse/test_vol_h5")
	contig, err := os.ReadFile(filepath.Join(dir, "case0001.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := os.ReadFile(filepath.Join(dir, "case0001_gzip.npy.h5"))
	if err != nil {
		t.Fatal(err)
	}
	latest, err := os.ReadFile("testdata/latest.h5")
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	dims := func(b []byte, d0 uint64) { // first dimension and its maximum
		le.PutUint64(b[832:], d0)
		le.PutUint64(b[856:], d0)
	}
	cases := []struct {
		name   string
		base   []byte
		mutate func(b []byte) []byte
		ds     string
		want   string
	}{
		{"not hdf5", contig, func(b []byte) []byte { b[0] = 'X'; return b }, "image", "no HDF5 signature"},
		{"truncated", contig, func(b []byte) []byte { return b[:60000] }, "image", "truncated"},
		{"absurd dims", contig, func(b []byte) []byte { le.PutUint64(b[832:], 1<<40); return b }, "image", "dimension 0"},
		{"dims above maximum", contig, func(b []byte) []byte { le.PutUint64(b[832:], 4); return b }, "image", "exceeds its maximum"},
		{"huge dims", contig, func(b []byte) []byte { dims(b, 1<<30); return b }, "image", "exceeds the limit"},
		{"big dims", contig, func(b []byte) []byte { dims(b, 1<<14); return b }, "image", "cannot come from"},
		{"lying dims", contig, func(b []byte) []byte { dims(b, 1000); return b }, "image", "contiguous storage"},
		{"data past end", contig, func(b []byte) []byte { le.PutUint64(b[938:], 99999999); return b }, "image", "past the end"},
		{"layout version", contig, func(b []byte) []byte { b[936] = 9; return b }, "image", "layout message version 9"},
		{"B-tree cycle", gz, func(b []byte) []byte { b[1405] = 1; le.PutUint64(b[1464:], 1400); return b }, "image", "cycle"},
		{"misaligned chunk", gz, func(b []byte) []byte { le.PutUint64(b[1440:], 1); return b }, "image", "does not fit"},
		{"corrupt chunk", gz, func(b []byte) []byte { b[4536+200] ^= 0x55; return b }, "image", "deflate"},
		{"lying chunk size", gz, func(b []byte) []byte { le.PutUint32(b[1424:], 1<<30); return b }, "image", "outside the file"},
		{"heap name offset", gz, func(b []byte) []byte { le.PutUint64(b[1080:], 0xffff); return b }, "image", "local heap"},
		{"OHDR checksum", latest, func(b []byte) []byte {
			i := bytes.Index(b, []byte("OHDR")) // the root group's header
			b[i+10] ^= 1
			return b
		}, "f4_contig", "checksum"},
	}
	for _, c := range cases {
		b := c.mutate(append([]byte(nil), c.base...))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := readAll(b, c.ds)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v wraps neither ErrFormat nor ErrUnsupported", c.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(4*len(b))+1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte file", c.name, alloc, len(b))
		}
	}
}

// A soft link that points back at itself ("/grp//soft", the empty part is skipped) must
// end in an error after a bounded number of hops, not recurse forever.
func TestSoftLinkCycle(t *testing.T) {
	b, err := os.ReadFile("testdata/latest.h5")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte("/f4_contig")) != 1 {
		t.Fatal("soft link target not found once in latest.h5")
	}
	b = bytes.Replace(b, []byte("/f4_contig"), []byte("/grp//soft"), 1)
	ignoreChecksums = true // the link lives in a checksummed v2 object header
	defer func() { ignoreChecksums = false }()
	err = readAll(b, "grp/soft")
	if err == nil || !strings.Contains(err.Error(), "soft links in a row") {
		t.Errorf("soft link cycle: %v", err)
	}
}
