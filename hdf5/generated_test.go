package hdf5

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aisam/aisam/internal/fileio/fileiotest"
)

// genExpected is testdata/expected.json, written by testdata/gen/gen.py from the numpy
// arrays it handed to h5py.
type genExpected map[string]map[string]struct {
	Descr   string    `json:"descr"`
	Shape   []int     `json:"shape"`
	Sum     float64   `json:"sum"`
	Values  []float64 `json:"values"`
	Layout  string    `json:"layout"`
	Chunks  []int     `json:"chunks"`
	Filters []string  `json:"filters"`
}

// loadGenExpected reads testdata/expected.json.
func loadGenExpected(t *testing.T) genExpected {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp genExpected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

func TestGeneratedFixtures(t *testing.T) {
	exp := loadGenExpected(t)
	n := 0
	for file, sets := range exp {
		f, err := OpenFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for name, e := range sets {
			n++
			t.Run(file+"/"+name, func(t *testing.T) {
				d, err := f.Dataset(name)
				if err != nil {
					t.Fatal(err)
				}
				descr := d.Type.String()
				if name == "more/bool" {
					descr = "|i1" // h5py stores bool as an enum over int8
				}
				if descr != e.Descr || !slices.Equal(d.Shape, e.Shape) {
					t.Errorf("type %s shape %v, want %s %v", descr, d.Shape, e.Descr, e.Shape)
				}
				if d.Layout() != e.Layout || !slices.Equal(d.Chunks(), e.Chunks) || strings.Join(d.Filters(), ",") != strings.Join(e.Filters, ",") {
					t.Errorf("layout %s chunks %v filters %v, want %s %v %v", d.Layout(), d.Chunks(), d.Filters(), e.Layout, e.Chunks, e.Filters)
				}
				v, err := d.ReadFloat64()
				if err != nil {
					t.Fatal(err)
				}
				if len(v) != len(e.Values) {
					t.Fatalf("%d values, want %d", len(v), len(e.Values))
				}
				for i := range v {
					if v[i] != e.Values[i] {
						t.Fatalf("value %d = %v, want %v", i, v[i], e.Values[i])
					}
				}
				v32, err := d.ReadFloat32()
				if err != nil {
					t.Fatal(err)
				}
				for i := range v32 {
					if v32[i] != float32(e.Values[i]) {
						t.Fatalf("float32 value %d = %v, want %v", i, v32[i], float32(e.Values[i]))
					}
				}
				sum := 0.0
				for _, x := range v {
					sum += x
				}
				if math.Abs(sum-e.Sum) > 1e-9*math.Max(1, math.Abs(e.Sum)) {
					t.Errorf("sum %v, want %v", sum, e.Sum)
				}
			})
		}
	}
	if n < 14 {
		t.Errorf("only %d datasets in expected.json", n)
	}
}

// Features outside the supported subset are refused with an error that names them.
func TestUnsupportedNamed(t *testing.T) {
	f, err := OpenFile("testdata/latest.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct{ path, want string }{
		{"grp/compound", "compound datatype"},
		{"grp/string", "string datatype"},
		{"grp/lzf", `filter "lzf" (id 32000)`},
		{"more/../grp", "no object"},
	} {
		_, err := f.Dataset(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.path, err, c.want)
		}
	}
	for _, p := range []string{"grp/compound", "grp/string", "grp/lzf"} {
		if _, err := f.Dataset(p); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v is not ErrUnsupported", p, err)
		}
	}
	// A soft link is followed: grp/soft -> /f4_contig.
	soft, err := f.Dataset("grp/soft")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := soft.ReadFloat64(); err != nil || len(v) != 24 || v[0] != -1 || v[23] != 4.75 {
		t.Errorf("grp/soft read %v, %v", v, err)
	}
	if _, err := f.Dataset("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing dataset: %v", err)
	}
	if _, err := f.Dataset("grp"); err == nil {
		t.Error("a group opened as a dataset")
	}
	names, err := f.List("grp/sub")
	if err != nil || len(names) != 1 || names[0] != "data" {
		t.Errorf("List(grp/sub) = %v, %v", names, err)
	}
}

// Dense groups: the root of dense.h5 holds d0..d9, "big" holds soft links s0..s599.
func TestDenseGroups(t *testing.T) {
	g, err := OpenFile("testdata/dense.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	keys, err := g.Keys()
	if err != nil || len(keys) != 11 || keys[0] != "big" || keys[1] != "d0" || keys[10] != "d9" {
		t.Fatalf("keys %v, %v", keys, err)
	}
	names, err := g.List("big")
	if err != nil || len(names) != 600 {
		t.Fatalf("big has %d links, %v", len(names), err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for i := 0; i < 600; i++ {
		if !seen["s"+strconv.Itoa(i)] {
			t.Fatalf("link s%d missing", i)
		}
	}
	for _, i := range []int{0, 299, 599} {
		d, err := g.Dataset("big/s" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.ReadFloat64()
		if err != nil || len(v) != 1 || v[0] != float64(i%10) {
			t.Errorf("big/s%d = %v, %v; want [%d]", i, v, err, i%10)
		}
	}
}

// lookup3 against the values in Bob Jenkins' lookup3.c self-test (hashlittle, initval 0).
func TestLookup3(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0xdeadbeef},
		{"Four score and seven years ago", 0x17770551},
	} {
		if got := lookup3([]byte(c.in)); got != c.want {
			t.Errorf("lookup3(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

// A name lookup in a dense group decodes only the links whose name hash matches, so it
// reads much less metadata than listing the group (600 links in "big").
func TestDenseLookupByHash(t *testing.T) {
	g, err := OpenFile("testdata/dense.h5")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	list := g.op()
	addr, err := list.resolve("big")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := list.objectHeader(addr)
	if err != nil {
		t.Fatal(err)
	}
	before := list.budget
	all, err := list.groupLinks(msgs, "")
	if err != nil || len(all) != 600 {
		t.Fatalf("%d links, %v", len(all), err)
	}
	listCost := before - list.budget
	before = list.budget
	one, err := list.groupLinks(msgs, "s599")
	if err != nil {
		t.Fatal(err)
	}
	lookupCost := before - list.budget
	found := false
	for _, l := range one {
		found = found || l.name == "s599" && l.soft == "/d9"
	}
	if !found || len(one) > 2 {
		t.Errorf("lookup of s599 gave %v", one)
	}
	t.Logf("lookup %d, list %d metadata bytes", lookupCost, listCost)
	if lookupCost*2 > listCost {
		t.Errorf("lookup read %d metadata bytes, listing %d", lookupCost, listCost)
	}
}

// TestReaderAtEOFAtEnd: a reader may return io.EOF with a full read that ends the file
// (io.ReaderAt allows it); every dataset must still read as expected.json says.
func TestReaderAtEOFAtEnd(t *testing.T) {
	exp := loadGenExpected(t)
	for file, sets := range exp {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Open(fileiotest.NewEOFAtEnd(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for name, e := range sets {
			v, err := f.Dataset(name)
			if err != nil {
				t.Fatalf("%s/%s: %v", file, name, err)
			}
			got, err := v.ReadFloat64()
			if err != nil {
				t.Fatalf("%s/%s: %v", file, name, err)
			}
			if len(got) != len(e.Values) {
				t.Fatalf("%s/%s: %d values, want %d", file, name, len(got), len(e.Values))
			}
			for i := range got {
				if got[i] != e.Values[i] {
					t.Fatalf("%s/%s: value %d = %v, want %v", file, name, i, got[i], e.Values[i])
				}
			}
		}
	}
}
