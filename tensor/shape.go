package tensor

import (
	"fmt"

	"github.com/aisam/aisam/internal/par"
)

// stridedCopy copies src, read with strides ss over shape, into dst written with strides
// sd. Both stride sets describe the same iteration space.
func stridedCopy(dst []float32, sd []int, src []float32, ss []int, shape []int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 {
		return
	}
	sh, st := coalesce(shape, sd, ss)
	last := len(sh) - 1
	inner := sh[last]
	id, is := st[0][last], st[1][last]
	if len(sh) >= 2 && is != 1 && id == 1 {
		transposeCopy(dst, src, sh, st)
		return
	}
	it := rowIter{shape: sh[:last], strides: [][]int{st[0][:last], st[1][:last]}}
	rows := n / inner
	par.For(rows, max(1, elemGrain/inner), func(lo, hi int) {
		offs := make([]int, 2)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			d, s := offs[0], offs[1]
			if id == 1 && is == 1 {
				copy(dst[d:d+inner], src[s:s+inner])
				continue
			}
			for i := range inner {
				dst[d+i*id] = src[s+i*is]
			}
		}
	})
}

// transposeTile is the side of the square tiles a transposing copy moves at a time, so
// that both the reads and the writes stay in cache.
const transposeTile = 64

// transposeCopy handles the case where the destination's innermost axis is contiguous but
// the source's is not: it tiles the two innermost axes of the destination together with the
// axis along which the source is contiguous.
func transposeCopy(dst, src []float32, sh []int, st [][]int) {
	// Find the axis p along which src is contiguous (stride 1); if none, fall back.
	last := len(sh) - 1
	p := -1
	for i := 0; i < last; i++ {
		if st[1][i] == 1 {
			p = i
		}
	}
	if p < 0 {
		genericCopy(dst, src, sh, st)
		return
	}
	// Iterate over all axes except p and last in the outer loop.
	var oshape []int
	var od, os []int
	for i := 0; i < last; i++ {
		if i != p {
			oshape = append(oshape, sh[i])
			od = append(od, st[0][i])
			os = append(os, st[1][i])
		}
	}
	it := rowIter{shape: oshape, strides: [][]int{od, os}}
	outer := 1
	for _, d := range oshape {
		outer *= d
	}
	P, L := sh[p], sh[last]
	dp, sl := st[0][p], st[1][last] // dst stride along p, src stride along last
	tilesP := (P + transposeTile - 1) / transposeTile
	tilesL := (L + transposeTile - 1) / transposeTile
	par.For(outer*tilesP, 1, func(lo, hi int) {
		offs := make([]int, 2)
		for t := lo; t < hi; t++ {
			it.offsets(t/tilesP, offs)
			p0 := (t % tilesP) * transposeTile
			p1 := min(p0+transposeTile, P)
			for tl := range tilesL {
				l0 := tl * transposeTile
				l1 := min(l0+transposeTile, L)
				transposeTileCopy(dst[offs[0]:], dp, src[offs[1]:], sl, p0, p1, l0, l1)
			}
		}
	})
}

// transposeTileCopy copies dst[i·dp + j] = src[i + j·sl] for i in [p0,p1), j in [l0,l1).
// Eight source rows are read side by side so that each destination row gets eight
// consecutive values per pass.
func transposeTileCopy(dst []float32, dp int, src []float32, sl int, p0, p1, l0, l1 int) {
	n := p1 - p0
	j := l0
	for ; j+8 <= l1; j += 8 {
		b := j*sl + p0
		r0 := src[b : b+n]
		r1 := src[b+sl : b+sl+n]
		r2 := src[b+2*sl : b+2*sl+n]
		r3 := src[b+3*sl : b+3*sl+n]
		r4 := src[b+4*sl : b+4*sl+n]
		r5 := src[b+5*sl : b+5*sl+n]
		r6 := src[b+6*sl : b+6*sl+n]
		r7 := src[b+7*sl : b+7*sl+n]
		for i := range r0 {
			o := (p0+i)*dp + j
			d := dst[o : o+8 : o+8]
			d[0], d[1], d[2], d[3] = r0[i], r1[i], r2[i], r3[i]
			d[4], d[5], d[6], d[7] = r4[i], r5[i], r6[i], r7[i]
		}
	}
	for ; j < l1; j++ {
		r := src[j*sl+p0 : j*sl+p0+n]
		for i, v := range r {
			dst[(p0+i)*dp+j] = v
		}
	}
}

// genericCopy is the untiled fallback of stridedCopy.
func genericCopy(dst, src []float32, sh []int, st [][]int) {
	last := len(sh) - 1
	inner := sh[last]
	id, is := st[0][last], st[1][last]
	it := rowIter{shape: sh[:last], strides: [][]int{st[0][:last], st[1][:last]}}
	n := 1
	for _, d := range sh {
		n *= d
	}
	par.For(n/inner, max(1, elemGrain/inner), func(lo, hi int) {
		offs := make([]int, 2)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			for i := range inner {
				dst[offs[0]+i*id] = src[offs[1]+i*is]
			}
		}
	})
}

func permute(a *Tensor, axes []int) *Tensor {
	r := len(a.shape)
	if len(axes) != r {
		panic(fmt.Sprintf("tensor.Permute: axes %v for shape %v", axes, a.shape))
	}
	seen := make([]bool, r)
	shape := make([]int, r)
	as := Strides(a.shape)
	ss := make([]int, r)
	for i, ax := range axes {
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r || seen[ax] {
			panic(fmt.Sprintf("tensor.Permute: axes %v are not a permutation of rank %d", axes, r))
		}
		seen[ax] = true
		shape[i] = a.shape[ax]
		ss[i] = as[ax]
	}
	out := New(shape...)
	stridedCopy(out.Data, Strides(shape), a.Data, ss, shape)
	return out
}

func transpose(a *Tensor, i, j int) *Tensor {
	r := len(a.shape)
	i, j = normAxis("Transpose", i, r), normAxis("Transpose", j, r)
	axes := make([]int, r)
	for k := range axes {
		axes[k] = k
	}
	axes[i], axes[j] = j, i
	return permute(a, axes)
}

func slice(a *Tensor, axis, start, end int) *Tensor {
	axis = normAxis("Slice", axis, len(a.shape))
	n := a.shape[axis]
	if start < 0 || end > n || start > end {
		panic(fmt.Sprintf("tensor.Slice: [%d:%d] out of range on axis %d of %v", start, end, axis, a.shape))
	}
	outer, _, inner := split3(a.shape, axis)
	shape := append([]int(nil), a.shape...)
	shape[axis] = end - start
	out := New(shape...)
	w := (end - start) * inner
	par.For(outer, max(1, elemGrain/max(w, 1)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			copy(out.Data[o*w:(o+1)*w], a.Data[o*n*inner+start*inner:])
		}
	})
	return out
}

func concat(axis int, ts []*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	r := len(ts[0].shape)
	axis = normAxis("Concat", axis, r)
	shape := append([]int(nil), ts[0].shape...)
	shape[axis] = 0
	for _, t := range ts {
		ok := len(t.shape) == r
		for i := 0; ok && i < r; i++ {
			if i != axis && t.shape[i] != ts[0].shape[i] {
				ok = false
			}
		}
		if !ok {
			panic(fmt.Sprintf("tensor.Concat: shape %v does not match %v off axis %d", t.shape, ts[0].shape, axis))
		}
		shape[axis] += t.shape[axis]
	}
	out := New(shape...)
	outer, total, inner := split3(shape, axis)
	par.For(outer, max(1, elemGrain/max(1, total*inner)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			d := out.Data[o*total*inner:]
			for _, t := range ts {
				w := t.shape[axis] * inner
				copy(d[:w], t.Data[o*w:(o+1)*w])
				d = d[w:]
			}
		}
	})
	return out
}

func stack(axis int, ts []*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Stack: no tensors")
	}
	r := len(ts[0].shape)
	axis = normAxis("Stack", axis, r+1)
	ex := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !SameShape(t, ts[0]) {
			panic(fmt.Sprintf("tensor.Stack: shape %v differs from %v", t.shape, ts[0].shape))
		}
		s := append(append(append([]int(nil), t.shape[:axis]...), 1), t.shape[axis:]...)
		ex[i] = &Tensor{Data: t.Data, shape: s}
	}
	return concat(axis, ex)
}

func pad(a *Tensor, before, after []int, value float32) *Tensor {
	r := len(a.shape)
	if len(before) != r || len(after) != r {
		panic(fmt.Sprintf("tensor.Pad: %d/%d pad widths for shape %v", len(before), len(after), a.shape))
	}
	shape := make([]int, r)
	for i := range shape {
		if before[i] < 0 || after[i] < 0 {
			panic(fmt.Sprintf("tensor.Pad: negative pad %v/%v", before, after))
		}
		shape[i] = a.shape[i] + before[i] + after[i]
	}
	out := New(shape...)
	if value != 0 {
		for i := range out.Data {
			out.Data[i] = value
		}
	}
	os := Strides(shape)
	off := 0
	for i := range shape {
		off += before[i] * os[i]
	}
	if len(a.Data) > 0 {
		stridedCopy(out.Data[off:], os, a.Data, Strides(a.shape), a.shape)
	}
	return out
}

func indexSelect(a *Tensor, axis int, idx []int) *Tensor {
	axis = normAxis("IndexSelect", axis, len(a.shape))
	outer, n, inner := split3(a.shape, axis)
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("tensor.IndexSelect: index %d out of range on axis %d of %v", i, axis, a.shape))
		}
	}
	shape := append([]int(nil), a.shape...)
	shape[axis] = len(idx)
	out := New(shape...)
	k := len(idx)
	par.For(outer, max(1, elemGrain/max(1, k*inner)), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j, i := range idx {
				copy(out.Data[(o*k+j)*inner:(o*k+j+1)*inner], a.Data[(o*n+i)*inner:])
			}
		}
	})
	return out
}
