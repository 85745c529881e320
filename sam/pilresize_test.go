package sam

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/testref"
	"github.com/aisam/aisam/npy"
)

// readU8 reads a uint8 .npy file and checks its shape.
func readU8(t *testing.T, path string, shape ...int) []uint8 {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.DType != npy.Uint8 {
		t.Fatalf("%s: dtype %s, want uint8", path, a.DType)
	}
	if len(shape) > 0 && !slices.Equal(a.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", path, a.Shape, shape)
	}
	return a.Data
}

// diffU8 describes the first mismatches of two byte images.
func diffU8(got, want []uint8, w, ch int) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
	}
	n, s := 0, ""
	for i := range want {
		if got[i] != want[i] {
			if n < 5 {
				p := i / ch
				s += fmt.Sprintf(" (y %d x %d c %d: %d want %d)", p/w, p%w, i%ch, got[i], want[i])
			}
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d bytes differ:%s", n, len(want), s)
}

// TestPILResizeSAMVector checks the resize against torchvision/PIL's ResizeLongestSide
// output in the official sam-tiny vectors (300x200 -> 256x171).
func TestPILResizeSAMVector(t *testing.T) {
	dir := testref.Dir(t, "vectors/sam-tiny")
	src := readU8(t, filepath.Join(dir, "image_uint8_HWC.npy"), 200, 300, 3)
	want := readU8(t, filepath.Join(dir, "resized_uint8_HWC.npy"), 171, 256, 3)
	got := ResizeLongestSide(RGB{H: 200, W: 300, Pix: src}, 256)
	if got.H != 171 || got.W != 256 {
		t.Fatalf("resized to %dx%d, want 171x256", got.H, got.W)
	}
	if d := diffU8(got.Pix, want, 256, 3); d != "" {
		t.Fatal(d)
	}
}

// TestPILResizeReferences compares with Pillow 9.4 outputs written by testdata/pil/gen_pil.py.
func TestPILResizeReferences(t *testing.T) {
	f, err := os.Open("testdata/pil/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var name, filter string
		var h, w, oh, ow, ch int
		if _, err := fmt.Sscan(sc.Text(), &name, &filter, &h, &w, &oh, &ow, &ch); err != nil {
			t.Fatalf("cases.txt %q: %v", sc.Text(), err)
		}
		t.Run(name+"_"+filter, func(t *testing.T) {
			flt := map[string]ResampleFilter{"bilinear": Bilinear, "bicubic": Bicubic}[filter]
			src := readU8(t, fmt.Sprintf("testdata/pil/src_%s.npy", name))
			want := readU8(t, fmt.Sprintf("testdata/pil/out_%s_%s.npy", name, filter), oh, ow, ch)
			got, err := PILResize(src, h, w, ch, oh, ow, flt)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffU8(got, want, ow, ch); d != "" {
				t.Fatal(d)
			}
		})
		n++
	}
	if n < 10 {
		t.Fatalf("only %d cases in cases.txt", n)
	}
}

func TestPILResizeErrors(t *testing.T) {
	for _, c := range []struct {
		name            string
		n, h, w, ch, oh int
		ow              int
		f               ResampleFilter
	}{
		{"short buffer", 5, 2, 2, 3, 4, 4, Bilinear},
		{"zero output", 12, 2, 2, 3, 0, 4, Bilinear},
		{"negative input", 12, -2, 2, 3, 4, 4, Bilinear},
		{"bad filter", 12, 2, 2, 3, 4, 4, ResampleFilter(7)},
	} {
		if _, err := PILResize(make([]uint8, c.n), c.h, c.w, c.ch, c.oh, c.ow, c.f); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestPILResizeIdentityAndConstant: a constant image stays constant under any resize
// (normalised weights), and an unchanged size is a copy.
func TestPILResizeIdentityAndConstant(t *testing.T) {
	src := make([]uint8, 7*5*3)
	for i := range src {
		src[i] = 200
	}
	for _, f := range []ResampleFilter{Bilinear, Bicubic} {
		for _, sz := range [][2]int{{3, 2}, {7, 5}, {20, 31}, {1, 1}} {
			got, err := PILResize(src, 7, 5, 3, sz[0], sz[1], f)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != 200 {
					t.Fatalf("%v to %v: byte %d is %d, want 200", f, sz, i, v)
				}
			}
		}
	}
}

// BenchmarkResizeLongestSide1080p resizes a 1920x1080 image to 1024x576 on one worker and
// on all (compare the two in the same run).
func BenchmarkResizeLongestSide1080p(b *testing.B) {
	im := RGB{H: 1080, W: 1920, Pix: make([]uint8, 1080*1920*3)}
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			defer par.SetWorkers(par.SetWorkers(w))
			b.SetBytes(int64(len(im.Pix)))
			for b.Loop() {
				ResizeLongestSide(im, 1024)
			}
		})
	}
}
