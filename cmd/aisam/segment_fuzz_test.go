package main

import (
	"testing"

	"github.com/aisam/aisam/aisam"
)

// FuzzSegmentFlags checks that --point and --box values never panic and that accepted
// values are in range.
func FuzzSegmentFlags(f *testing.F) {
	m := &aisam.Model{Cfg: aisam.Config{Classes: []string{"background", "RV", "LV"},
		AutoPrompt: aisam.AutoPromptConfig{NumClasses: 3}}}
	for _, s := range []string{"RV:1,2,1", "2:3.5,4,0", "LV:1,2,3,4", ":", "RV:1e400,2,1", "x:,,", "RV:NaN,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parsePointFlag(m, s); err == nil && (p.Class < 0 || p.Class > 2) {
			t.Fatalf("%q: class %d", s, p.Class)
		}
		if c, _, err := parseBoxFlag(m, s); err == nil && (c < 0 || c > 2) {
			t.Fatalf("%q: class %d", s, c)
		}
	})
}
