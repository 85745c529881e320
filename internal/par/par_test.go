package par

import (
	"sync/atomic"
	"testing"
)

// Every index must be visited exactly once, whatever the split.
func TestForCoversEachIndexOnce(t *testing.T) {
	defer SetWorkers(SetWorkers(3))
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {7, 1}, {7, 3}, {100, 8}, {1001, 0}, {5, 100}} {
		hits := make([]int32, tc.n)
		For(tc.n, tc.grain, func(lo, hi int) {
			if lo >= hi {
				t.Errorf("n=%d grain=%d: empty chunk [%d,%d)", tc.n, tc.grain, lo, hi)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, h)
			}
		}
	}
}

func TestForEachCoversEachIndexOnce(t *testing.T) {
	defer SetWorkers(SetWorkers(4))
	for _, n := range []int{0, 1, 3, 257} {
		hits := make([]int32, n)
		ForEach(n, func(i int) { atomic.AddInt32(&hits[i], 1) })
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, h)
			}
		}
	}
}

// A loop inside a loop must run serially in its caller (no oversubscription) and still
// cover its range.
func TestNestedRunsInline(t *testing.T) {
	defer SetWorkers(SetWorkers(2))
	var total atomic.Int64
	For(4, 1, func(lo, hi int) {
		for range hi - lo {
			calls := 0
			For(10, 1, func(lo, hi int) {
				calls++
				total.Add(int64(hi - lo))
			})
			if calls != 1 {
				t.Errorf("nested For split into %d chunks, want 1", calls)
			}
		}
	})
	if total.Load() != 40 {
		t.Fatalf("nested loops covered %d items, want 40", total.Load())
	}
}

func TestSetWorkers(t *testing.T) {
	prev := SetWorkers(1)
	defer SetWorkers(prev)
	if Workers() != 1 {
		t.Fatalf("Workers() = %d after SetWorkers(1)", Workers())
	}
	chunks := 0
	For(100, 1, func(lo, hi int) { chunks++ })
	if chunks != 1 {
		t.Fatalf("one worker split the loop into %d chunks", chunks)
	}
	SetWorkers(0)
	if Workers() < 1 {
		t.Fatalf("SetWorkers(0) left %d workers", Workers())
	}
}

// A panic in any chunk, on a worker goroutine or the caller's, reaches the caller (whose
// recover turns it into an error at an API boundary) after every worker has stopped; on a
// worker goroutine it used to kill the process.
func TestPanicReachesCaller(t *testing.T) {
	defer SetWorkers(SetWorkers(4))
	catch := func(run func()) (p any) {
		defer func() { p = recover() }()
		run()
		return nil
	}
	for _, bad := range []int{0, 5, 99} {
		var running atomic.Int32
		p := catch(func() {
			For(100, 1, func(lo, hi int) {
				running.Add(1)
				defer running.Add(-1)
				if lo <= bad && bad < hi {
					panic("bad index")
				}
			})
		})
		if p != "bad index" {
			t.Errorf("For, panic at %d: recovered %v", bad, p)
		}
		if n := running.Load(); n != 0 {
			t.Errorf("For, panic at %d: %d chunks still running after the panic returned", bad, n)
		}
		p = catch(func() {
			ForEach(100, func(i int) {
				running.Add(1)
				defer running.Add(-1)
				if i == bad {
					panic("bad item")
				}
			})
		})
		if p != "bad item" {
			t.Errorf("ForEach, panic at %d: recovered %v", bad, p)
		}
		if n := running.Load(); n != 0 {
			t.Errorf("ForEach, panic at %d: %d items still running after the panic returned", bad, n)
		}
	}
	// The pool is usable, and parallel, afterwards.
	if active.Load() != 0 {
		t.Fatalf("active = %d after the panics", active.Load())
	}
}

// Nested is true exactly inside a parallel region (on every worker of it), false again
// after it, whichever of For and ForEach opened it.
func TestNested(t *testing.T) {
	defer SetWorkers(SetWorkers(2))
	if Nested() {
		t.Fatal("Nested() true outside any region")
	}
	var outside atomic.Int32
	For(8, 1, func(lo, hi int) {
		if !Nested() {
			outside.Add(1)
		}
	})
	ForEach(8, func(int) {
		if !Nested() {
			outside.Add(1)
		}
	})
	if n := outside.Load(); n != 0 {
		t.Fatalf("Nested() false in %d chunks inside a region", n)
	}
	if Nested() {
		t.Fatal("Nested() still true after the regions ended")
	}
}
