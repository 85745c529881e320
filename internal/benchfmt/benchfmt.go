// Package benchfmt is the shared plumbing of the `aisam bench ...` commands: timing a
// function over several runs, summarising the runs (median, min), reading the process's
// peak resident set size, and writing results as aligned text or JSON lines.
package benchfmt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stats summarises repeated timings of one measurement. The median is the headline
// figure because the machine is shared and a few runs are always disturbed; the minimum
// shows what a quiet run achieves.
type Stats struct {
	Runs   int
	Median time.Duration
	Min    time.Duration
	Max    time.Duration
}

// Summarize returns the median, minimum and maximum of d (the mean of the two middle
// values when len(d) is even). It returns the zero Stats for no runs.
func Summarize(d []time.Duration) Stats {
	if len(d) == 0 {
		return Stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stats{Runs: n, Median: med, Min: s[0], Max: s[n-1]}
}

// Spread is (max-min)/median: a quick honesty check on how noisy the runs were.
func (s Stats) Spread() float64 {
	if s.Median <= 0 {
		return 0
	}
	return float64(s.Max-s.Min) / float64(s.Median)
}

// Time runs fn warmup times untimed, then runs times timed, and returns the timings.
// It stops at the first error.
func Time(warmup, runs int, fn func() error) ([]time.Duration, error) {
	for range warmup {
		if err := fn(); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, 0, runs)
	for range runs {
		t0 := time.Now()
		if err := fn(); err != nil {
			return out, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// Rate converts work units (FLOP, images) done per run into units per second for a
// duration, e.g. Rate(2*m*n*k, st.Median)/1e9 is GFLOP/s.
func Rate(work float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return work / d.Seconds()
}

// PeakRSS returns the process's peak resident set size in bytes: VmHWM from
// /proc/self/status (which ResetPeakRSS can reset), or getrusage's ru_maxrss where that
// file is missing.
func PeakRSS() (int64, error) {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if v, ok := parseStatusKB(b, "VmHWM:"); ok {
			return v * 1024, nil
		}
	}
	return maxRSS()
}

// ResetPeakRSS resets the kernel's VmHWM to the current RSS (Linux: "5" to
// /proc/self/clear_refs), so that PeakRSS afterwards measures one stage only.
func ResetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("benchfmt: reset peak RSS: %w", err)
	}
	return nil
}

// parseStatusKB finds a "Key:   123 kB" line of /proc/self/status.
func parseStatusKB(b []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || v < 0 {
			return 0, false
		}
		if len(f) > 1 && !strings.EqualFold(f[1], "kB") {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// MiB formats a byte count as mebibytes with one decimal.
func MiB(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }

// JSONLine writes v as one compact JSON object followed by a newline, the format of
// every `aisam bench ... --json` (one result per line, so partial output stays usable).
func JSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("benchfmt: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Round keeps d decimals of x, so JSON output carries no false precision.
func Round(x float64, d int) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', d, 64), 64)
	if err != nil {
		return x
	}
	return v
}
