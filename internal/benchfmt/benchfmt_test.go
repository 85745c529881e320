package benchfmt

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want Stats
	}{
		{"empty", nil, Stats{}},
		{"one", []time.Duration{5 * ms}, Stats{1, 5 * ms, 5 * ms, 5 * ms}},
		{"odd unsorted", []time.Duration{9 * ms, 1 * ms, 4 * ms}, Stats{3, 4 * ms, 1 * ms, 9 * ms}},
		{"even", []time.Duration{8 * ms, 2 * ms, 4 * ms, 6 * ms}, Stats{4, 5 * ms, 2 * ms, 8 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tc.in...)
			if got := Summarize(tc.in); got != tc.want {
				t.Fatalf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatal("Summarize reordered its argument")
				}
			}
		})
	}
	if s := (Stats{Median: 10, Min: 9, Max: 14}).Spread(); s != 0.5 {
		t.Fatalf("Spread = %v, want 0.5", s)
	}
}

func TestTime(t *testing.T) {
	calls := 0
	d, err := Time(2, 3, func() error { calls++; return nil })
	if err != nil || len(d) != 3 || calls != 5 {
		t.Fatalf("Time: %d durations, %d calls, err %v; want 3, 5, nil", len(d), calls, err)
	}
	boom := errors.New("boom")
	calls = 0
	_, err = Time(0, 3, func() error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 2 {
		t.Fatalf("Time did not stop at the error: calls %d err %v", calls, err)
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n")
	if v, ok := parseStatusKB(status, "VmHWM:"); !ok || v != 1234 {
		t.Fatalf("VmHWM = %d %v, want 1234", v, ok)
	}
	for _, bad := range []string{"VmHWM:\n", "VmHWM: x kB\n", "VmHWM: 12 MB\n", "VmRSS: 5 kB\n"} {
		if v, ok := parseStatusKB([]byte(bad), "VmHWM:"); ok {
			t.Errorf("parseStatusKB(%q) = %d, want not found", bad, v)
		}
	}
}

func TestPeakRSSGrows(t *testing.T) {
	before, err := PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	const n = 64 << 20
	buf := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		buf[i] = 1
	}
	after, err := PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	// The touched pages are resident at once, so the high-water mark covers them.
	if after < n || after < before {
		t.Fatalf("peak RSS %d after touching %d bytes (before %d)", after, n, before)
	}
	_ = buf[n-1]
}

func TestJSONLine(t *testing.T) {
	var b bytes.Buffer
	type row struct {
		M      int     `json:"m"`
		GFLOPS float64 `json:"gflops"`
		Impl   string  `json:"impl"`
	}
	if err := JSONLine(&b, row{4096, Round(101.23456, 2), "avx512"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `{"m":4096,"gflops":101.23,"impl":"avx512"}`+"\n"; got != want {
		t.Fatalf("JSONLine wrote %q, want %q", got, want)
	}
	if err := JSONLine(&b, func() {}); err == nil {
		t.Fatal("JSONLine accepted an unencodable value")
	}
}

func TestRate(t *testing.T) {
	if r := Rate(2e9, 500*time.Millisecond); r != 4e9 {
		t.Fatalf("Rate = %v, want 4e9", r)
	}
	if r := Rate(1, 0); r != 0 {
		t.Fatalf("Rate over zero time = %v, want 0", r)
	}
}

func TestCPUTime(t *testing.T) {
	t0 := CPUTime()
	x := 0.0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		for i := range 1000 {
			x += float64(i)
		}
	}
	if d := CPUTime() - t0; d <= 0 || x == 0 {
		t.Fatalf("CPU time did not advance over 50 ms of spinning: %v", d)
	}
}
