// Package pickle is a minimal Python unpickler for the files torch.save writes: protocols
// 0-5 without out-of-band buffers or extension registry. It builds plain Go values and
// never runs code: GLOBAL yields a Global naming the callable, and REDUCE/NEWOBJ/BUILD
// either go through the caller's hooks or produce an inert Object.
//
// Input is untrusted: every length is checked against the bytes that remain, the memo and
// the mark stack are bounded, and malformed input is an error, never a panic.
package pickle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list (a pointer, since pickles mutate lists after memoising them).
type List struct{ Items []any }

// Dict is a Python dict or collections.OrderedDict, in insertion order.
type Dict struct {
	Keys   []any
	Values []any
	// Ordered marks a collections.OrderedDict.
	Ordered bool
	// Attrs holds the state of a BUILD applied to the dict (OrderedDict's _metadata).
	Attrs any
	index map[any]int
}

// Global names a Python object by module and qualified name (torch._utils._rebuild_tensor_v2).
type Global struct{ Module, Name string }

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Object is the inert result of calling a callable the caller did not handle.
type Object struct {
	Callable any
	Args     Tuple
	Kwargs   *Dict
	State    any // from BUILD
}

// Bytes is a Python bytes or bytearray value (kept distinct from str).
type Bytes []byte

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("pickle: malformed input")

// hashable returns k as a Go map key when it is a comparable scalar.
func hashable(k any) (any, bool) {
	switch k.(type) {
	case string, int64, bool, float64, nil:
		return k, true
	}
	return nil, false
}

// Set stores v under k, replacing an existing equal key.
func (d *Dict) Set(k, v any) {
	if hk, ok := hashable(k); ok {
		if d.index == nil {
			d.index = map[any]int{}
		}
		if i, ok := d.index[hk]; ok {
			d.Values[i] = v
			return
		}
		d.index[hk] = len(d.Keys)
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

// Get returns the value stored under a string, integer or bool key.
func (d *Dict) Get(k any) (any, bool) {
	hk, ok := hashable(k)
	if !ok || d.index == nil {
		return nil, false
	}
	i, ok := d.index[hk]
	if !ok {
		return nil, false
	}
	return d.Values[i], true
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Limits on the decoder's state, far above what torch.save produces.
const (
	maxMarks = 10000   // nested MARKs
	maxMemo  = 1 << 24 // memo index
	maxStack = 1 << 24 // stack entries
)

// Decoder reads consecutive pickles from a stream.
type Decoder struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	limit int64 // total bytes available, or -1 if unknown

	// Persistent resolves a persistent id (PERSID/BINPERSID); nil makes them an error.
	Persistent func(pid any) (any, error)
	// Reduce, if set, is offered every REDUCE and NEWOBJ; it returns handled=false to get
	// the default (OrderedDict/dict/list/set constructors, else an *Object).
	Reduce func(callable any, args Tuple) (result any, handled bool, err error)
	// Build, if set, is offered every BUILD; handled=false gives the default (state set on
	// a *Dict's Attrs or an *Object's State, else an error).
	Build func(obj, state any) (handled bool, err error)

	stack []any
	marks []int
	memo  map[int]any
}

// NewDecoder returns a decoder reading from r; limit is the number of bytes r holds (for
// checking lengths before allocating), or -1 if unknown.
func NewDecoder(r io.Reader, limit int64) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 1<<16), limit: limit}
}

// Offset returns the number of bytes consumed so far (the end of the last pickle).
func (d *Decoder) Offset() int64 { return d.off }

// Unpickle decodes one pickle held entirely in b.
func Unpickle(b []byte) (any, error) {
	return NewDecoder(bytes.NewReader(b), int64(len(b))).Decode()
}

func errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

func (d *Decoder) readByte() (byte, error) {
	c, err := d.r.ReadByte()
	if err != nil {
		return 0, errf("unexpected end of data at offset %d", d.off)
	}
	d.off++
	return c, nil
}

// readN reads n bytes, refusing lengths beyond the remaining input and growing the
// buffer as data arrives when the remaining size is unknown.
func (d *Decoder) readN(n uint64) ([]byte, error) {
	if d.limit >= 0 && n > uint64(d.limit-d.off) {
		return nil, errf("length %d at offset %d exceeds the %d bytes left", n, d.off, d.limit-d.off)
	}
	if n > math.MaxInt32 {
		return nil, errf("length %d at offset %d is too large", n, d.off)
	}
	const chunk = 1 << 20
	if n <= chunk {
		b := make([]byte, n)
		m, err := io.ReadFull(d.r, b)
		d.off += int64(m)
		if err != nil {
			return nil, errf("unexpected end of data at offset %d", d.off)
		}
		return b, nil
	}
	var buf bytes.Buffer
	m, err := io.CopyN(&buf, d.r, int64(n))
	d.off += m
	if err != nil {
		return nil, errf("unexpected end of data at offset %d", d.off)
	}
	return buf.Bytes(), nil
}

func (d *Decoder) readLine() (string, error) {
	var sb strings.Builder
	for {
		c, err := d.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
		if sb.Len() > 1<<16 {
			return "", errf("text line too long at offset %d", d.off)
		}
		sb.WriteByte(c)
	}
}

func (d *Decoder) uint(n int) (uint64, error) {
	b, err := d.readN(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (d *Decoder) push(v any) error {
	if len(d.stack) >= maxStack {
		return errf("stack overflow")
	}
	d.stack = append(d.stack, v)
	return nil
}

func (d *Decoder) pop() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, errf("stack underflow at offset %d", d.off)
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

func (d *Decoder) top() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, errf("stack underflow at offset %d", d.off)
	}
	return d.stack[len(d.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and removes them and the mark.
func (d *Decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, errf("no MARK on the stack at offset %d", d.off)
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *Decoder) memoPut(i uint64) error {
	if i >= maxMemo {
		return errf("memo index %d too large", i)
	}
	v, err := d.top()
	if err != nil {
		return err
	}
	d.memo[int(i)] = v
	return nil
}

func (d *Decoder) memoGet(i uint64) error {
	v, ok := d.memo[int(min(i, maxMemo))]
	if !ok {
		return errf("memo index %d not defined at offset %d", i, d.off)
	}
	return d.push(v)
}

// Decode reads one pickle (up to and including STOP) and returns its value.
func (d *Decoder) Decode() (any, error) {
	d.stack = d.stack[:0]
	d.marks = d.marks[:0]
	d.memo = map[int]any{}
	for {
		op, err := d.readByte()
		if err != nil {
			return nil, err
		}
		if op == '.' { // STOP
			v, err := d.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := d.step(op); err != nil {
			return nil, err
		}
	}
}

func (d *Decoder) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		p, err := d.readByte()
		if err != nil {
			return err
		}
		if p > 5 {
			return errf("unsupported protocol %d", p)
		}
		return nil
	case 0x95: // FRAME: an 8-byte length; frames need no special handling when streaming
		_, err := d.uint(8)
		return err
	case '(': // MARK
		if len(d.marks) >= maxMarks {
			return errf("too many nested MARKs")
		}
		d.marks = append(d.marks, len(d.stack))
		return nil
	case '0': // POP
		if len(d.marks) > 0 && len(d.stack) == d.marks[len(d.marks)-1] {
			// CPython pops the mark when the stack is empty above it.
			d.marks = d.marks[:len(d.marks)-1]
			return nil
		}
		_, err := d.pop()
		return err
	case '1': // POP_MARK
		_, err := d.popMark()
		return err
	case '2': // DUP
		v, err := d.top()
		if err != nil {
			return err
		}
		return d.push(v)

	case 'N':
		return d.push(nil)
	case 0x88:
		return d.push(true)
	case 0x89:
		return d.push(false)
	case 'J': // BININT
		v, err := d.uint(4)
		if err != nil {
			return err
		}
		return d.push(int64(int32(uint32(v))))
	case 'K': // BININT1
		v, err := d.uint(1)
		if err != nil {
			return err
		}
		return d.push(int64(v))
	case 'M': // BININT2
		v, err := d.uint(2)
		if err != nil {
			return err
		}
		return d.push(int64(v))
	case 0x8a, 0x8b: // LONG1, LONG4
		var n uint64
		var err error
		if op == 0x8a {
			n, err = d.uint(1)
		} else {
			n, err = d.uint(4)
		}
		if err != nil {
			return err
		}
		b, err := d.readN(n)
		if err != nil {
			return err
		}
		return d.push(decodeLong(b))
	case 'I', 'L': // INT, LONG (text)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		if op == 'I' && s == "01" {
			return d.push(true)
		}
		if op == 'I' && s == "00" {
			return d.push(false)
		}
		s = strings.TrimSuffix(s, "L")
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return d.push(v)
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return errf("bad integer %q", s)
		}
		return d.push(b)
	case 'G': // BINFLOAT (big endian)
		b, err := d.readN(8)
		if err != nil {
			return err
		}
		return d.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F': // FLOAT (text)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errf("bad float %q", s)
		}
		return d.push(f)

	case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e, 0x96:
		// Length-prefixed strings and bytes.
		var size int
		switch op {
		case 0x8c, 'U', 'C':
			size = 1
		case 'X', 'T', 'B':
			size = 4
		default:
			size = 8
		}
		n, err := d.uint(size)
		if err != nil {
			return err
		}
		if op == 'T' && int32(uint32(n)) < 0 {
			return errf("negative string length")
		}
		b, err := d.readN(n)
		if err != nil {
			return err
		}
		switch op {
		case 'B', 'C', 0x8e, 0x96:
			return d.push(Bytes(b))
		}
		return d.push(string(b)) // BINSTRING bytes are latin-1/ASCII in torch files
	case 'S': // STRING (text, quoted repr)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
			return errf("bad STRING %q", s)
		}
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(s[1:len(s)-1], `"`, `\"`) + `"`)
		if err != nil {
			return d.push(s[1 : len(s)-1])
		}
		return d.push(u)
	case 'V': // UNICODE (raw-unicode-escape)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		return d.push(rawUnicodeUnescape(s))

	case ')':
		return d.push(Tuple{})
	case 't':
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(Tuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		t := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := d.pop()
			if err != nil {
				return err
			}
			t[i] = v
		}
		return d.push(t)
	case ']':
		return d.push(&List{})
	case 'l':
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(&List{Items: items})
	case 'a': // APPEND
		v, err := d.pop()
		if err != nil {
			return err
		}
		return d.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.appendTo(items)
	case 0x8f: // EMPTY_SET (kept as a list)
		return d.push(&List{})
	case 0x90: // ADDITEMS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.appendTo(items)
	case 0x91: // FROZENSET
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(&List{Items: items})
	case '}':
		return d.push(&Dict{})
	case 'd':
		items, err := d.popMark()
		if err != nil {
			return err
		}
		dict := &Dict{}
		if err := setItems(dict, items); err != nil {
			return err
		}
		return d.push(dict)
	case 's': // SETITEM
		v, err := d.pop()
		if err != nil {
			return err
		}
		k, err := d.pop()
		if err != nil {
			return err
		}
		return d.setItemsOnTop([]any{k, v})
	case 'u': // SETITEMS
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.setItemsOnTop(items)

	case 'p': // PUT (text)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		i, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errf("bad PUT index %q", s)
		}
		return d.memoPut(i)
	case 'q', 'r': // BINPUT (1-byte index), LONG_BINPUT (4-byte)
		i, err := d.uint(memoIndexWidth(op))
		if err != nil {
			return err
		}
		return d.memoPut(i)
	case 0x94: // MEMOIZE
		return d.memoPut(uint64(len(d.memo)))
	case 'g': // GET (text)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		i, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errf("bad GET index %q", s)
		}
		return d.memoGet(i)
	case 'h', 'j': // BINGET (1-byte index), LONG_BINGET (4-byte)
		i, err := d.uint(memoIndexWidth(op))
		if err != nil {
			return err
		}
		return d.memoGet(i)

	case 'c': // GLOBAL
		mod, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		return d.push(Global{mod, name})
	case 0x93: // STACK_GLOBAL
		name, err := d.pop()
		if err != nil {
			return err
		}
		mod, err := d.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return errf("STACK_GLOBAL of non-strings %T, %T", mod, name)
		}
		return d.push(Global{ms, ns})
	case 'R': // REDUCE
		args, err := d.pop()
		if err != nil {
			return err
		}
		fn, err := d.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return errf("REDUCE arguments are %T, not a tuple", args)
		}
		return d.call(fn, t, nil)
	case 0x81: // NEWOBJ
		args, err := d.pop()
		if err != nil {
			return err
		}
		cls, err := d.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			return errf("NEWOBJ arguments are %T, not a tuple", args)
		}
		return d.call(cls, t, nil)
	case 0x92: // NEWOBJ_EX
		kw, err := d.pop()
		if err != nil {
			return err
		}
		args, err := d.pop()
		if err != nil {
			return err
		}
		cls, err := d.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		kd, ok2 := kw.(*Dict)
		if !ok || !ok2 {
			return errf("NEWOBJ_EX arguments are %T, %T", args, kw)
		}
		return d.call(cls, t, kd)
	case 'o': // OBJ
		items, err := d.popMark()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return errf("OBJ without a class")
		}
		return d.call(items[0], Tuple(items[1:]), nil)
	case 'i': // INST
		mod, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.call(Global{mod, name}, Tuple(items), nil)
	case 'b': // BUILD
		state, err := d.pop()
		if err != nil {
			return err
		}
		obj, err := d.top()
		if err != nil {
			return err
		}
		if d.Build != nil {
			handled, err := d.Build(obj, state)
			if err != nil {
				return err
			}
			if handled {
				return nil
			}
		}
		switch o := obj.(type) {
		case *Dict:
			o.Attrs = state
		case *Object:
			o.State = state
		default:
			return errf("BUILD on %T", obj)
		}
		return nil

	case 'P': // PERSID (text)
		s, err := d.readLine()
		if err != nil {
			return err
		}
		return d.persistent(s)
	case 'Q': // BINPERSID
		pid, err := d.pop()
		if err != nil {
			return err
		}
		return d.persistent(pid)
	}
	return errf("unsupported opcode 0x%02x at offset %d", op, d.off-1)
}

func (d *Decoder) persistent(pid any) error {
	if d.Persistent == nil {
		return errf("persistent id without a loader")
	}
	v, err := d.Persistent(pid)
	if err != nil {
		return err
	}
	return d.push(v)
}

// call applies a callable: the caller's hook first, then the few built-in constructors.
func (d *Decoder) call(fn any, args Tuple, kw *Dict) error {
	if d.Reduce != nil && kw == nil {
		v, handled, err := d.Reduce(fn, args)
		if err != nil {
			return err
		}
		if handled {
			return d.push(v)
		}
	}
	if g, ok := fn.(Global); ok {
		switch g.String() {
		case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
			dict := &Dict{Ordered: g.Name == "OrderedDict"}
			if len(args) > 0 {
				// OrderedDict([(k, v), ...]) form.
				if l, ok := args[0].(*List); ok {
					for _, it := range l.Items {
						kv, ok := it.(Tuple)
						if !ok || len(kv) != 2 {
							return errf("%s item %T is not a pair", g, it)
						}
						dict.Set(kv[0], kv[1])
					}
				}
			}
			return d.push(dict)
		case "_codecs.encode":
			// How protocols < 3 pickle bytes: encode(str, 'latin1').
			if len(args) == 2 {
				if s, ok := args[0].(string); ok {
					if enc, _ := args[1].(string); enc == "latin1" || enc == "latin-1" {
						b := make(Bytes, 0, len(s))
						for _, r := range s {
							if r > 0xff {
								return errf("_codecs.encode: %q is not latin-1", r)
							}
							b = append(b, byte(r))
						}
						return d.push(b)
					}
				}
			}
		case "builtins.list", "__builtin__.list", "builtins.set", "__builtin__.set":
			l := &List{}
			if len(args) > 0 {
				if src, ok := args[0].(*List); ok {
					l.Items = append(l.Items, src.Items...)
				}
			}
			return d.push(l)
		}
	}
	return d.push(&Object{Callable: fn, Args: args, Kwargs: kw})
}

func (d *Decoder) appendTo(items []any) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	switch l := v.(type) {
	case *List:
		l.Items = append(l.Items, items...)
	case *Object:
		// list subclasses built by NEWOBJ: keep the items as extra args.
		l.Args = append(l.Args, items...)
	default:
		return errf("APPEND to %T", v)
	}
	return nil
}

func (d *Decoder) setItemsOnTop(items []any) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	dict, ok := v.(*Dict)
	if !ok {
		return errf("SETITEM on %T", v)
	}
	return setItems(dict, items)
}

func setItems(dict *Dict, items []any) error {
	if len(items)%2 != 0 {
		return errf("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		dict.Set(items[i], items[i+1])
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer: int64 when it fits,
// otherwise *big.Int.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
			v |= ^uint64(0) << (8 * len(b))
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}

// rawUnicodeUnescape decodes Python's raw-unicode-escape: bytes are latin-1 code points,
// except \uXXXX and \UXXXXXXXX escapes.
func rawUnicodeUnescape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(s) {
				if v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil && v <= 0x10ffff {
					sb.WriteRune(rune(v))
					i += 1 + n
					continue
				}
			}
		}
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// Describe renders v for an error message, bounded in depth, items and length whatever
// the input: fmt's %v recurses once per level of nesting, and a pickle can nest tuples a
// million deep in a megabyte (TUPLE1 is one byte), which would overflow the stack.
func Describe(v any) string {
	var sb strings.Builder
	describe(&sb, v, 0)
	return sb.String()
}

func describe(sb *strings.Builder, v any, depth int) {
	const maxDepth, maxItems, maxText, maxLen = 3, 6, 40, 400
	if sb.Len() > maxLen {
		sb.WriteString("...")
		return
	}
	// seq writes n entries between open and close, item(i) writing entry i.
	seq := func(open, close, what string, n int, item func(i int)) {
		if depth >= maxDepth {
			fmt.Fprintf(sb, "%s...%d %s%s", open, n, what, close)
			return
		}
		sb.WriteString(open)
		for i := range n {
			if i > 0 {
				sb.WriteString(", ")
			}
			if sb.Len() > maxLen {
				sb.WriteString("...")
				break
			}
			if i == maxItems {
				fmt.Fprintf(sb, "... (%d %s)", n, what)
				break
			}
			item(i)
		}
		sb.WriteString(close)
	}
	items := func(open, close string, xs []any) {
		seq(open, close, "items", len(xs), func(i int) { describe(sb, xs[i], depth+1) })
	}
	text := func(s string) string {
		if len(s) > maxText {
			return fmt.Sprintf("%q... (%d bytes)", s[:maxText], len(s))
		}
		return strconv.Quote(s)
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("None")
	case string:
		sb.WriteString(text(x))
	case Bytes:
		sb.WriteString("b" + text(string(x)))
	case int64, float64, bool:
		fmt.Fprint(sb, x)
	case *big.Int:
		s := x.String()
		if len(s) > maxText {
			s = fmt.Sprintf("<%d-bit integer>", x.BitLen())
		}
		sb.WriteString(s)
	case Global:
		s := x.String()
		if len(s) > maxText {
			s = s[:maxText] + "..."
		}
		sb.WriteString(s)
	case Tuple:
		items("(", ")", x)
	case *List:
		items("[", "]", x.Items)
	case *Dict:
		seq("{", "}", "entries", x.Len(), func(i int) {
			describe(sb, x.Keys[i], depth+1)
			sb.WriteString(": ")
			describe(sb, x.Values[i], depth+1)
		})
	case *Object:
		// A REDUCE's callable may itself be an object: that nests too.
		if depth >= maxDepth {
			sb.WriteString("<object>")
			return
		}
		describe(sb, x.Callable, depth+1)
		items("(", ")", x.Args)
	default:
		fmt.Fprintf(sb, "<%T>", v)
	}
}

// memoIndexWidth is the byte width of the memo index after BINPUT/BINGET (1) and
// LONG_BINPUT/LONG_BINGET (4).
func memoIndexWidth(op byte) int {
	if op == 'q' || op == 'h' {
		return 1
	}
	return 4
}
