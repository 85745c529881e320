package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout names recognised by DetectLayout.
const (
	LayoutSynapse    = "synapse"     // TransUNet Synapse folders
	LayoutACDC       = "acdc"        // MT-UNet ACDC folders
	LayoutNIfTIPairs = "nifti-pairs" // image/label NIfTI volumes with a pairing convention
	LayoutNIfTI      = "nifti"       // NIfTI volumes without a pairing convention
	LayoutPNG        = "png"         // images/ + masks/
	LayoutNPY        = "npy"         // loose .npy / .npz arrays
	LayoutFile       = "file"        // a single file
	LayoutFolders    = "folders"     // no layout of its own, but subfolders with one
)

// ErrNoLayout is wrapped by DetectLayout's error for a folder it does not recognise.
var ErrNoLayout = errors.New("no known layout")

// maxFolderDepth is how many levels of plain folders DetectLayout looks through for
// subfolders that hold data (a collection of collections, like shared/fixtures).
const maxFolderDepth = 2

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// DetectLayout recognises what a path holds. A folder that has no layout of its own
// but whose subfolders have one is LayoutFolders.
func DetectLayout(path string) (string, error) { return detectLayout(path, maxFolderDepth) }

func detectLayout(path string, depth int) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return LayoutFile, nil
	}
	switch {
	case exists(filepath.Join(path, "lists_Synapse")) || exists(filepath.Join(path, "train_npz")) || exists(filepath.Join(path, "test_vol_h5")):
		return LayoutSynapse, nil
	case exists(filepath.Join(path, "lists_ACDC")):
		return LayoutACDC, nil
	case exists(filepath.Join(path, "images")):
		for _, m := range maskDirs {
			if exists(filepath.Join(path, m)) {
				if _, err := OpenPNG(path); err == nil {
					return LayoutPNG, nil
				}
			}
		}
	}
	if _, err := FindNIfTIPairs(path); err == nil {
		return LayoutNIfTIPairs, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	var nii, arr bool
	for _, e := range ents {
		n := strings.ToLower(e.Name())
		if _, ok := niftiStem(n); ok {
			nii = true
		}
		if strings.HasSuffix(n, ".npy") || strings.HasSuffix(n, ".npz") {
			arr = true
		}
	}
	switch {
	case nii:
		return LayoutNIfTI, nil
	case arr:
		return LayoutNPY, nil
	}
	if depth > 0 && len(dataSubfolders(path, ents, depth-1)) > 0 {
		return LayoutFolders, nil
	}
	return "", fmt.Errorf("dataset: %s: %w (Synapse, ACDC, NIfTI, PNG pairs, npy, or folders of them)", path, ErrNoLayout)
}

// dataSubfolders returns the names of the subfolders among ents (hidden ones skipped)
// that have a layout, looking depth levels of plain folders further down.
func dataSubfolders(path string, ents []os.DirEntry, depth int) []string {
	var out []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := detectLayout(filepath.Join(path, e.Name()), depth); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// OpenOptions are the choices Open passes to the readers.
type OpenOptions struct {
	ACDCSplit string    // slice split of ACDC: "train" (default) or "valid"
	Intensity Intensity // NIfTI pairs: window or min-max
	Classes   []string  // NIfTI pairs / PNG: class names
}

// Open opens a dataset folder of any trainable layout.
func Open(path string, opt OpenOptions) (Dataset, error) {
	layout, err := DetectLayout(path)
	if err != nil {
		return nil, err
	}
	switch layout {
	case LayoutSynapse:
		return OpenSynapse(path)
	case LayoutACDC:
		return OpenACDC(path, opt.ACDCSplit)
	case LayoutPNG:
		d, err := OpenPNG(path)
		if err == nil && opt.Classes != nil {
			d.Labels = opt.Classes
		}
		return d, err
	case LayoutNIfTIPairs:
		pairs, err := FindNIfTIPairs(path)
		if err != nil {
			return nil, err
		}
		return OpenNIfTI(pairs, opt.Intensity, opt.Classes)
	}
	if layout == LayoutFolders {
		return nil, fmt.Errorf("dataset: %s holds datasets in its subfolders, not one dataset: open a subfolder: %w", path, errors.ErrUnsupported)
	}
	return nil, fmt.Errorf("dataset: %s holds %s files without image/label pairing: %w", path, layout, errors.ErrUnsupported)
}
