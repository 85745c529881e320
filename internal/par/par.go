// Package par runs loops in parallel over one process-wide pool of workers sized by
// GOMAXPROCS (or SetWorkers), so that nested parallel calls never oversubscribe the CPU.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	workers atomic.Int32
	active  atomic.Int32 // goroutines currently inside a parallel region
)

func init() { workers.Store(int32(runtime.GOMAXPROCS(0))) }

// Workers reports how many goroutines a parallel loop may use.
func Workers() int { return int(workers.Load()) }

// Nested reports whether a parallel region is running, in which case For and ForEach
// run serially; a caller that splits its work by Workers() checks it to avoid cutting
// work (and repeating per-chunk setup) for parallelism it will not get.
func Nested() bool { return active.Load() > 0 }

// SetWorkers sets the parallelism of later loops (n < 1 means GOMAXPROCS) and returns the
// previous value. Benchmarks use it to measure 1 and 2 threads in one process.
func SetWorkers(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return int(workers.Swap(int32(n)))
}

// For calls fn over [0,n) split into contiguous chunks of at least grain items, on up to
// Workers() goroutines. The calling goroutine does one chunk itself. When called from
// inside another For (nested), it runs serially: the outer loop already fills the pool.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := Workers()
	if max := (n + grain - 1) / grain; w > max {
		w = max
	}
	if w <= 1 || active.Load() > 0 {
		fn(0, n)
		return
	}
	active.Add(1)
	defer active.Add(-1)
	var wg sync.WaitGroup
	var pc panicCatcher
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			defer pc.catch()
			fn(lo, hi)
		}(lo, hi)
	}
	func() {
		defer pc.catch()
		fn(0, min(chunk, n))
	}()
	wg.Wait()
	pc.rethrow()
}

// panicCatcher carries the first panic of a parallel loop's chunks to its caller: a panic
// on a worker goroutine would otherwise end the process, out of reach of the recover with
// which an API boundary turns a kernel's panic into an error.
type panicCatcher struct {
	once sync.Once
	val  any
	hit  atomic.Bool
}

// catch is deferred around each chunk.
func (pc *panicCatcher) catch() {
	if p := recover(); p != nil {
		pc.once.Do(func() { pc.val = p; pc.hit.Store(true) })
	}
}

// rethrow re-panics in the caller, once every chunk has finished.
func (pc *panicCatcher) rethrow() {
	if pc.hit.Load() {
		panic(pc.val)
	}
}

// ForEach calls fn(i) for each i in [0,n) with dynamic scheduling: workers take the next
// index when they finish one, which balances items of uneven cost (windows, heads).
func ForEach(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	w := min(Workers(), n)
	if w <= 1 || active.Load() > 0 {
		for i := range n {
			fn(i)
		}
		return
	}
	active.Add(1)
	defer active.Add(-1)
	var next atomic.Int64
	var wg sync.WaitGroup
	var pc panicCatcher
	work := func() {
		defer pc.catch()
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(i)
		}
	}
	for range w - 1 {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	pc.rethrow()
}
