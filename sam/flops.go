package sam

// EncoderFLOPs returns the floating-point operations (2 per multiply-add) of one image
// encoder pass on an input of h x w pixels: convolutions, linear layers, attention
// products and the relative-position terms; elementwise work is not counted.
func EncoderFLOPs(c EncoderConfig, h, w int) float64 {
	gh, gw := float64(h/c.PatchSize), float64(w/c.PatchSize)
	tok := gh * gw
	C := float64(c.EmbedDim)
	hidden := float64(int(float64(c.EmbedDim) * c.MLPRatio))
	p := float64(c.PatchSize)
	mac := tok * C * float64(c.InChans) * p * p
	for i := range c.Depth {
		var groups, n, sh, sw float64
		if c.IsGlobal(i) {
			groups, n, sh, sw = 1, tok, gh, gw
		} else {
			ws := c.WindowSize
			nh, nw := (h/c.PatchSize+ws-1)/ws, (w/c.PatchSize+ws-1)/ws
			groups, n, sh, sw = float64(nh*nw), float64(ws*ws), float64(ws), float64(ws)
		}
		t := groups * n
		mac += t * C * 3 * C          // qkv
		mac += groups * 2 * n * n * C // q·kᵀ and p·v over all heads
		if c.UseRelPos {
			mac += t * (sh + sw) * C
		}
		mac += t * C * C            // proj
		mac += tok * 2 * C * hidden // MLP
	}
	o := float64(c.OutChans)
	mac += tok*C*o + tok*o*o*9
	return 2 * mac
}

// DecoderFLOPs returns the operations of one prompt-encoder + mask-decoder pass for one
// prompt with nSparse sparse embeddings (points, padding, box corners), without a mask input.
func DecoderFLOPs(c Config, nSparse int) float64 {
	d := c.Decoder
	C := float64(d.TransformerDim)
	ci := C / float64(d.AttnDownsample)
	hw := float64(c.Prompt.ImageEmbeddingSize * c.Prompt.ImageEmbeddingSize)
	nt := float64(d.NumMultimaskOutputs+2) + float64(nSparse)
	cross := func(nq, nk float64) float64 { // q from nq tokens, k/v from nk tokens
		return nq*C*ci + 2*nk*C*ci + 2*nq*nk*ci + nq*ci*C
	}
	var mac float64
	for range d.Depth {
		mac += 4*nt*C*C + 2*nt*nt*C // self-attention
		mac += cross(nt, hw)        // token -> image
		mac += 2 * nt * C * float64(d.MLPDim)
		mac += cross(hw, nt) // image -> token
	}
	mac += cross(nt, hw)
	mac += hw * C * C                     // convT 2x2: C -> C/4 at 4 positions
	mac += 4 * hw * (C / 4) * (C / 8) * 4 // convT: C/4 -> C/8
	m := float64(d.NumMultimaskOutputs + 1)
	mac += m * (2*C*C + C*C/8)   // hypernetwork MLPs
	mac += m * (C / 8) * 16 * hw // masks = hyper · upscaled
	mac += C*float64(d.IoUHeadHidden) + float64(d.IoUHeadHidden)*float64(d.IoUHeadHidden) + float64(d.IoUHeadHidden)*m
	return 2 * mac
}
