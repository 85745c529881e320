package pickle

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// The same object pickled by CPython 3 (pickle.dumps) at protocols 0, 2, 4 and 5:
//
//	shared = [7]
//	{'a': [1, 2**70, -3, -(2**40), 1.5, None, True, False, 'h\u00e9llo', b'\x00\x01',
//	       (1, 2, 3), (), (4,), (5, 6)],
//	 'b': OrderedDict([('x', 1), ('y', shared)]), 'c': shared,
//	 'big': 65535, 'neg': -1, 'i32': 100000, 'f': {1: 2}}
var cpythonPickles = map[int]string{
	0: "286470300a56610a70310a286c70320a49310a614c313138303539313632303731373431313330333432344c0a61492d330a614c2d313039393531313632373737364c0a6146312e350a614e614930310a614930300a615668e96c6c6f0a70330a61635f636f646563730a656e636f64650a70340a28565c7530303030010a70350a566c6174696e310a70360a7470370a5270380a612849310a49320a49330a7470390a612874612849340a747031300a612849350a49360a747031310a617356620a7031320a63636f6c6c656374696f6e730a4f726465726564446963740a7031330a2874527031340a56780a7031350a49310a7356790a7031360a286c7031370a49370a61737356630a7031380a6731370a73566269670a7031390a4936353533350a73566e65670a7032300a492d310a73566933320a7032310a493130303030300a7356660a7032320a28647032330a49310a49320a73732e",
	2: "80027d71002858010000006171015d7102284b018a090000000000000000404afdffffff8a060000000000ff473ff80000000000004e8889580600000068c3a96c6c6f7103635f636f646563730a656e636f64650a710458020000000001710558060000006c6174696e3171068671075271084b014b024b03877109294b0485710a4b054b0686710b65580100000062710c63636f6c6c656374696f6e730a4f726465726564446963740a710d2952710e28580100000078710f4b0158010000007971105d71114b07617558010000006371126811580300000062696771134dffff58030000006e656771144affffffff580300000069333271154aa086010058010000006671167d71174b014b0273752e",
	4: "800495ba000000000000007d94288c0161945d94284b018a090000000000000000404afdffffff8a060000000000ff473ff80000000000004e88898c0668c3a96c6c6f9443020001944b014b024b038794294b0485944b054b068694658c0162948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0178944b018c0179945d944b0761758c016394680f8c03626967944dffff8c036e6567944affffffff8c03693332944aa08601008c0166947d944b014b0273752e",
	5: "800595ba000000000000007d94288c0161945d94284b018a090000000000000000404afdffffff8a060000000000ff473ff80000000000004e88898c0668c3a96c6c6f9443020001944b014b024b038794294b0485944b054b068694658c0162948c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0178944b018c0179945d944b0761758c016394680f8c03626967944dffff8c036e6567944affffffff8c03693332944aa08601008c0166947d944b014b0273752e",
}

func TestCPythonProtocols(t *testing.T) {
	two70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for proto, hx := range cpythonPickles {
		t.Run(fmt.Sprint("protocol", proto), func(t *testing.T) {
			b, _ := hex.DecodeString(hx)
			v, err := Unpickle(b)
			if err != nil {
				t.Fatal(err)
			}
			top, ok := v.(*Dict)
			if !ok {
				t.Fatalf("top is %T", v)
			}
			if got := fmt.Sprint(top.Keys); got != "[a b c big neg i32 f]" {
				t.Errorf("keys %s", got)
			}
			av, _ := top.Get("a")
			a := av.(*List).Items
			want := []any{int64(1), two70, int64(-3), int64(-(1 << 40)), 1.5, nil, true, false, "h\u00e9llo", Bytes{0, 1},
				Tuple{int64(1), int64(2), int64(3)}, Tuple{}, Tuple{int64(4)}, Tuple{int64(5), int64(6)}}
			if len(a) != len(want) {
				t.Fatalf("a has %d items: %#v", len(a), a)
			}
			for i := range want {
				if fmt.Sprintf("%T %v", a[i], a[i]) != fmt.Sprintf("%T %v", want[i], want[i]) {
					t.Errorf("a[%d] = %T %v, want %T %v", i, a[i], a[i], want[i], want[i])
				}
			}
			bv, _ := top.Get("b")
			od := bv.(*Dict)
			if !od.Ordered || fmt.Sprint(od.Keys) != "[x y]" {
				t.Errorf("b = %+v", od)
			}
			y, _ := od.Get("y")
			c, _ := top.Get("c")
			if y.(*List) != c.(*List) {
				t.Error("the memoised shared list was not returned as the same object")
			}
			for k, w := range map[string]int64{"big": 65535, "neg": -1, "i32": 100000} {
				if g, _ := top.Get(k); g != w {
					t.Errorf("%s = %v, want %d", k, g, w)
				}
			}
			f, _ := top.Get("f")
			if g, _ := f.(*Dict).Get(int64(1)); g != int64(2) {
				t.Errorf("f[1] = %v", g)
			}
		})
	}
}

// TestHooks exercises what torch.save emits, assembled by hand: GLOBAL, BINPERSID,
// REDUCE on a hooked callable, BUILD on an OrderedDict.
func TestHooks(t *testing.T) {
	p := "\x80\x02" +
		"ccollections\nOrderedDict\nq\x00)Rq\x01" + // OrderedDict()
		"X\x01\x00\x00\x00w" + // key 'w'
		"cmod\nrebuild\nq\x02" +
		"(X\x07\x00\x00\x00storageq\x03K\x05tQ" + // BINPERSID ('storage', 5)
		"K\x02\x86R" + // rebuild(pers, 2)
		"s" + // SETITEM
		"}X\x09\x00\x00\x00_metadata}sb" + // BUILD {'_metadata': {}}
		"."
	var persisted []any
	d := NewDecoder(strings.NewReader(p), int64(len(p)))
	d.Persistent = func(pid any) (any, error) {
		persisted = append(persisted, pid)
		return "P", nil
	}
	d.Reduce = func(fn any, args Tuple) (any, bool, error) {
		if g, ok := fn.(Global); ok && g.String() == "mod.rebuild" {
			return fmt.Sprint("rebuilt", args), true, nil
		}
		return nil, false, nil
	}
	v, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	od := v.(*Dict)
	if w, _ := od.Get("w"); w != "rebuilt[P 2]" {
		t.Errorf("w = %v", w)
	}
	if fmt.Sprint(persisted) != "[[storage 5]]" {
		t.Errorf("persistent ids %v", persisted)
	}
	if attrs, ok := od.Attrs.(*Dict); !ok || attrs.Len() != 1 {
		t.Errorf("BUILD state %v", od.Attrs)
	}
	if d.Offset() != int64(len(p)) {
		t.Errorf("offset %d, want %d", d.Offset(), len(p))
	}
}

// TestConsecutive reads two pickles from one stream, as the legacy torch format needs.
func TestConsecutive(t *testing.T) {
	p := "\x80\x02K\x07.\x80\x02]q\x00(K\x01K\x02e.tail"
	d := NewDecoder(strings.NewReader(p), int64(len(p)))
	a, err := d.Decode()
	if err != nil || a != int64(7) || d.Offset() != 5 {
		t.Fatalf("first: %v %v offset %d", a, err, d.Offset())
	}
	b, err := d.Decode()
	if err != nil || fmt.Sprint(b.(*List).Items) != "[1 2]" || d.Offset() != int64(len(p)-4) {
		t.Fatalf("second: %v %v offset %d", b, err, d.Offset())
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ name, p, want string }{
		{"empty", "", "unexpected end"},
		{"no stop", "\x80\x02K\x01", "unexpected end"},
		{"underflow", "\x80\x02.", "underflow"},
		{"bad opcode", "\x80\x02\xff", "unsupported opcode 0xff"},
		{"huge string", "\x80\x02X\xff\xff\xff\x7f", "exceeds"},
		{"huge long4", "\x80\x02\x8b\xff\xff\xff\x7f", "exceeds"},
		{"memo miss", "\x80\x02h\x05.", "memo index 5"},
		{"append to int", "\x80\x02K\x01K\x02a.", "APPEND to int64"},
		{"setitem on list", "\x80\x02]K\x01K\x02s.", "SETITEM on *pickle.List"},
		{"odd setitems", "\x80\x02}(K\x01u.", "odd number"},
		{"no mark", "\x80\x02t.", "no MARK"},
		{"persid without loader", "\x80\x02K\x01Q.", "persistent id"},
		{"reduce non-tuple", "\x80\x02cm\nf\nK\x01R.", "not a tuple"},
		{"build on int", "\x80\x02K\x01}b.", "BUILD on int64"},
		{"protocol 9", "\x80\x09", "unsupported protocol"},
		{"pop across mark", "\x80\x02K\x01(\x85.", "underflow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Unpickle([]byte(c.p))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want ErrFormat containing %q", err, c.want)
			}
		})
	}
	// Too many MARKs.
	if _, err := Unpickle([]byte("\x80\x02" + strings.Repeat("(", maxMarks+1))); err == nil || !strings.Contains(err.Error(), "MARK") {
		t.Errorf("deep marks: %v", err)
	}
}

func TestLongs(t *testing.T) {
	cases := []struct {
		b    []byte
		want string
	}{
		{nil, "0"},
		{[]byte{0xff}, "-1"},
		{[]byte{0x80, 0x00}, "128"},
		{[]byte{0x00, 0x80}, "-32768"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "9223372036854775807"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0xff}, "-9223372036854775808"},
		// The legacy torch magic number.
		{[]byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}, "119547037146038801333356"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(decodeLong(c.b)); got != c.want {
			t.Errorf("decodeLong(% x) = %s, want %s", c.b, got, c.want)
		}
	}
}

func FuzzUnpickle(f *testing.F) {
	for _, hx := range cpythonPickles {
		b, _ := hex.DecodeString(hx)
		f.Add(b)
	}
	f.Add([]byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01}X\x01\x00\x00\x00ak\x01sb."))
	f.Add([]byte("\x80\x02(X\x07\x00\x00\x00storageq\x00K\x01tQ."))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(strings.NewReader(string(b)), int64(len(b)))
		d.Persistent = func(pid any) (any, error) { return pid, nil }
		for i := 0; i < 4; i++ {
			v, err := d.Decode()
			if err != nil {
				return
			}
			if s := Describe(v); len(s) > 600 {
				t.Fatalf("Describe gave %d bytes", len(s))
			}
		}
	})
}

// TestDescribeBounded: error messages about hostile pickles stay short and never recurse
// once per level: a tuple, list, dict or call chain nested arbitrarily deep (TUPLE1 and
// REDUCE cost a byte or two a level) is described in a few hundred bytes.
func TestDescribeBounded(t *testing.T) {
	const depth = 1 << 16
	var tup, obj any = Tuple{}, Global{"m", "f"}
	list, dict := &List{}, &Dict{}
	l, d := list, dict
	for range depth {
		tup = Tuple{tup}
		obj = &Object{Callable: obj}
		nl, nd := &List{}, &Dict{}
		l.Items = []any{nl}
		d.Set("k", nd)
		l, d = nl, nd
	}
	long := strings.Repeat("x", 1<<20)
	many := make(Tuple, 1<<16)
	// Six items of six items of six items of long bytes: every level is cut short.
	var wide any = Bytes(strings.Repeat("\x00", 100))
	for range 3 {
		wide = Tuple{wide, wide, wide, wide, wide, wide}
	}
	for _, v := range []any{tup, obj, list, dict, long, Bytes(long), many, Global{long, long}, wide} {
		s := Describe(v)
		if len(s) > 600 {
			t.Errorf("%T described in %d bytes", v, len(s))
		}
	}
	cases := []struct {
		v    any
		want string
	}{
		{Tuple{"storage", Global{"torch", "FloatStorage"}, "0", "cpu", int64(4)}, `("storage", torch.FloatStorage, "0", "cpu", 4)`},
		{&List{Items: []any{nil, true, 1.5, Bytes("ab")}}, `[None, true, 1.5, b"ab"]`},
		{Tuple{Tuple{Tuple{Tuple{int64(1)}}}}, `((((...1 items))))`},
		{Tuple{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7)}, `(1, 2, 3, 4, 5, 6, ... (7 items))`},
		{&Object{Callable: Global{"a", "B"}, Args: Tuple{int64(1)}}, `a.B(1)`},
	}
	for _, c := range cases {
		if got := Describe(c.v); got != c.want {
			t.Errorf("Describe(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}
