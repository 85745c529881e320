package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedUpToDate fails when kernels_amd64.s was edited by hand or the generator
// changed without `go generate ./gemm`.
func TestGeneratedUpToDate(t *testing.T) {
	have, err := os.ReadFile("../../kernels_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, generate()) {
		t.Fatal("gemm/kernels_amd64.s is stale: run go generate ./gemm")
	}
}
