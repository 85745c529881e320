package aisam

import (
	"context"
	"testing"

	"github.com/aisam/aisam/tensor"
)

// Points and boxes use SAM's continuous pixel coordinates: [0, W] x [0, H], the same rule
// as `aisam sam predict`, so a box can cover the last row and column.
func TestSessionCoordinateBounds(t *testing.T) {
	m, err := New(tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	emb := tensor.New(1, 32, 8, 8)
	for i := range emb.Data {
		emb.Data[i] = float32(i%5) - 2
	}
	const h, w = 30, 40
	s, err := m.NewSessionFromEmbedding(context.Background(), emb, h, w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		x, y float64
		ok   bool
	}{
		{0, 0, true}, {w, h, true}, {w - 0.5, h - 0.5, true},
		{w + 0.01, 0, false}, {0, h + 0.01, false}, {-0.01, 0, false},
	} {
		_, err := s.AddPoint(1, tc.x, tc.y, true)
		if (err == nil) != tc.ok {
			t.Errorf("AddPoint(%g, %g): err = %v, want ok=%v", tc.x, tc.y, err, tc.ok)
		}
	}
	if _, err := s.SetBox(1, Box{X0: 0, Y0: 0, X1: w, Y1: h}); err != nil {
		t.Errorf("a box over the whole image: %v", err)
	}
	if _, err := s.SetBox(1, Box{X0: 0, Y0: 0, X1: w + 1, Y1: h}); err == nil {
		t.Error("a box past the right edge was accepted")
	}
}
