package tensor

import "github.com/aisam/aisam/internal/par"

// parRows runs fn over rows of about cost elements each, in parallel when there is enough work.
func parRows(rows, cost int, fn func(r int)) {
	grain := 1
	if cost > 0 && cost < 1<<14 {
		grain = (1 << 14) / cost
	}
	par.For(rows, grain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			fn(r)
		}
	})
}
