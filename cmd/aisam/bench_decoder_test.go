package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchDecoderJSON(t *testing.T) {
	var out bytes.Buffer
	if err := runBenchDecoder(&out, []string{"--runs", "2", "--warmup", "0", "--threads", "1", "--json"}); err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	for _, k := range []string{"model_type", "threads", "runs", "seconds_median", "seconds_min", "gflops", "peak_rss_bytes"} {
		if _, ok := r[k]; !ok {
			t.Errorf("no %q in %s", k, out.String())
		}
	}
	if r["model_type"] != "vit_b" || r["runs"] != 2.0 || r["threads"] != 1.0 {
		t.Errorf("result %v", r)
	}
	if s, _ := r["seconds_median"].(float64); s <= 0 {
		t.Errorf("median %v", r["seconds_median"])
	}
}

func TestBenchFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--threads", "0"}, {"--runs", "0"}, {"--model-type", "vit_q"}, {"extra"},
	} {
		var out bytes.Buffer
		err := runBenchDecoder(&out, args)
		if err == nil {
			t.Errorf("decoder %v: accepted", args)
		}
		if err2 := runBenchEncoder(&out, args); err2 == nil {
			t.Errorf("encoder %v: accepted", args)
		} else if strings.Contains(err2.Error(), "panic") {
			t.Errorf("encoder %v: %v", args, err2)
		}
	}
}
