package dataset

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aisam/aisam/internal/fileio"
)

// ManifestName is the file, at the root of a converted dataset, that records where the
// data came from and how it was preprocessed.
const ManifestName = "aisam_dataset.json"

// Manifest describes a dataset written by `aisam data convert`.
type Manifest struct {
	Format        string         `json:"format"` // "synapse"
	Tool          string         `json:"tool"`
	Created       string         `json:"created"` // RFC 3339, UTC
	Classes       []string       `json:"classes,omitempty"`
	Preprocessing Preprocessing  `json:"preprocessing"`
	Cases         []ManifestCase `json:"cases"`
}

// Preprocessing records the transform from the source volumes to the written arrays.
type Preprocessing struct {
	Intensity Intensity `json:"intensity"`
	// Axes explains the array order, e.g. "[z, y, x] = NIfTI (k, j, i), no resampling".
	Axes string `json:"axes"`
	// SkipEmptyTrainSlices reports whether training slices without any label were left out.
	SkipEmptyTrainSlices bool   `json:"skip_empty_train_slices"`
	ImageDType           string `json:"image_dtype"`
	LabelDType           string `json:"label_dtype"`
	TestFormat           string `json:"test_format"` // "h5" (<case>.npy.h5) or "npz"; datasets image, label
}

// ManifestCase records one source case.
type ManifestCase struct {
	Name        string     `json:"name"`
	Split       string     `json:"split"` // "train" or "test"
	SourceImage string     `json:"source_image"`
	SourceLabel string     `json:"source_label,omitempty"`
	Shape       [3]int     `json:"shape"`   // [D, H, W] as written
	Spacing     [3]float64 `json:"spacing"` // (z, y, x) mm
	Slices      []string   `json:"slices,omitempty"`
}

// Case returns the record of a case by name.
func (m *Manifest) Case(name string) (ManifestCase, bool) {
	for _, c := range m.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return ManifestCase{}, false
}

// ReadManifest reads root/aisam_dataset.json.
func ReadManifest(root string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(root, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(root, ManifestName), err)
	}
	return &m, nil
}

// WriteManifest writes root/aisam_dataset.json atomically.
func WriteManifest(root string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return fileio.WriteFile(filepath.Join(root, ManifestName), append(b, '\n'))
}
