package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// testTensor is a float32 tensor for writeTorchZip.
type testTensor struct {
	name  string
	shape []int
	data  []float32
}

// writeTorchZip writes tensors the way torch.save lays out a state_dict (protocol-2
// pickle, OrderedDict, _rebuild_tensor_v2, one stored entry per storage). It exists for
// scale tests only; correctness is checked against files written by torch itself.
func writeTorchZip(w io.Writer, prefix string, ts []testTensor) error {
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	num := func(n int) {
		p.WriteByte('J')
		binary.Write(&p, binary.LittleEndian, int32(n))
	}
	tuple := func(xs []int) {
		p.WriteByte('(')
		for _, x := range xs {
			num(x)
		}
		p.WriteByte('t')
	}
	p.WriteString("\x80\x02ccollections\nOrderedDict\n)R(")
	for i, t := range ts {
		str(t.name)
		p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n((")
		str("storage")
		p.WriteString("ctorch\nFloatStorage\n")
		str(fmt.Sprint(i))
		str("cpu")
		num(len(t.data))
		p.WriteString("tQ")
		num(0)
		tuple(t.shape)
		stride := make([]int, len(t.shape))
		s := 1
		for j := len(t.shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.shape[j]
		}
		tuple(stride)
		p.WriteString("\x89ccollections\nOrderedDict\n)RtR")
	}
	p.WriteString("u.")
	zw := zip.NewWriter(w)
	put := func(name string, b []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + "/" + name, Method: zip.Store})
		if err != nil {
			return err
		}
		_, err = fw.Write(b)
		return err
	}
	if err := put("data.pkl", p.Bytes()); err != nil {
		return err
	}
	for i, t := range ts {
		b := make([]byte, 4*len(t.data))
		for j, v := range t.data {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
		}
		if err := put(fmt.Sprintf("data/%d", i), b); err != nil {
			return err
		}
	}
	if err := put("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}

// TestLargeCheckpointMemory loads a 96 MB checkpoint and checks that the bytes allocated
// stay close to the float32 result: storages are streamed, not held next to it.
func TestLargeCheckpointMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 96 MB checkpoint")
	}
	var ts []testTensor
	total := 0
	for i := 0; i < 48; i++ {
		n := 512 * 1024 // 2 MB each
		d := make([]float32, n)
		for j := range d {
			d[j] = float32(i*n + j)
		}
		ts = append(ts, testTensor{fmt.Sprintf("blocks.%d.w", i), []int{512, 1024}, d})
		total += 4 * n
	}
	p := filepath.Join(t.TempDir(), "big.pth")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTorchZip(fh, "big", ts); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	ts = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m, err := ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("loaded %d MB in %v (%.0f MB/s); allocated %d MB", total>>20, el, float64(total)/1e6/el.Seconds(), alloc>>20)
	// The result (96 MB) plus 1 MB read buffers and small overhead.
	if alloc > uint64(total)*11/10 {
		t.Errorf("allocated %d bytes to load %d", alloc, total)
	}
	for i := 0; i < 48; i += 7 {
		x := m[fmt.Sprintf("blocks.%d.w", i)]
		if x.At(3, 5) != float32(i*512*1024+3*1024+5) {
			t.Fatalf("blocks.%d.w[3,5] = %v", i, x.At(3, 5))
		}
	}
}
