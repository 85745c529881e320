//go:build !amd64

package vec

const useAVX2 = false

func maxAVX2(x []float32) float32                                       { panic("unreachable") }
func expSubSumAVX2(dst, src []float32, m float32) float64               { panic("unreachable") }
func scaleAVX2(x []float32, s float32)                                  { panic("unreachable") }
func geluAVX2(dst, src []float32)                                       { panic("unreachable") }
func biasGeluAVX2(dst, src, bias []float32)                             { panic("unreachable") }
func sumAVX2(x []float32) float64                                       { panic("unreachable") }
func sumSqDevAVX2(x []float32, mhi, mlo float32) float64                { panic("unreachable") }
func blendAVX2(dst, a, b []float32, wa, wb float32)                     { panic("unreachable") }
func addToF64AVX2(acc []float64, x []float32)                           { panic("unreachable") }
func addSqDevF64AVX2(acc []float64, x []float32, mean []float64)        { panic("unreachable") }
func normColsAVX2(dst, x []float32, mean, rstd []float64, w, b float32) { panic("unreachable") }
func normAVX2(dst, x, w, b []float32, mhi, mlo, r float32)              { panic("unreachable") }

func setAVX2(on bool) bool { return false }
