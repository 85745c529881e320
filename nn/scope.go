// Package nn holds aisam's layers. Parameters are created and named by construction with
// PyTorch's state_dict keys: nn.NewLinear(s.Sub("qkv"), 768, 2304) makes "<prefix>.qkv.weight"
// and "<prefix>.qkv.bias" in the scope's Params, so loading a checkpoint is a name lookup.
package nn

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/aisam/aisam/tensor"
)

// Param is one named parameter or buffer of a model.
type Param struct {
	Name string
	T    *tensor.Tensor
	// Frozen parameters are not trained (the optimiser skips them, the tape does not watch them).
	Frozen bool
	// Buffer marks non-trainable state that is still saved (e.g. SAM's Fourier matrix).
	Buffer bool
}

// Params is an ordered set of named parameters.
type Params struct {
	list   []*Param
	byName map[string]*Param
	rng    *rand.Rand
}

// NewParams returns an empty parameter set whose initialisers draw from a PCG seeded with seed.
func NewParams(seed uint64) *Params {
	return &Params{byName: map[string]*Param{}, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// List returns the parameters in creation order.
func (ps *Params) List() []*Param { return ps.list }

// Get returns the named parameter or nil.
func (ps *Params) Get(name string) *Param { return ps.byName[name] }

// Trainable returns the tensors of parameters that are neither frozen nor buffers.
func (ps *Params) Trainable() []*tensor.Tensor {
	var out []*tensor.Tensor
	for _, p := range ps.list {
		if !p.Frozen && !p.Buffer {
			out = append(out, p.T)
		}
	}
	return out
}

// Freeze marks every parameter whose name starts with one of the prefixes as frozen.
func (ps *Params) Freeze(prefixes ...string) {
	for _, p := range ps.list {
		for _, pre := range prefixes {
			if strings.HasPrefix(p.Name, pre) {
				p.Frozen = true
			}
		}
	}
}

// Unfreeze clears Frozen on every parameter whose name starts with one of the prefixes
// (for example a LoRA adapter inside a frozen encoder).
func (ps *Params) Unfreeze(prefixes ...string) {
	for _, p := range ps.list {
		for _, pre := range prefixes {
			if strings.HasPrefix(p.Name, pre) {
				p.Frozen = false
			}
		}
	}
}

// Count returns the number of scalar values in all parameters.
func (ps *Params) Count() int {
	n := 0
	for _, p := range ps.list {
		n += p.T.Numel()
	}
	return n
}

// LoadError lists every key that did not match when loading a state dict.
type LoadError struct {
	Missing    []string
	Unexpected []string
	Mismatched []string // "name: checkpoint [a b] vs model [c d]"
}

// Error lists the problems, at most ten keys of each kind.
func (e *LoadError) Error() string {
	var parts []string
	add := func(what string, ks []string) {
		if len(ks) == 0 {
			return
		}
		show := ks
		if len(show) > 10 {
			show = append(append([]string(nil), ks[:10]...), fmt.Sprintf("... (%d more)", len(ks)-10))
		}
		parts = append(parts, fmt.Sprintf("%d %s: %s", len(ks), what, strings.Join(show, ", ")))
	}
	add("missing", e.Missing)
	add("unexpected", e.Unexpected)
	add("mis-shaped", e.Mismatched)
	return "nn: state dict does not match model: " + strings.Join(parts, "; ")
}

// Load copies sd's tensors into the parameters with the same names. With strict, every
// missing, unexpected or mis-shaped key is reported in a *LoadError and nothing is copied;
// without it, unexpected keys are ignored but missing and mis-shaped ones still fail.
func (ps *Params) Load(sd map[string]*tensor.Tensor, strict bool) error {
	e := &LoadError{}
	for _, p := range ps.list {
		t, ok := sd[p.Name]
		if !ok {
			e.Missing = append(e.Missing, p.Name)
			continue
		}
		if t == nil {
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: checkpoint has no tensor", p.Name))
			continue
		}
		if !tensor.EqualShape(t.Shape(), p.T.Shape()) {
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: checkpoint %v vs model %v", p.Name, t.Shape(), p.T.Shape()))
		}
	}
	if strict {
		for k := range sd {
			if ps.byName[k] == nil {
				e.Unexpected = append(e.Unexpected, k)
			}
		}
		sort.Strings(e.Unexpected)
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) > 0 {
		return e
	}
	for _, p := range ps.list {
		copy(p.T.Data, sd[p.Name].Data)
	}
	return nil
}

// Names maps each parameter's tensor to its name (for optimiser state and logs).
func (ps *Params) Names() map[*tensor.Tensor]string {
	m := make(map[*tensor.Tensor]string, len(ps.list))
	for _, p := range ps.list {
		m[p.T] = p.Name
	}
	return m
}

// StateDict returns the parameters by name (sharing data).
func (ps *Params) StateDict() map[string]*tensor.Tensor {
	m := make(map[string]*tensor.Tensor, len(ps.list))
	for _, p := range ps.list {
		m[p.Name] = p.T
	}
	return m
}

// Scope is a name prefix inside a Params; it creates parameters with dotted names.
type Scope struct {
	ps     *Params
	prefix string
}

// Root returns the scope with an empty prefix.
func (ps *Params) Root() Scope { return Scope{ps: ps} }

// Sub returns the child scope name (joined with a dot).
func (s Scope) Sub(name string) Scope {
	if s.prefix == "" {
		return Scope{ps: s.ps, prefix: name}
	}
	return Scope{ps: s.ps, prefix: s.prefix + "." + name}
}

// Index returns the child scope for list element i ("blocks.3").
func (s Scope) Index(i int) Scope { return s.Sub(strconv.Itoa(i)) }

// Name returns the full name of a parameter called name in this scope.
func (s Scope) Name(name string) string {
	if s.prefix == "" {
		return name
	}
	return s.prefix + "." + name
}

// Params returns the set this scope adds to.
func (s Scope) Params() *Params { return s.ps }

// Rand returns the initialisation random source.
func (s Scope) Rand() *rand.Rand { return s.ps.rng }

// Param creates a zero parameter called name with the given shape. It panics on a
// duplicate name: that is a bug in the model's construction.
func (s Scope) Param(name string, shape ...int) *tensor.Tensor {
	full := s.Name(name)
	if s.ps.byName[full] != nil {
		panic("nn: duplicate parameter " + full)
	}
	p := &Param{Name: full, T: tensor.New(shape...)}
	s.ps.list = append(s.ps.list, p)
	s.ps.byName[full] = p
	return p.T
}

// Buffer creates a saved, non-trainable tensor called name.
func (s Scope) Buffer(name string, shape ...int) *tensor.Tensor {
	t := s.Param(name, shape...)
	s.ps.byName[s.Name(name)].Buffer = true
	return t
}
