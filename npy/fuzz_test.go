package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// addFixtureSeeds adds every file of fixtures/npy with the given suffix to the corpus.
func addFixtureSeeds(f *testing.F, suffix string) {
	dir := testref.Dir(f, "fixtures/npy")
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) == suffix {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzRead: any byte string either parses into a self-consistent array or is an error.
func FuzzRead(f *testing.F) {
	addFixtureSeeds(f, ".npy")
	f.Add(makeNpy(1, "{'descr': '>i8', 'fortran_order': True, 'shape': (2, 1, 3), }", make([]byte, 48)))
	f.Add(makeNpy(2, "{'descr': '<f2', 'fortran_order': False, 'shape': (0, 9), }", nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("Read returned an inconsistent array: %v", err)
		}
		if _, err := a.Tensor(); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		c, err := Read(&buf)
		if err != nil || !bytes.Equal(c.Data, a.Data) || c.DType != a.DType {
			t.Fatalf("re-read of written array failed: %v", err)
		}
	})
}

// FuzzNPZ: any byte string either opens as an archive whose members read or fail cleanly.
func FuzzNPZ(f *testing.F) {
	addFixtureSeeds(f, ".npz")
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := NewNPZ(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, n := range z.Names() {
			if a, err := z.Get(n); err == nil {
				if err := a.Validate(); err != nil {
					t.Fatalf("member %q inconsistent: %v", n, err)
				}
			}
		}
	})
}
