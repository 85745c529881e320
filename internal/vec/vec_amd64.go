package vec

import "golang.org/x/sys/cpu"

//go:generate go run gen_amd64.go

// useAVX2 selects the assembly kernels; AISAM_NOASM-style switches are not needed because
// the tests compare both paths directly.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The assembly kernels process len(x) (a multiple of 8, > 0) elements.

//go:noescape
func maxAVX2(x []float32) float32

//go:noescape
func expSubSumAVX2(dst, src []float32, m float32) float64

//go:noescape
func scaleAVX2(x []float32, s float32)

//go:noescape
func geluAVX2(dst, src []float32)

//go:noescape
func biasGeluAVX2(dst, src, bias []float32)

//go:noescape
func sumAVX2(x []float32) float64

//go:noescape
func sumSqDevAVX2(x []float32, mhi, mlo float32) float64

//go:noescape
func blendAVX2(dst, a, b []float32, wa, wb float32)

//go:noescape
func addToF64AVX2(acc []float64, x []float32)

//go:noescape
func addSqDevF64AVX2(acc []float64, x []float32, mean []float64)

//go:noescape
func normColsAVX2(dst, x []float32, mean, rstd []float64, w, b float32)

//go:noescape
func normAVX2(dst, x, w, b []float32, mhi, mlo, r float32)

// setAVX2 switches the assembly path (tests only); it reports whether it had an effect.
func setAVX2(on bool) bool {
	if on && !(cpu.X86.HasAVX2 && cpu.X86.HasFMA) {
		return false
	}
	useAVX2 = on
	return true
}
