//go:build !amd64 || purego

package tensor

const useRelPosAVX2 = false

func addRelPosMaxAVX2(row, rh *float32, nh int, rw *float32, kw int) float32 {
	panic("tensor: addRelPosMaxAVX2 without AVX2")
}
