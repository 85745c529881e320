package metrics

import (
	"math"

	"github.com/aisam/aisam/internal/par"
)

// maxTable bounds the label values for which scanClasses uses a lookup table.
const maxTable = 1 << 16

// scanClasses finds, in one pass over both label arrays, every listed class's voxel
// counts, intersection and bounding box of the union, then crops each class's masks.
// It returns nil when a label value is outside the table range (the caller then scans
// class by class).
func scanClasses[L Label](pred, gt []L, shape []int, classes []int) []*boxPair {
	nd := len(shape)
	nc := len(classes)
	table := make([]int16, 0)
	for _, c := range classes {
		if c < 0 || c >= maxTable || nc > math.MaxInt16 {
			return nil
		}
		for len(table) <= c {
			table = append(table, -1)
		}
		if table[c] < 0 { // a class listed twice keeps its first slot
			table[c] = int16(indexOf(classes, c))
		}
	}
	w := shape[nd-1]
	rows := len(pred) / w
	type part struct {
		lo, hi     []int // nc×nd
		na, nb, ni []int
	}
	chunk := max(1, (1<<16)/w)
	parts := make([]part, (rows+chunk-1)/chunk)
	par.ForEach(len(parts), func(pi int) {
		pt := &parts[pi]
		pt.lo, pt.hi = make([]int, nc*nd), make([]int, nc*nd)
		pt.na, pt.nb, pt.ni = make([]int, nc), make([]int, nc), make([]int, nc)
		for i := range pt.lo {
			pt.lo[i], pt.hi[i] = math.MaxInt, -1
		}
		first := make([]int, nc)
		last := make([]int, nc)
		coord := make([]int, nd)
		nt := len(table)
		for r := pi * chunk; r < min(rows, (pi+1)*chunk); r++ {
			for j := range first {
				first[j], last[j] = -1, -1
			}
			off := r * w
			pr, gr := pred[off:off+w], gt[off:off+w]
			any := false
			for x := range w {
				p, g := pr[x], gr[x]
				ip, ig := -1, -1
				if int(p) >= 0 && int(p) < nt {
					ip = int(table[int(p)])
				}
				if int(g) >= 0 && int(g) < nt {
					ig = int(table[int(g)])
				}
				if ip >= 0 {
					pt.na[ip]++
					if ig == ip {
						pt.ni[ip]++
					}
					if first[ip] < 0 {
						first[ip] = x
					}
					last[ip] = x
					any = true
				}
				if ig >= 0 {
					pt.nb[ig]++
					if first[ig] < 0 {
						first[ig] = x
					}
					last[ig] = x
					any = true
				}
			}
			if !any {
				continue
			}
			rr := r
			for k := nd - 2; k >= 0; k-- {
				coord[k] = rr % shape[k]
				rr /= shape[k]
			}
			for j := range nc {
				if first[j] < 0 {
					continue
				}
				b := j * nd
				for k := 0; k < nd-1; k++ {
					pt.lo[b+k] = min(pt.lo[b+k], coord[k])
					pt.hi[b+k] = max(pt.hi[b+k], coord[k])
				}
				pt.lo[b+nd-1] = min(pt.lo[b+nd-1], first[j])
				pt.hi[b+nd-1] = max(pt.hi[b+nd-1], last[j])
			}
		}
	})
	out := make([]*boxPair, nc)
	for j, c := range classes {
		if int(table[c]) != j {
			out[j] = nil // duplicate: filled from its first slot below
			continue
		}
		bp := &boxPair{}
		lo, hi := make([]int, nd), make([]int, nd)
		for k := range nd {
			lo[k], hi[k] = math.MaxInt, -1
		}
		for _, pt := range parts {
			bp.na += pt.na[j]
			bp.nb += pt.nb[j]
			bp.ni += pt.ni[j]
			for k := range nd {
				lo[k] = min(lo[k], pt.lo[j*nd+k])
				hi[k] = max(hi[k], pt.hi[j*nd+k])
			}
		}
		if bp.na+bp.nb > 0 {
			cropInto(bp, pred, gt, L(c), shape, lo, hi)
		}
		out[j] = bp
	}
	for j, c := range classes {
		if out[j] == nil {
			out[j] = out[table[c]]
		}
	}
	return out
}

func indexOf(xs []int, v int) int {
	for i, x := range xs {
		if x == v {
			return i
		}
	}
	return -1
}
