package gemm_test

import (
	"fmt"

	"github.com/aisam/aisam/gemm"
)

// A 2×3 by 3×2 product, and the same with B stored transposed (as nn.Linear keeps its
// weights: out×in).
func ExampleSgemm() {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	gemm.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)

	bt := []float32{1, 0, 1, 0, 1, 1} // the same B, stored 2×3
	gemm.Sgemm(false, true, 2, 2, 3, 1, a, 3, bt, 3, 0, c, 2)
	fmt.Println(c)
	// Output:
	// [4 5 10 11]
	// [4 5 10 11]
}
