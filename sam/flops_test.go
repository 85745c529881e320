package sam

import (
	"math"
	"testing"
)

// The multiply-add counts of /work/shared/docs/BENCH.md (measured independently of this
// code) for one 1024x1024 image and one point prompt.
func TestFLOPCountsMatchBenchDoc(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		encMAC float64
	}{{"vit_b", 486e9}, {"vit_l", 1493e9}, {"vit_h", 2980e9}} {
		c, err := ConfigFor(tc.typ)
		if err != nil {
			t.Fatal(err)
		}
		got := EncoderFLOPs(c.Encoder, 1024, 1024) / 2
		if math.Abs(got-tc.encMAC)/tc.encMAC > 0.01 {
			t.Errorf("%s encoder: %.4g MAC, want %.4g", tc.typ, got, tc.encMAC)
		}
	}
	c, _ := ConfigFor("vit_b")
	got := DecoderFLOPs(c, 2) / 2
	if math.Abs(got-1.81e9)/1.81e9 > 0.02 {
		t.Errorf("decoder: %.4g MAC, want 1.81e9", got)
	}
}
