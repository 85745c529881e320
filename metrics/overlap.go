package metrics

// Dice returns 2|A∩B| / (|A|+|B|) of two masks of equal length; 1 when both are empty
// (the reference code's convention). Masks of different lengths are a programming error
// and panic; EvaluateCase validates user input.
func Dice(pred, gt []bool) float64 {
	np, ng, ni := counts(pred, gt)
	return diceOf(np, ng, ni)
}

// Jaccard returns |A∩B| / |A∪B|; 1 when both are empty.
func Jaccard(pred, gt []bool) float64 {
	np, ng, ni := counts(pred, gt)
	return jaccardOf(np, ng, ni)
}

func diceOf(np, ng, ni int) float64 {
	if np+ng == 0 {
		return 1
	}
	return 2.0 * float64(ni) / float64(np+ng)
}

func jaccardOf(np, ng, ni int) float64 {
	u := np + ng - ni
	if u == 0 {
		return 1
	}
	return float64(ni) / float64(u)
}

func counts(pred, gt []bool) (np, ng, ni int) {
	if len(pred) != len(gt) {
		panic("metrics: masks of different lengths")
	}
	for i, p := range pred {
		g := gt[i]
		if p {
			np++
			if g {
				ni++
			}
		}
		if g {
			ng++
		}
	}
	return
}
