package pth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisam/aisam/internal/testref"
)

// FuzzOpen: any byte string is either rejected or opens into tensors that all read (or
// fail) cleanly, without panics or allocations beyond the input's size.
func FuzzOpen(f *testing.F) {
	dir := testref.Dir(f, "fixtures/pth")
	for _, n := range []string{"tiny_state_dict.pth", "tiny_checkpoint.pth", "tiny_state_dict_legacy.pth"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "module.pth")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		sd, err := file.StateDict()
		if err != nil {
			return
		}
		for _, e := range sd {
			tt, err := e.Tensor.Float32()
			if err != nil {
				continue
			}
			if tt.Numel() > 4*len(b)+maxBroadcastNumel {
				t.Fatalf("%s: %d elements from a %d-byte file", e.Name, tt.Numel(), len(b))
			}
		}
	})
}
