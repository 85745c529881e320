package aisam_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aisam/aisam/aisam"
)

// Segment a CT slice automatically, then correct it: a click for the liver, a box for
// the spleen, and undo.
func Example() {
	m, err := aisam.Load("aisam_synapse.safetensors", aisam.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	slice := &aisam.Image{H: 512, W: 512, Values: make([]float32, 512*512)} // Hounsfield units
	s, err := m.NewSession(context.Background(), slice, aisam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range s.Result().Classes {
		fmt.Println(c.Name, c.Present, c.Area, c.Points[0].X, c.Points[0].Y, c.Points[0].Heat)
	}
	liver := m.ClassIndex("liver")
	if _, err := s.AddPoint(liver, 140, 220, true); err != nil {
		log.Fatal(err)
	}
	if _, err := s.SetBox(m.ClassIndex("spleen"), aisam.Box{X0: 330, Y0: 150, X1: 420, Y1: 260}); err != nil {
		log.Fatal(err)
	}
	r, _ := s.Undo()
	fmt.Println(r.Labels[256*512+256])
}
