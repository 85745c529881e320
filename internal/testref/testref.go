// Package testref locates the project's shared reference material (../shared beside the
// repository: official vectors, fixtures, data) for tests. CI lays shared/ beside the
// clone, so a missing folder is a test failure, not a skip.
package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of shared/<rel>, failing the test if it cannot be found.
// AISAM_SHARED overrides the location of shared/.
func Dir(t testing.TB, rel string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatalf("testref: %v", err)
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testref: %v", err)
	}
	return p
}

// Root finds shared/: $AISAM_SHARED, else the first ancestor of the working directory
// that has a sibling or child named shared with a vectors folder.
func Root() (string, error) {
	if d := os.Getenv("AISAM_SHARED"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared"), filepath.Join(filepath.Dir(d), "shared")} {
			if st, err := os.Stat(filepath.Join(c, "vectors")); err == nil && st.IsDir() {
				return c, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", os.ErrNotExist
		}
	}
}
