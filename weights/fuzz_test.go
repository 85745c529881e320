package weights

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/safetensors"
)

// FuzzLoadFrom: whatever the bytes, format detection plus loading returns tensors or an
// error, never a panic, and never more values than the input could describe.
func FuzzLoadFrom(f *testing.F) {
	dir := testref.Dir(f, "fixtures")
	for _, n := range []string{"pth/tiny_state_dict.pth", "pth/tiny_state_dict_legacy.pth", "npy/stored_positional.npz"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var st bytes.Buffer
	a, _ := npy.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	if err := safetensors.Encode(&st, []npy.Member{{Name: "w", Array: a}}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(st.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := LoadFrom(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 0
		for _, x := range m {
			n += x.Numel()
		}
		// Stride-0 views in a torch file may broadcast up to 4M elements each.
		if n > 1032*len(b)+len(m)<<22 {
			t.Fatalf("%d values from %d bytes", n, len(b))
		}
	})
}
