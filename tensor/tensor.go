// Package tensor holds aisam's dense float32 tensors and the kernels that SAM and AI-SAM
// need. A Tensor is always contiguous and row-major: Reshape shares the data, every op that
// reorders elements (Permute, Slice, ...) copies. Ops allocate their result and never
// modify their inputs unless the name ends in InPlace. Shape errors are programming errors
// and panic with a message naming the op and the shapes; API boundaries validate user
// input before it reaches a kernel.
//
// Numerics: sums, means, LayerNorm statistics and SumAll accumulate in float64; GELU is the
// exact erf form (to a few 1e-7); Softmax subtracts the row maximum; ResizeBilinear and
// ResizeNearest follow torch 1.13's coordinate arithmetic (bilinear is bitwise equal on
// multi-channel inputs). Results do not depend on the number of workers. Functions named
// ...InPlace and LinearGELU (fused.go) serve inference paths that avoid extra buffers.
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense, contiguous, row-major array of float32.
type Tensor struct {
	// Data holds the elements in row-major order; len(Data) == Numel().
	Data  []float32
	shape []int
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	n := checkShape("New", shape)
	return &Tensor{Data: make([]float32, n), shape: append([]int(nil), shape...)}
}

// FromSlice wraps data (not copied) as a tensor of the given shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	n := checkShape("FromSlice", shape)
	if n != len(data) {
		panic(fmt.Sprintf("tensor.FromSlice: %d values for shape %v (%d elements)", len(data), shape, n))
	}
	return &Tensor{Data: data, shape: append([]int(nil), shape...)}
}

// Full returns a tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// Scalar returns a 0-d tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{Data: []float32{v}, shape: []int{}} }

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in %v", op, shape))
		}
		n *= d
	}
	return n
}

// Shape returns the dimensions. The slice is the tensor's own: do not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Reshape returns a tensor sharing t's data with a new shape; one dimension may be -1.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	s := append([]int(nil), shape...)
	infer, n := -1, 1
	for i, d := range s {
		if d == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor.Reshape: more than one -1 in %v", shape))
			}
			infer = i
			continue
		}
		if d < 0 {
			panic(fmt.Sprintf("tensor.Reshape: negative dimension in %v", shape))
		}
		n *= d
	}
	if infer >= 0 {
		if n == 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot infer the -1 in %v: the other dimensions have no elements", shape))
		}
		s[infer] = len(t.Data) / n
		n *= s[infer]
	}
	if n != len(t.Data) {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v to %v", t.shape, shape))
	}
	return &Tensor{Data: t.Data, shape: s}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Data: append([]float32(nil), t.Data...), shape: append([]int(nil), t.shape...)}
}

// Strides returns the row-major strides of the shape, in elements.
func (t *Tensor) Strides() []int { return Strides(t.shape) }

// Strides returns the row-major strides of shape, in elements.
func Strides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// At returns the element at the given index (one per dimension).
func (t *Tensor) At(idx ...int) float32 { return t.Data[t.offset(idx)] }

// Set stores v at the given index.
func (t *Tensor) Set(v float32, idx ...int) { t.Data[t.offset(idx)] = v }

func (t *Tensor) offset(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: index %v for shape %v", idx, t.shape))
	}
	off := 0
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		off = off*t.shape[i] + x
	}
	return off
}

// SameShape reports whether a and b have equal shapes.
func SameShape(a, b *Tensor) bool { return EqualShape(a.shape, b.shape) }

// EqualShape reports whether two shapes are equal.
func EqualShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String prints the shape and the first few values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v[", t.shape)
	for i, v := range t.Data {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g", v)
	}
	b.WriteByte(']')
	return b.String()
}
