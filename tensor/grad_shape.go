package tensor

import "fmt"

// Backward kernels for reductions and indexing.

// gradSplit splits shape around axis into outer × n × inner.
func gradSplit(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			outer *= d
		case i > axis:
			inner *= d
		}
	}
	return outer, shape[axis], inner
}

func gradAxis(op string, axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		panic(fmt.Sprintf("tensor.%s: axis out of range for rank %d", op, rank))
	}
	return axis
}

// MaxBackward routes g (the gradient of Max(a, axis, keepdim)) to the first maximum of
// each reduced line of a; every other element gets 0. NaN counts as a maximum, as in torch.
func MaxBackward(a, g *Tensor, axis int) *Tensor {
	axis = gradAxis("MaxBackward", axis, a.Rank())
	outer, n, inner := gradSplit(a.Shape(), axis)
	if g.Numel() != outer*inner {
		panic(fmt.Sprintf("tensor.MaxBackward: gradient %v for input %v over axis %d", g.Shape(), a.Shape(), axis))
	}
	out := New(a.Shape()...)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for in := 0; in < inner; in++ {
			best := 0
			bv := a.Data[base+in]
			for k := 1; k < n && bv == bv; k++ {
				v := a.Data[base+k*inner+in]
				if v > bv || v != v {
					best, bv = k, v
				}
			}
			out.Data[base+best*inner+in] = g.Data[o*inner+in]
		}
	}
	return out
}

// IndexSelectBackward scatters g (the gradient of IndexSelect(a, axis, idx)) back into a
// zero tensor of a's shape, adding where an index repeats.
func IndexSelectBackward(shape []int, g *Tensor, axis int, idx []int) *Tensor {
	axis = gradAxis("IndexSelectBackward", axis, len(shape))
	outer, n, inner := gradSplit(shape, axis)
	if g.Numel() != outer*len(idx)*inner {
		panic(fmt.Sprintf("tensor.IndexSelectBackward: gradient %v for %d indices into %v", g.Shape(), len(idx), shape))
	}
	out := New(shape...)
	m := len(idx)
	for o := 0; o < outer; o++ {
		for j, ix := range idx {
			if ix < 0 || ix >= n {
				panic(fmt.Sprintf("tensor.IndexSelectBackward: index %d out of range [0,%d)", ix, n))
			}
			dst := out.Data[(o*n+ix)*inner : (o*n+ix+1)*inner]
			src := g.Data[(o*m+j)*inner : (o*m+j+1)*inner]
			for i, v := range src {
				dst[i] += v
			}
		}
	}
	return out
}

// SoftmaxBackward returns y·(g - Σ g·y) over the last axis, given the softmax output y.
// Masked entries have y = 0 and so get no gradient.
func SoftmaxBackward(y, g *Tensor) *Tensor {
	checkSame("SoftmaxBackward", y, g)
	out := New(y.Shape()...)
	if y.Rank() == 0 || y.Numel() == 0 {
		return out
	}
	n := y.Dim(-1)
	rows := y.Numel() / n
	parRows(rows, n, func(r int) {
		yr, gr, dr := y.Data[r*n:(r+1)*n], g.Data[r*n:(r+1)*n], out.Data[r*n:(r+1)*n]
		var s float64
		for i, v := range yr {
			s += float64(v) * float64(gr[i])
		}
		sf := float32(s)
		for i, v := range yr {
			dr[i] = v * (gr[i] - sf)
		}
	})
	return out
}
