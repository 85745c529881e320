package sam

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRLEHandCases(t *testing.T) {
	for _, c := range []struct {
		name   string
		h, w   int
		rows   []string // row-major, '1' set
		counts []int
		str    string
	}{
		// Column-major: col 0 = 0,1,0; col 1 = 1,1,0 -> 0 | 1 | 0 | 1 1 | 0.
		{"3x2", 3, 2, []string{"01", "11", "00"}, []int{1, 1, 1, 2, 1}, "11110"},
		// First pixel set: a zero-length first run.
		{"all ones", 2, 2, []string{"11", "11"}, []int{0, 4}, "04"},
		{"empty", 2, 3, []string{"000", "000"}, []int{6}, "6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mask := make([]bool, 0, c.h*c.w)
			for _, r := range c.rows {
				for _, ch := range r {
					mask = append(mask, ch == '1')
				}
			}
			r, err := EncodeRLE(mask, c.h, c.w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Counts, c.counts) {
				t.Fatalf("counts %v, want %v", r.Counts, c.counts)
			}
			if s := r.String(); s != c.str {
				t.Fatalf("string %q, want %q", s, c.str)
			}
			back, err := r.Decode()
			if err != nil || !slices.Equal(back, mask) {
				t.Fatalf("decode %v (%v), want %v", back, err, mask)
			}
		})
	}
}

// TestRLEStringLargeAndNegativeDeltas: counts 5, 100, 3, 40 (h*w = 148). By hand with
// rleToString: 5 -> '5'; 100 = 4 + 3*32 -> (4|0x20)+48 'T', 3+48 '3'; 3 -> '3';
// 40 - 100 = -60 -> low 5 bits 4, rest -2 (continue: 'T'), low bits of -2 = 30 with the
// sign bit set and rest -1 (stop: 30+48 'N').
func TestRLEStringLargeAndNegativeDeltas(t *testing.T) {
	r := RLE{H: 4, W: 37, Counts: []int{5, 100, 3, 40}}
	if s := r.String(); s != "5T33TN" {
		t.Fatalf("string %q, want 5T33TN", s)
	}
	back, err := ParseRLEString("5T33TN", 4, 37)
	if err != nil || !slices.Equal(back.Counts, r.Counts) {
		t.Fatalf("parsed %v (%v), want %v", back.Counts, err, r.Counts)
	}
	if r.Area() != 140 {
		t.Fatalf("area %d, want 140", r.Area())
	}
}

func TestRLERoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		h, w := 1+rng.IntN(40), 1+rng.IntN(40)
		p := rng.Float64()
		mask := make([]bool, h*w)
		area := 0
		for i := range mask {
			mask[i] = rng.Float64() < p
			if mask[i] {
				area++
			}
		}
		r, err := EncodeRLE(mask, h, w)
		if err != nil {
			t.Fatal(err)
		}
		if r.Area() != area {
			t.Fatalf("area %d, want %d", r.Area(), area)
		}
		c, err := r.COCO().Decode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decode()
		if err != nil || !slices.Equal(back, mask) {
			t.Fatalf("%dx%d round trip failed (%v)", h, w, err)
		}
	}
}

func TestRLEErrors(t *testing.T) {
	for _, c := range []struct {
		s    string
		h, w int
	}{
		{"6", 2, 2},       // covers 6 of 4 pixels
		{"2", 2, 2},       // covers 2 of 4
		{"1 1", 1, 2},     // space is not an RLE byte
		{"T", 10, 10},     // ends inside a count
		{"0N", 2, 2},      // negative run
		{"ooooooo", 2, 2}, // endless count
	} {
		if _, err := ParseRLEString(c.s, c.h, c.w); err == nil {
			t.Errorf("%q %dx%d accepted", c.s, c.h, c.w)
		}
	}
	if _, err := EncodeRLE(make([]bool, 3), 2, 2); err == nil {
		t.Error("short mask accepted")
	}
	if _, err := (RLE{H: 2, W: 2, Counts: []int{1, -1, 4}}).Decode(); err == nil {
		t.Error("negative run decoded")
	}
}

func FuzzParseRLEString(f *testing.F) {
	f.Add("5T33TN", 4, 37)
	f.Add("11110", 3, 2)
	f.Add("04", 2, 2)
	f.Fuzz(func(t *testing.T, s string, h, w int) {
		if h < 0 || w < 0 || h > 1000 || w > 1000 {
			return
		}
		r, err := ParseRLEString(s, h, w)
		if err != nil {
			return
		}
		m, err := r.Decode()
		if err != nil {
			t.Fatalf("parsed RLE does not decode: %v", err)
		}
		r2, err := EncodeRLE(m, h, w)
		if err != nil {
			t.Fatal(err)
		}
		if r2.Area() != r.Area() {
			t.Fatalf("area %d after re-encoding, want %d", r2.Area(), r.Area())
		}
	})
}
