package sam

import (
	"fmt"

	"github.com/aisam/aisam/npy"
	"github.com/aisam/aisam/tensor"
)

// readNPZ reads an .npz state dict (one array per key) as float32 tensors; a stand-in
// until package weights (which reads every checkpoint format) lands.
func readNPZ(path string) (map[string]*tensor.Tensor, error) {
	arrs, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	out := make(map[string]*tensor.Tensor, len(arrs))
	for k, a := range arrs {
		t, err := a.Tensor()
		if err != nil {
			return nil, fmt.Errorf("sam: %s: %s: %w", path, k, err)
		}
		out[k] = t
	}
	return out, nil
}
