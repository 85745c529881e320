package vec

// Column kernels for normalising over channels in NCHW layout (LayerNorm2d): per-pixel
// statistics are kept in float64 slices and each channel plane is streamed through them.

func addToF64Go(acc []float64, x []float32) {
	for i, v := range x {
		acc[i] += float64(v)
	}
}

func addSqDevF64Go(acc []float64, x []float32, mean []float64) {
	for i, v := range x {
		d := float64(v) - mean[i]
		acc[i] += d * d
	}
}

func normColsGo(dst, x []float32, mean, rstd []float64, w, b float32) {
	wd, bd := float64(w), float64(b)
	for i, v := range x {
		dst[i] = float32((float64(v)-mean[i])*rstd[i]*wd + bd)
	}
}

// AddToF64 adds x into the float64 accumulators acc (len(acc) >= len(x)).
func AddToF64(acc []float64, x []float32) {
	acc = acc[:len(x)]
	n := len(x) &^ 7
	if useAVX2 && n > 0 {
		addToF64AVX2(acc[:n], x[:n])
	} else {
		n = 0
	}
	addToF64Go(acc[n:], x[n:])
}

// AddSqDevF64 adds (x[i]-mean[i])², computed in float64, into acc.
func AddSqDevF64(acc []float64, x []float32, mean []float64) {
	acc, mean = acc[:len(x)], mean[:len(x)]
	n := len(x) &^ 7
	if useAVX2 && n > 0 {
		addSqDevF64AVX2(acc[:n], x[:n], mean[:n])
	} else {
		n = 0
	}
	addSqDevF64Go(acc[n:], x[n:], mean[n:])
}

// NormCols sets dst[i] = (x[i]-mean[i])·rstd[i]·w + b, computed in float64 and rounded
// once to float32.
func NormCols(dst, x []float32, mean, rstd []float64, w, b float32) {
	dst, mean, rstd = dst[:len(x)], mean[:len(x)], rstd[:len(x)]
	n := len(x) &^ 7
	if useAVX2 && n > 0 {
		normColsAVX2(dst[:n], x[:n], mean[:n], rstd[:n], w, b)
	} else {
		n = 0
	}
	normColsGo(dst[n:], x[n:], mean[n:], rstd[n:], w, b)
}
