package dataset

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// readList reads a list file: one name per line, blank lines and surrounding space
// (including the CR of CRLF files) ignored.
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, "/\\") || s == ".." || s == "." {
			return nil, fmt.Errorf("%s: entry %q is not a plain file name", path, s)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
