package tensor

import (
	"fmt"

	"github.com/aisam/aisam/internal/par"
	"github.com/aisam/aisam/internal/vec"
)

// elemGrain is the smallest number of elements a parallel elementwise chunk gets: below
// it, goroutine start-up costs more than the work.
const elemGrain = 1 << 15

// broadcastShape returns the NumPy broadcast of shapes a and b.
func broadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			panic(fmt.Sprintf("tensor.%s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// bstrides returns the strides of a tensor of shape s viewed as broadcast to out (0 on
// broadcast axes). It panics if s does not broadcast to out.
func bstrides(op string, s, out []int) []int {
	if len(s) > len(out) {
		panic(fmt.Sprintf("tensor.%s: shape %v does not broadcast to %v", op, s, out))
	}
	st := make([]int, len(out))
	stride := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j < 0 {
			continue
		}
		switch {
		case s[j] == out[i]:
			if s[j] != 1 {
				st[i] = stride
			}
		case s[j] == 1:
		default:
			panic(fmt.Sprintf("tensor.%s: shape %v does not broadcast to %v", op, s, out))
		}
		stride *= s[j]
	}
	return st
}

// coalesce merges adjacent axes that every stride set walks contiguously, and drops
// size-1 axes, so that inner loops run as long as possible. It returns the merged shape
// and strides (at least one axis).
func coalesce(shape []int, strides ...[]int) ([]int, [][]int) {
	var sh []int
	st := make([][]int, len(strides))
	for i, d := range shape {
		if d == 1 {
			continue
		}
		merge := false
		if k := len(sh) - 1; k >= 0 {
			merge = true
			for j, s := range strides {
				if st[j][k] != s[i]*d {
					merge = false
					break
				}
			}
		}
		if merge {
			k := len(sh) - 1
			sh[k] *= d
			for j, s := range strides {
				st[j][k] = s[i]
			}
			continue
		}
		sh = append(sh, d)
		for j, s := range strides {
			st[j] = append(st[j], s[i])
		}
	}
	if len(sh) == 0 {
		sh = []int{1}
		for j := range st {
			st[j] = []int{0}
		}
	}
	return sh, st
}

// rowIter walks the outer (all but last) axes of a coalesced iteration space and yields
// each input's offset of the start of a row.
type rowIter struct {
	shape   []int   // outer shape
	strides [][]int // per input, outer strides
}

// offsets writes the offsets of row r for every input into offs.
func (it *rowIter) offsets(r int, offs []int) {
	for j := range offs {
		offs[j] = 0
	}
	for i := len(it.shape) - 1; i >= 0; i-- {
		d := it.shape[i]
		x := r % d
		r /= d
		for j := range offs {
			offs[j] += x * it.strides[j][i]
		}
	}
}

// binOp codes the elementwise binary operations.
type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div"}

// binKernel computes dst[i] = x[i*sx] op y[i*sy] for i < len(dst); sx, sy are 0 or 1.
func binKernel(op binOp, dst, x []float32, sx int, y []float32, sy int) {
	n := len(dst)
	switch {
	case sx == 1 && sy == 1:
		x, y = x[:n], y[:n]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = x[i] + y[i]
			}
		case opSub:
			for i := range dst {
				dst[i] = x[i] - y[i]
			}
		case opMul:
			for i := range dst {
				dst[i] = x[i] * y[i]
			}
		case opDiv:
			for i := range dst {
				dst[i] = x[i] / y[i]
			}
		}
	case sx == 1 && sy == 0:
		x = x[:n]
		v := y[0]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = x[i] + v
			}
		case opSub:
			for i := range dst {
				dst[i] = x[i] - v
			}
		case opMul:
			for i := range dst {
				dst[i] = x[i] * v
			}
		case opDiv:
			for i := range dst {
				dst[i] = x[i] / v
			}
		}
	case sx == 0 && sy == 1:
		y = y[:n]
		v := x[0]
		switch op {
		case opAdd:
			for i := range dst {
				dst[i] = v + y[i]
			}
		case opSub:
			for i := range dst {
				dst[i] = v - y[i]
			}
		case opMul:
			for i := range dst {
				dst[i] = v * y[i]
			}
		case opDiv:
			for i := range dst {
				dst[i] = v / y[i]
			}
		}
	default:
		var v float32
		switch op {
		case opAdd:
			v = x[0] + y[0]
		case opSub:
			v = x[0] - y[0]
		case opMul:
			v = x[0] * y[0]
		case opDiv:
			v = x[0] / y[0]
		}
		for i := range dst {
			dst[i] = v
		}
	}
}

// binaryInto computes dst = a op b where a and b broadcast to dst's shape. dst may alias
// a (in-place ops) when a has dst's shape.
func binaryInto(name string, op binOp, dst, a, b *Tensor) {
	out := dst.shape
	sa := bstrides(name, a.shape, out)
	sb := bstrides(name, b.shape, out)
	sd := Strides(out)
	shape, st := coalesce(out, sd, sa, sb)
	last := len(shape) - 1
	inner := shape[last]
	ia, ib := st[1][last], st[2][last]
	it := rowIter{shape: shape[:last], strides: [][]int{st[0][:last], st[1][:last], st[2][:last]}}
	rows := len(dst.Data) / max(inner, 1)
	if len(dst.Data) == 0 {
		return
	}
	grain := max(1, elemGrain/inner)
	par.For(rows, grain, func(lo, hi int) {
		offs := make([]int, 3)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			binKernel(op, dst.Data[offs[0]:offs[0]+inner], a.Data[offs[1]:], ia, b.Data[offs[2]:], ib)
		}
	})
}

func binaryOp(op binOp, a, b *Tensor) *Tensor {
	out := New(broadcastShape(binNames[op], a.shape, b.shape)...)
	binaryInto(binNames[op], op, out, a, b)
	return out
}

// mapUnary applies f elementwise in parallel chunks; f works on whole slices so that the
// per-element cost has no call overhead.
func mapUnary(dst, src []float32, f func(dst, src []float32)) {
	par.For(len(src), elemGrain, func(lo, hi int) { f(dst[lo:hi], src[lo:hi]) })
}

func unary(a *Tensor, f func(dst, src []float32)) *Tensor {
	out := &Tensor{Data: make([]float32, len(a.Data)), shape: append([]int(nil), a.shape...)}
	mapUnary(out.Data, a.Data, f)
	return out
}

func broadcastTo(a *Tensor, shape []int) *Tensor {
	out := New(shape...)
	sa := bstrides("BroadcastTo", a.shape, out.shape)
	sd := Strides(out.shape)
	sh, st := coalesce(out.shape, sd, sa)
	if len(out.Data) == 0 {
		return out
	}
	last := len(sh) - 1
	inner := sh[last]
	ia := st[1][last]
	it := rowIter{shape: sh[:last], strides: [][]int{st[0][:last], st[1][:last]}}
	rows := len(out.Data) / inner
	par.For(rows, max(1, elemGrain/inner), func(lo, hi int) {
		offs := make([]int, 2)
		for r := lo; r < hi; r++ {
			it.offsets(r, offs)
			d := out.Data[offs[0] : offs[0]+inner]
			if ia == 1 {
				copy(d, a.Data[offs[1]:])
			} else {
				v := a.Data[offs[1]]
				for i := range d {
					d[i] = v
				}
			}
		}
	})
	return out
}

// sumTo sums a over the axes that shape broadcasts, accumulating in float64. Large inputs
// are cut into blocks of rows fixed by the shapes alone (not the worker count); each block
// sums into its own partial and the partials are added in block order, so the result is
// the same on any number of workers.
func sumTo(a *Tensor, shape []int) *Tensor {
	out := New(shape...)
	so := bstrides("SumTo", shape, a.shape)
	sa := Strides(a.shape)
	if len(a.Data) == 0 {
		return out
	}
	sh, st := coalesce(a.shape, sa, so)
	last := len(sh) - 1
	inner := sh[last]
	io := st[1][last]
	it := rowIter{shape: sh[:last], strides: [][]int{st[0][:last], st[1][:last]}}
	rows := len(a.Data) / inner
	block := max(1, elemGrain/inner)
	nb := (rows + block - 1) / block
	if nb*len(out.Data) > len(a.Data) {
		nb, block = 1, rows // partials would cost more than the input: one serial pass
	}
	partial := make([]float64, nb*len(out.Data))
	par.ForEach(nb, func(b int) {
		acc := partial[b*len(out.Data) : (b+1)*len(out.Data)]
		offs := make([]int, 2)
		for r := b * block; r < min((b+1)*block, rows); r++ {
			it.offsets(r, offs)
			x := a.Data[offs[0] : offs[0]+inner]
			if io == 1 {
				d := acc[offs[1] : offs[1]+inner]
				for i, v := range x {
					d[i] += float64(v)
				}
			} else {
				acc[offs[1]] += vec.Sum(x)
			}
		}
	})
	for i := range out.Data {
		s := partial[i]
		for b := 1; b < nb; b++ {
			s += partial[b*len(out.Data)+i]
		}
		out.Data[i] = float32(s)
	}
	return out
}
