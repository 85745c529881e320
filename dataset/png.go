package dataset

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // images may be JPEG
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aisam/aisam/internal/fileio"
)

// PNG is a folder of 2-D image/mask pairs:
//
//	<root>/images/<stem>.png|.jpg   the image (grey or colour; colour is converted to luma)
//	<root>/masks/<stem>.png         the mask (also labels/, gt/ or annotations/)
//
// Image values are scaled to [0, 1]. A mask is class indices: a paletted PNG gives its
// palette index, a grey PNG its value, except that a mask whose values are only 0 and
// 255 is binary (255 → 1). Each pair is also a one-slice case.
type PNG struct {
	Root   string
	Names  []string
	Images []string
	Masks  []string
	Labels []string
}

var maskDirs = []string{"masks", "labels", "gt", "annotations", "mask", "label"}

// OpenPNG pairs the files of root/images with those of the first mask folder found.
func OpenPNG(root string) (*PNG, error) {
	imgs, err := imageFiles(filepath.Join(root, "images"), ".png", ".jpg", ".jpeg")
	if err != nil {
		return nil, err
	}
	for _, md := range maskDirs {
		masks, err := imageFiles(filepath.Join(root, md), ".png")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d := &PNG{Root: root, Labels: []string{"background", "foreground"}}
		var stems []string
		for stem := range imgs {
			if _, ok := masks[stem]; ok {
				stems = append(stems, stem)
			}
		}
		sort.Strings(stems)
		for _, s := range stems {
			d.Names = append(d.Names, s)
			d.Images = append(d.Images, imgs[s])
			d.Masks = append(d.Masks, masks[s])
		}
		if len(d.Names) == 0 {
			return nil, fmt.Errorf("dataset: no image in %s has a mask of the same name in %s", filepath.Join(root, "images"), filepath.Join(root, md))
		}
		return d, nil
	}
	return nil, fmt.Errorf("dataset: %s has images/ but no masks/ (or labels/, gt/, annotations/) folder", root)
}

func imageFiles(dir string, exts ...string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") { // hidden: ._ resource forks, editor files
			continue
		}
		ext := strings.ToLower(filepath.Ext(e.Name()))
		for _, x := range exts {
			if ext == x {
				out[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] = filepath.Join(dir, e.Name())
			}
		}
	}
	return out, nil
}

// Layout returns "png".
func (d *PNG) Layout() string { return "png" }

// Classes returns the class names: background and foreground unless set in Labels
// (or by Open's OpenOptions.Classes); PNG masks do not name their classes.
func (d *PNG) Classes() []string { return d.Labels }

// NumSlices returns the number of pairs.
func (d *PNG) NumSlices() int { return len(d.Names) }

// Slice reads pair i.
func (d *PNG) Slice(i int) (*Slice, error) {
	if err := checkIndex(i, len(d.Names), "slice"); err != nil {
		return nil, err
	}
	img, h, w, err := ReadImageGray(d.Images[i])
	if err != nil {
		return nil, err
	}
	lab, mh, mw, err := ReadMask(d.Masks[i])
	if err != nil {
		return nil, err
	}
	if mh != h || mw != w {
		return nil, fmt.Errorf("dataset: %s is %dx%d but its mask %s is %dx%d", d.Images[i], h, w, d.Masks[i], mh, mw)
	}
	return &Slice{Name: d.Names[i], H: h, W: w, Image: img, Label: lab}, nil
}

// NumCases returns the number of pairs (each a one-slice case).
func (d *PNG) NumCases() int { return len(d.Names) }

// Case reads pair i as a one-slice volume.
func (d *PNG) Case(i int) (*Volume, error) {
	s, err := d.Slice(i)
	if err != nil {
		return nil, err
	}
	return &Volume{Name: s.Name, D: 1, H: s.H, W: s.W, Image: s.Image, Label: s.Label}, nil
}

// maxPixels bounds the size of an image file's declared raster, checked before decoding
// so that a hostile header cannot make the decoder allocate gigabytes.
const maxPixels = 1 << 28

func decodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("%s: image size %dx%d out of range", path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	m, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := m.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > maxPixels {
		return nil, fmt.Errorf("%s: bad image size %dx%d", path, b.Dx(), b.Dy())
	}
	return m, nil
}

// ReadImageGray decodes a PNG or JPEG as grey values in [0, 1] (colour → ITU-R 601 luma
// at 16 bits).
func ReadImageGray(path string) ([]float32, int, int, error) {
	m, err := decodeFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	b := m.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, h*w)
	for y := range h {
		for x := range w {
			g := color.Gray16Model.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
			out[y*w+x] = float32(g.Y) / 65535
		}
	}
	return out, h, w, nil
}

// ReadMask decodes a label PNG: palette indices, or grey values (0/255 masks → 0/1).
// Colour masks whose channels differ are refused: their colours are not class indices.
func ReadMask(path string) ([]int32, int, int, error) {
	m, err := decodeFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	b := m.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]int32, h*w)
	if p, ok := m.(*image.Paletted); ok {
		for y := range h {
			for x := range w {
				out[y*w+x] = int32(p.ColorIndexAt(b.Min.X+x, b.Min.Y+y))
			}
		}
		return out, h, w, nil
	}
	binary := true
	for y := range h {
		for x := range w {
			c := color.NRGBA64Model.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			if c.R != c.G || c.G != c.B {
				return nil, 0, 0, fmt.Errorf("%s: colour mask (pixel (%d, %d) is %v); masks must be grey or paletted class indices", path, x, y, c)
			}
			v := int32(c.R >> 8)
			if isGray16(m) {
				v = int32(c.R)
			}
			out[y*w+x] = v
			if v != 0 && v != 255 {
				binary = false
			}
		}
	}
	if binary {
		for i, v := range out {
			if v == 255 {
				out[i] = 1
			}
		}
	}
	return out, h, w, nil
}

func isGray16(m image.Image) bool {
	_, ok := m.(*image.Gray16)
	return ok
}

// WriteMaskPNG writes a label map as an 8-bit grey PNG atomically (values 0..255).
func WriteMaskPNG(path string, lab []int32, h, w int) error {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range lab {
		if v < 0 || v > 255 {
			return fmt.Errorf("dataset: label %d does not fit an 8-bit mask", v)
		}
		g.Pix[i] = uint8(v)
	}
	return fileio.WriteAtomic(path, func(w io.Writer) error { return png.Encode(w, g) })
}
