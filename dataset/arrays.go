package dataset

import (
	"fmt"
	"math"
	"slices"

	"github.com/aisam/aisam/hdf5"
	"github.com/aisam/aisam/npy"
)

// npzPair reads an image and a label array from an .npz file, by key.
func npzPair(path, imageKey, labelKey string) (img []float32, lab []int32, shape []int, err error) {
	z, err := npy.OpenNPZ(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer z.Close()
	ia, err := z.Get(imageKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	la, err := z.Get(labelKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return arraysPair(path, ia, la)
}

func arraysPair(path string, ia, la *npy.Array) ([]float32, []int32, []int, error) {
	if !slices.Equal(ia.Shape, la.Shape) {
		return nil, nil, nil, fmt.Errorf("%s: image shape %v differs from label shape %v", path, ia.Shape, la.Shape)
	}
	if len(ia.Shape) != 2 && len(ia.Shape) != 3 {
		return nil, nil, nil, fmt.Errorf("%s: image has shape %v, want [H, W] or [D, H, W]", path, ia.Shape)
	}
	for _, d := range ia.Shape {
		if d <= 0 {
			return nil, nil, nil, fmt.Errorf("%s: empty image of shape %v", path, ia.Shape)
		}
	}
	if ia.DType.Size() == 0 || ia.DType == npy.Bool {
		return nil, nil, nil, fmt.Errorf("%s: image dtype %s is not numeric", path, ia.DType)
	}
	img := ia.Float32()
	var lab []int32
	var err error
	if la.DType.IsFloat() {
		lab, err = toLabels(la.Float64(), path)
	} else {
		var v []int64
		v, err = la.Int64()
		if err == nil {
			lab = make([]int32, len(v))
			for i, x := range v {
				if x < math.MinInt32 || x > math.MaxInt32 {
					return nil, nil, nil, fmt.Errorf("%s: label value %d out of range", path, x)
				}
				lab[i] = int32(x)
			}
		}
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: label: %w", path, err)
	}
	if len(img) != len(lab) {
		return nil, nil, nil, fmt.Errorf("%s: image has %d elements, label %d", path, len(img), len(lab))
	}
	return img, lab, slices.Clone(ia.Shape), nil
}

// h5Pair reads the image and label datasets of a TransUNet test volume.
func h5Pair(path string) ([]float32, []int32, []int, error) {
	f, err := hdf5.OpenFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	di, err := f.Dataset("image")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	dl, err := f.Dataset("label")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if !slices.Equal(di.Shape, dl.Shape) {
		return nil, nil, nil, fmt.Errorf("%s: image shape %v differs from label shape %v", path, di.Shape, dl.Shape)
	}
	if len(di.Shape) != 3 {
		return nil, nil, nil, fmt.Errorf("%s: image has shape %v, want [D, H, W]", path, di.Shape)
	}
	img, err := di.ReadFloat32()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: image: %w", path, err)
	}
	// Labels are float32 in the published files: read them at that width (a float64
	// copy of a 512x512x198 volume is 400 MB); wider integers go through float64.
	var lab []int32
	if t := dl.Type; t.Size <= 2 || t.Class == hdf5.Float && t.Size == 4 {
		lv, rerr := dl.ReadFloat32()
		if rerr == nil {
			lab, err = toLabels(lv, path)
		} else {
			err = fmt.Errorf("%s: label: %w", path, rerr)
		}
	} else {
		lv, rerr := dl.ReadFloat64()
		if rerr == nil {
			lab, err = toLabels(lv, path)
		} else {
			err = fmt.Errorf("%s: label: %w", path, rerr)
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return img, lab, slices.Clone(di.Shape), nil
}
