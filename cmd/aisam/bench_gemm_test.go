package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aisam/aisam/gemm"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in      string
		want    []gemmSize
		wantErr string
	}{
		{"4096x768x3072", []gemmSize{{4096, 768, 3072}}, ""},
		{" 12X256x2048 , 1x1x1,", []gemmSize{{12, 256, 2048}, {1, 1, 1}}, ""},
		{"", nil, "no sizes"},
		{"12x256", nil, "not MxKxN"},
		{"12x0x5", nil, "must be an integer"},
		{"12xax5", nil, "must be an integer"},
		{"65536x65536x65536", nil, "2 GiB"},
	}
	for _, tc := range tests {
		got, err := parseSizes(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseSizes(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("parseSizes(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSizes(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestParseThreadsAndImpls(t *testing.T) {
	if th, err := parseThreads("1, 2"); err != nil || len(th) != 2 || th[0] != 1 || th[1] != 2 {
		t.Fatalf("parseThreads = %v, %v", th, err)
	}
	for _, bad := range []string{"", "0", "x", "1,-2"} {
		if _, err := parseThreads(bad); err == nil {
			t.Errorf("parseThreads(%q) accepted", bad)
		}
	}
	im, err := parseImpls("go")
	if err != nil || len(im) != 1 || im[0].name != "go" {
		t.Fatalf("parseImpls(go) = %v, %v", im, err)
	}
	if im, err := parseImpls("default"); err != nil || im[0].name != gemm.Kernels()[0] {
		t.Fatalf("parseImpls(default) = %v, %v; want the fastest kernel first", im, err)
	}
	if _, err := parseImpls("go,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("parseImpls accepted an unknown implementation: %v", err)
	}
}

// TestBenchGemmJSON runs the benchmark on small sizes and checks every line is the
// documented JSON object with a plausible rate.
func TestBenchGemmJSON(t *testing.T) {
	im, err := parseImpls("all")
	if err != nil {
		t.Fatal(err)
	}
	defer func(f float64) { gemmRunFlop = f }(gemmRunFlop)
	gemmRunFlop = 1e5
	var out bytes.Buffer
	sizes := []gemmSize{{13, 17, 35}, {40, 64, 48}}
	if err := benchGemm(&out, sizes, []int{1, 2}, im, 2, true, false); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	lines := 0
	for sc.Scan() {
		lines++
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, key := range []string{"m", "k", "n", "threads", "gflops", "impl"} {
			if _, ok := r[key]; !ok {
				t.Fatalf("line %q lacks %q", sc.Text(), key)
			}
		}
		if g := r["gflops"].(float64); !(g > 0) {
			t.Fatalf("line %q: gflops %v", sc.Text(), g)
		}
	}
	if want := len(sizes) * 2 * len(im); lines != want {
		t.Fatalf("%d JSON lines, want %d:\n%s", lines, want, out.String())
	}
	out.Reset()
	if err := benchGemm(&out, sizes[:1], []int{1}, im, 1, false, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "13x17x35") || !strings.Contains(out.String(), "A·Bᵀ") {
		t.Fatalf("table output:\n%s", out.String())
	}
}

func TestSameProduct(t *testing.T) {
	if err := sameProduct([]float32{1, 2}, []float32{1, 2.000001}, 10); err != nil {
		t.Fatal(err)
	}
	if err := sameProduct([]float32{1, 2}, []float32{1, 2.5}, 10); err == nil {
		t.Fatal("a wrong product was accepted")
	}
}
