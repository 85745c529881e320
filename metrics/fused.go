package metrics

import (
	"math"

	"github.com/aisam/aisam/internal/par"
)

// sampleDistancesPlanes is sampleDistances for 2-D and 3-D boxes, done plane by plane:
// the first axis is resolved up front into the distance (in voxels) to the nearest
// target along it, kept as int16; then every plane that holds a query voxel gets its
// axis-0 term, the Felzenszwalb–Huttenlocher pass along axis 1 and, on the rows with
// query voxels only, the pass along axis 2, all in a plane-sized buffer that stays in
// cache. The arithmetic is that of the axis-by-axis transform: the same float64
// operations in the same order ((t0 + t1) + t2), so the results are identical.
// Before the passes, each plane first tries searchPlane, which is much faster when the
// surfaces are near each other and gives up (within a work budget of searchBudget
// steps per voxel of the plane) when they are not.
// ok is false when the box does not fit this path (more than 32767 planes).
func sampleDistancesPlanes(target, at []bool, shape []int, sp []float64) (res []float64, ok bool) {
	var d, h, w int
	var s0, s1, s2 float64
	switch len(shape) {
	case 2: // a 2-D image is one plane; its missing axis-0 term is an exact +0
		d, h, w = 1, shape[0], shape[1]
		s0, s1, s2 = 1, sp[0], sp[1]
	case 3:
		d, h, w = shape[0], shape[1], shape[2]
		s0, s1, s2 = sp[0], sp[1], sp[2]
	default:
		return nil, false
	}
	if d > math.MaxInt16 {
		return nil, false
	}
	plane := h * w
	// Distance along axis 0 to the nearest target, -1 for none.
	dz := make([]int16, d*plane)
	par.For(plane, 4096, func(lo, hi int) {
		last := make([]int32, hi-lo)
		for j := range last {
			last[j] = -1
		}
		for z := range d {
			row := z * plane
			for j := lo; j < hi; j++ {
				if target[row+j] {
					last[j-lo] = int32(z)
				}
				if q := last[j-lo]; q >= 0 {
					dz[row+j] = int16(int32(z) - q)
				} else {
					dz[row+j] = -1
				}
			}
		}
		for j := range last {
			last[j] = -1
		}
		for z := d - 1; z >= 0; z-- {
			row := z * plane
			for j := lo; j < hi; j++ {
				if target[row+j] {
					last[j-lo] = int32(z)
				}
				if q := last[j-lo]; q >= 0 {
					if v := int16(q - int32(z)); dz[row+j] < 0 || v < dz[row+j] {
						dz[row+j] = v
					}
				}
			}
		}
	})
	// Output offsets: query voxels before each row.
	rows := d * h
	start := rowStarts(at, rows, w)
	res = make([]float64, start[rows])
	inf := math.Inf(1)
	type scratch struct {
		g, buf, fq, z []float64
		v             []int
	}
	pool := make(chan *scratch, par.Workers()+1)
	par.ForEach(d, func(z int) {
		if start[z*h] == start[(z+1)*h] {
			return // no query voxel in this plane
		}
		var sc *scratch
		select {
		case sc = <-pool:
		default:
			n := max(h, w)
			sc = &scratch{g: make([]float64, plane), buf: make([]float64, 16*h), fq: make([]float64, n),
				z: make([]float64, n+1), v: make([]int, n)}
		}
		defer func() { pool <- sc }()
		// Search when a sample of the plane's queries says it is cheaper than the passes.
		if searchBudget > 0 {
			dzp, atp := dz[z*plane:(z+1)*plane], at[z*plane:(z+1)*plane]
			nq := start[(z+1)*h] - start[z*h]
			limit := searchBudget*plane + 4096
			if searchEstimate(dzp, atp, nq, h, w, s0, s1, s2, limit) <= limit &&
				searchPlane(dzp, atp, res[start[z*h]:start[(z+1)*h]], h, w, s0, s1, s2, 2*limit) {
				return
			}
		}
		g := sc.g
		dzp := dz[z*plane : (z+1)*plane]
		for i, q := range dzp {
			if q >= 0 {
				t := float64(q) * s0
				g[i] = float64(t * t)
			} else {
				g[i] = inf
			}
		}
		// Axis 1: columns of the plane, 16 at a time.
		ss1 := s1 * s1
		for x0 := 0; x0 < w; x0 += 16 {
			bw := min(16, w-x0)
			for y := range h {
				for j, x := range g[y*w+x0 : y*w+x0+bw] {
					sc.buf[j*h+y] = x
				}
			}
			for j := range bw {
				f := sc.buf[j*h : (j+1)*h]
				if envelope1D(f, sc.fq, sc.v, sc.z, ss1) < 0 {
					continue
				}
				k := 0
				for p := range h {
					for sc.z[k+1] < float64(p) {
						k++
					}
					q := sc.v[k]
					t := float64(p-q) * s1
					g[p*w+x0+j] = f[q] + float64(t*t)
				}
			}
		}
		// Axis 2: rows with query voxels; evaluate only at them.
		ss2 := s2 * s2
		for y := range h {
			r := z*h + y
			if start[r+1] == start[r] {
				continue
			}
			f := g[y*w : (y+1)*w]
			o := start[r]
			if envelope1D(f, sc.fq, sc.v, sc.z, ss2) < 0 {
				for ; o < start[r+1]; o++ {
					res[o] = inf
				}
				continue
			}
			k := 0
			for p, b := range at[r*w : (r+1)*w] {
				if !b {
					continue
				}
				for sc.z[k+1] < float64(p) {
					k++
				}
				q := sc.v[k]
				t := float64(p-q) * s2
				res[o] = math.Sqrt(f[q] + float64(t*t))
				o++
			}
		}
	})
	return res, true
}

// searchBudget bounds searchPlane's work, in steps per voxel of the plane, before the
// plane falls back to the linear-time passes; 0 disables the search (tests).
var searchBudget = 4

// searchPlane computes the distances at the query voxels of one plane (at, in raster
// order into res) by searching outward from each query: along axis 2 by increasing
// |dx|, and for each candidate column along axis 1 by increasing |dy|, with the axis-0
// term from dz. A candidate's squared distance fl(fl(t0 + t1) + t2) is at least t1 and at
// least t2 (all terms are >= 0 and rounding is monotone), so a search direction stops
// once its own term reaches the best value found: the result is the exact minimum of
// the same float64 expression the passes minimise. It returns false, leaving res
// partly written, when the work exceeds budget steps.
func searchPlane(dz []int16, at []bool, res []float64, h, w int, s0, s1, s2 float64, budget int) bool {
	inf := math.Inf(1)
	o := 0
	prevY, prevP, prevD := -1, -1, inf // the last query and its distance
	for y := range h {
		for p, b := range at[y*w : (y+1)*w] {
			if !b {
				continue
			}
			// By the triangle inequality the answer is at most the previous query's
			// distance plus the step between them; slightly inflated, that bound prunes
			// from the start and is never the answer itself.
			bound := inf
			if prevY >= 0 && !math.IsInf(prevD, 1) {
				sy, sx := float64(y-prevY)*s1, float64(p-prevP)*s2
				r := prevD + math.Sqrt(sy*sy+sx*sx)
				bound = r*r*(1+1e-9) + 1e-300
			}
			best := searchOne(dz, h, w, y, p, s0, s1, s2, bound, &budget)
			if best >= bound { // nothing below the bound (rounding): search unbounded
				best = searchOne(dz, h, w, y, p, s0, s1, s2, inf, &budget)
			}
			if budget < 0 {
				return false
			}
			res[o] = math.Sqrt(best)
			prevY, prevP, prevD = y, p, res[o]
			o++
		}
	}
	return true
}

// searchOne returns the smallest squared distance below best from query (y, p) of a
// plane to the targets described by dz, or best itself when there is none.
func searchOne(dz []int16, h, w, y, p int, s0, s1, s2, best float64, budget *int) float64 {
	for dx := 0; ; dx++ {
		tx := float64(dx) * s2
		t2 := float64(tx * tx)
		if t2 >= best || (p-dx < 0 && p+dx >= w) {
			break
		}
		for side := 0; side < 2; side++ {
			q := p - dx
			if side == 1 {
				if dx == 0 {
					break
				}
				q = p + dx
			}
			if q < 0 || q >= w {
				continue
			}
			for dy := 0; ; dy++ {
				ty := float64(dy) * s1
				t1 := float64(ty * ty)
				if t1 >= best || (y-dy < 0 && y+dy >= h) {
					break
				}
				*budget--
				for yside := 0; yside < 2; yside++ {
					yy := y - dy
					if yside == 1 {
						if dy == 0 {
							break
						}
						yy = y + dy
					}
					if yy < 0 || yy >= h {
						continue
					}
					d0 := dz[yy*w+q]
					if d0 < 0 {
						continue
					}
					tz := float64(d0) * s0
					best = min(best, (float64(tz*tz)+t1)+t2)
				}
			}
		}
		if *budget < 0 {
			return best
		}
	}
	return best
}

// searchEstimate predicts searchPlane's steps for a plane with nq queries from up to 16
// queries spread over it, each searched without a bound; it stops early (returning more
// than limit) as soon as the prediction cannot stay under limit.
func searchEstimate(dz []int16, at []bool, nq, h, w int, s0, s1, s2 float64, limit int) int {
	const samples = 16
	ns := min(samples, nq)
	if ns == 0 {
		return 0
	}
	steps, seen, next, taken := 0, 0, 0, 0
	for i, b := range at {
		if !b {
			continue
		}
		if seen == next {
			budget := limit
			searchOne(dz, h, w, i/w, i%w, s0, s1, s2, math.Inf(1), &budget)
			steps += limit - budget
			taken++
			if steps*nq/ns > limit || budget < 0 {
				return limit + 1
			}
			next = taken * nq / ns
		}
		seen++
	}
	return steps * nq / max(taken, 1)
}
