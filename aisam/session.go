package aisam

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/aisam/aisam/sam"
	"github.com/aisam/aisam/tensor"
)

// UserPoint is a click in input-image pixels.
type UserPoint struct {
	Class    int     `json:"class"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Positive bool    `json:"positive"`
}

// BoxMode selects what a class's box does.
type BoxMode int

const (
	// BoxGate is AI-SAM's use of a box: the class's heatmaps get -999 outside it (so
	// its generated points move inside) and its final logits -inf outside.
	BoxGate BoxMode = iota
	// BoxToken adds SAM's two box-corner tokens to the class's prompt instead.
	BoxToken
)

// Box is a class's box in input-image pixels; pixels with X0 <= x <= X1 and
// Y0 <= y <= Y1 are inside.
type Box struct {
	X0, Y0, X1, Y1 float64
	Mode           BoxMode
}

// Presence overrides the classifier for one class.
type Presence int

const (
	// PresenceAuto follows the classifier head (sigmoid > threshold).
	PresenceAuto Presence = iota
	// PresenceOn forces the class present ("gt label" in the paper).
	PresenceOn
	// PresenceOff forces it absent.
	PresenceOff
)

// Options configure Segment and NewSession.
type Options struct {
	Points   []UserPoint
	Boxes    map[int]Box
	Presence map[int]Presence
	// PointMode is SoftPoints (default: generalized points, as the official soft
	// forward) or ArgmaxPoints (each heatmap's maximum as an ordinary SAM point).
	PointMode PointMode
	// LocalEdits confines every edit of class i to class i's own prompt, so that an edit
	// reruns one mask-decoder pass. By default, as in AI-SAM, class i's points (user
	// clicks and its generated points, moved, removed or box-gated) are also negative
	// points in every other class's prompt, so most edits re-decode every class.
	LocalEdits bool
	// Threshold is the presence threshold on the classifier's sigmoid (0 means 0.5).
	Threshold float64
}

// GeneratedPoint is one AutoPrompt point of a class: its heatmap's maximum (or where the
// user moved it), in input-image pixels.
type GeneratedPoint struct {
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Heat    float64 `json:"heat"` // the heatmap's probability at its maximum
	Moved   bool    `json:"moved,omitempty"`
	Removed bool    `json:"removed,omitempty"`
}

// ClassResult describes one class of a Result.
type ClassResult struct {
	Name    string           `json:"name"`
	Score   float64          `json:"score"`   // classifier sigmoid (1 without classifier, and for background)
	Present bool             `json:"present"` // score above the threshold, or a positive click or a box on the class; Forced overrides
	Forced  bool             `json:"forced,omitempty"`
	Points  []GeneratedPoint `json:"points"`
	Area    int              `json:"area"` // pixels labelled with this class
	Box     *Box             `json:"box,omitempty"`
}

// Timing says where the time of the last computation went.
type Timing struct {
	Embed, AutoPrompt, Decode, Post time.Duration
	Decoded                         int // classes whose mask decoder ran
}

// Result is a segmentation of one image.
type Result struct {
	H, W       int
	Labels     []uint8        // H*W class indices
	Logits     *tensor.Tensor // [C, H, W] per-class logits at the image's size (-inf outside gating boxes)
	LowRes     *tensor.Tensor // [C, 4h, 4w] the decoder's low-resolution logits, before gating
	Classes    []ClassResult
	UserPoints []UserPoint
	Timing     Timing
}

type genEdit struct {
	Removed bool
	X, Y    float64 // image pixels when moved
}

type state struct {
	points   []UserPoint
	boxes    map[int]Box
	gen      map[[2]int]genEdit
	presence map[int]Presence
}

func (s *state) clone() *state {
	n := &state{points: append([]UserPoint(nil), s.points...), boxes: map[int]Box{}, gen: map[[2]int]genEdit{}, presence: map[int]Presence{}}
	for k, v := range s.boxes {
		n.boxes[k] = v
	}
	for k, v := range s.gen {
		n.gen[k] = v
	}
	for k, v := range s.presence {
		n.presence[k] = v
	}
	return n
}

// Session is an interactive segmentation of one image: it keeps the image embedding and
// the AutoPrompt's outputs, and each edit recomputes only what it changes (an edit never
// reruns the encoder or the AutoPrompt transformer; the mask decoder reruns only for the
// classes whose prompt changed). Methods are safe for concurrent use.
type Session struct {
	mu     sync.Mutex
	m      *Model
	geo    geometry
	emb    *tensor.Tensor
	logits *tensor.Tensor // [C, P, hw] heatmap logits before any box
	scores []float64      // classifier sigmoid per class (NaN without classifier)
	opts   Options
	st     *state
	undo   []*state
	redo   []*state

	boxKey []string         // per class: the gating box attn/loc were computed for
	attn   []*tensor.Tensor // per class [P, hw] soft heatmaps after the box
	loc    []*tensor.Tensor // per class [P, D] points under PointMode
	base   []*tensor.Tensor // per class [1, P, D] unedited points (no box): LocalEdits' negatives
	sparse []*tensor.Tensor // per class: the prompt last decoded
	peT    *tensor.Tensor   // the dense PE transposed, [hw, D]
	low    []*tensor.Tensor // per class [1, 1, 4h, 4w]
	full   []*tensor.Tensor // per class [H, W]
	// decoded remembers recent decoder outputs by prompt, so that undo and redo (and
	// edits that return to an earlier prompt) reuse them instead of decoding again.
	decoded map[uint64]decodedPrompt
	order   []uint64
	timing  Timing
	last    *Result
}

func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("aisam: internal error: %v", r)
	}
}

// Segment segments img automatically (plus any prompts in opts).
func (m *Model) Segment(ctx context.Context, img *Image, opts Options) (*Result, error) {
	s, err := m.NewSession(ctx, img, opts)
	if err != nil {
		return nil, err
	}
	return s.Result(), nil
}

// NewSession encodes img, runs the AutoPrompt for every class and computes the first
// result with the prompts in opts.
func (m *Model) NewSession(ctx context.Context, img *Image, opts Options) (s *Session, err error) {
	defer guard(&err)
	x, geo, err := m.Cfg.preprocess(img)
	if err != nil {
		return nil, err
	}
	// Check the prompts before the expensive encoder runs.
	if _, err := (&Session{m: m, geo: geo}).initialState(opts); err != nil {
		return nil, err
	}
	t0 := time.Now()
	emb, err := m.ImageEncoder.ForwardContext(ctx, x)
	if err != nil {
		return nil, err
	}
	embed := time.Since(t0)
	s, err = m.NewSessionFromEmbedding(ctx, emb, img.H, img.W, opts)
	if err != nil {
		return nil, err
	}
	s.last.Timing.Embed = embed
	return s, nil
}

// NewSessionFromEmbedding starts a session from a precomputed embedding [1, D, h, w] of
// an origH x origW image (preprocessed as the model's config says).
func (m *Model) NewSessionFromEmbedding(ctx context.Context, emb *tensor.Tensor, origH, origW int, opts Options) (s *Session, err error) {
	defer guard(&err)
	c := m.NumClasses()
	d := m.Cfg.AutoPrompt.Dim
	g := m.Cfg.SAM.Prompt.ImageEmbeddingSize
	if emb == nil || emb.Rank() != 4 || emb.Dim(0) != 1 || emb.Dim(1) != d || emb.Dim(2) != g || emb.Dim(3) != g {
		return nil, fmt.Errorf("aisam: embedding %v, want [1 %d %d %d]", shapeOf(emb), d, g, g)
	}
	if origH <= 0 || origW <= 0 || origH > 1<<15 || origW > 1<<15 || origH*origW > 1<<25 {
		return nil, fmt.Errorf("aisam: image size %dx%d (want 1..32768 per side, at most 2^25 pixels)", origW, origH)
	}
	if opts.PointMode == GumbelPoints {
		return nil, fmt.Errorf("aisam: Gumbel points are random; use SoftPoints or ArgmaxPoints for segmentation")
	}
	if opts.Threshold == 0 {
		opts.Threshold = 0.5
	}
	geo := geometry{OrigH: origH, OrigW: origW, S: m.Cfg.SAM.Encoder.ImgSize, InputH: m.Cfg.SAM.Encoder.ImgSize, InputW: m.Cfg.SAM.Encoder.ImgSize}
	if m.Cfg.Preprocess.Resize == "longest" {
		sc := float64(geo.S) / float64(max(origH, origW))
		geo.InputH, geo.InputW = int(float64(origH)*sc+0.5), int(float64(origW)*sc+0.5)
	}
	s = &Session{m: m, geo: geo, emb: emb, opts: opts, st: &state{boxes: map[int]Box{}, gen: map[[2]int]genEdit{}, presence: map[int]Presence{}}}
	s.boxKey = make([]string, c)
	s.attn = make([]*tensor.Tensor, c)
	s.loc = make([]*tensor.Tensor, c)
	s.base = make([]*tensor.Tensor, c)
	s.sparse = make([]*tensor.Tensor, c)
	s.low = make([]*tensor.Tensor, c)
	s.full = make([]*tensor.Tensor, c)
	st, err := s.initialState(opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	ap := m.AutoPrompt
	tokens, features := ap.encodeFast(emb, nil)
	hw := g * g
	s.logits = ap.heatmapsCM(tokens, features).Reshape(c, ap.Cfg.NumPoints, hw)
	s.scores = make([]float64, c)
	if cl := ap.Classify(nil, emb); cl != nil {
		for i := range s.scores {
			s.scores[i] = 1 / (1 + math.Exp(-float64(cl.Data[i])))
		}
	} else {
		for i := range s.scores {
			s.scores[i] = math.NaN()
		}
	}
	s.timing.AutoPrompt = time.Since(t0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.st = st
	s.update()
	return s, nil
}

// initialState validates the prompts of opts and returns them as a state.
func (s *Session) initialState(opts Options) (*state, error) {
	st := &state{boxes: map[int]Box{}, gen: map[[2]int]genEdit{}, presence: map[int]Presence{}}
	for _, p := range opts.Points {
		if err := s.checkPoint(p); err != nil {
			return nil, err
		}
		st.points = append(st.points, p)
	}
	for cl, b := range opts.Boxes {
		if err := s.checkBox(cl, b); err != nil {
			return nil, err
		}
		st.boxes[cl] = b
	}
	for cl, p := range opts.Presence {
		if err := s.checkClass(cl); err != nil {
			return nil, err
		}
		if p < PresenceAuto || p > PresenceOff {
			return nil, fmt.Errorf("aisam: presence %d", p)
		}
		st.presence[cl] = p
	}
	return st, nil
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}

func (s *Session) checkClass(c int) error {
	if c < 0 || c >= s.m.NumClasses() {
		return fmt.Errorf("aisam: class %d outside [0, %d)", c, s.m.NumClasses())
	}
	return nil
}

func (s *Session) checkXY(x, y float64) error {
	// SAM's convention: coordinates are continuous, pixel column i spans [i, i+1), so x = W
	// is the right edge of the last column (a box must reach it to cover that column).
	if math.IsNaN(x) || math.IsNaN(y) || x < 0 || y < 0 || x > float64(s.geo.OrigW) || y > float64(s.geo.OrigH) {
		return fmt.Errorf("aisam: point (%g, %g) outside the %dx%d image (0 <= x <= %d, 0 <= y <= %d)", x, y, s.geo.OrigW, s.geo.OrigH, s.geo.OrigW, s.geo.OrigH)
	}
	return nil
}

func (s *Session) checkPoint(p UserPoint) error {
	if err := s.checkClass(p.Class); err != nil {
		return err
	}
	return s.checkXY(p.X, p.Y)
}

func (s *Session) checkBox(c int, b Box) error {
	if err := s.checkClass(c); err != nil {
		return err
	}
	if err := s.checkXY(b.X0, b.Y0); err != nil {
		return fmt.Errorf("aisam: box corner: %w", err)
	}
	if err := s.checkXY(b.X1, b.Y1); err != nil {
		return fmt.Errorf("aisam: box corner: %w", err)
	}
	if b.X1 < b.X0 || b.Y1 < b.Y0 {
		return fmt.Errorf("aisam: box (%g, %g)-(%g, %g) has its corners swapped", b.X0, b.Y0, b.X1, b.Y1)
	}
	if b.Mode != BoxGate && b.Mode != BoxToken {
		return fmt.Errorf("aisam: box mode %d", b.Mode)
	}
	return nil
}

// Result returns the current result.
func (s *Session) Result() *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// edit applies f to a copy of the state and recomputes; on error nothing changes.
func (s *Session) edit(f func(st *state) error) (res *Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer guard(&err)
	st := s.st.clone()
	if err := f(st); err != nil {
		return nil, err
	}
	s.undo = append(s.undo, s.st)
	s.redo = nil
	s.st = st
	s.update()
	return s.last, nil
}

// AddPoint adds a positive or negative click for class c at (x, y) image pixels.
func (s *Session) AddPoint(c int, x, y float64, positive bool) (*Result, error) {
	return s.edit(func(st *state) error {
		p := UserPoint{Class: c, X: x, Y: y, Positive: positive}
		if err := s.checkPoint(p); err != nil {
			return err
		}
		st.points = append(st.points, p)
		return nil
	})
}

// RemovePoint removes the i-th user point (in the order of Result.UserPoints).
func (s *Session) RemovePoint(i int) (*Result, error) {
	return s.edit(func(st *state) error {
		if i < 0 || i >= len(st.points) {
			return fmt.Errorf("aisam: no user point %d (have %d)", i, len(st.points))
		}
		st.points = append(st.points[:i:i], st.points[i+1:]...)
		return nil
	})
}

func (s *Session) checkGen(c, i int) error {
	if err := s.checkClass(c); err != nil {
		return err
	}
	if i < 0 || i >= s.m.Cfg.AutoPrompt.NumPoints {
		return fmt.Errorf("aisam: generated point %d outside [0, %d)", i, s.m.Cfg.AutoPrompt.NumPoints)
	}
	return nil
}

// MovePoint moves generated point i of class c to (x, y): it becomes an ordinary SAM
// point there (still positive for c and negative for the other classes).
func (s *Session) MovePoint(c, i int, x, y float64) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkGen(c, i); err != nil {
			return err
		}
		if err := s.checkXY(x, y); err != nil {
			return err
		}
		st.gen[[2]int{c, i}] = genEdit{X: x, Y: y}
		return nil
	})
}

// RemoveGeneratedPoint drops generated point i of class c from every class's prompt.
func (s *Session) RemoveGeneratedPoint(c, i int) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkGen(c, i); err != nil {
			return err
		}
		st.gen[[2]int{c, i}] = genEdit{Removed: true}
		return nil
	})
}

// ResetGeneratedPoint undoes moves and removals of generated point i of class c.
func (s *Session) ResetGeneratedPoint(c, i int) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkGen(c, i); err != nil {
			return err
		}
		delete(st.gen, [2]int{c, i})
		return nil
	})
}

// SetBox sets class c's box.
func (s *Session) SetBox(c int, b Box) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkBox(c, b); err != nil {
			return err
		}
		st.boxes[c] = b
		return nil
	})
}

// ClearBox removes class c's box.
func (s *Session) ClearBox(c int) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkClass(c); err != nil {
			return err
		}
		delete(st.boxes, c)
		return nil
	})
}

// SetPresence forces class c present or absent, or returns it to the classifier.
func (s *Session) SetPresence(c int, p Presence) (*Result, error) {
	return s.edit(func(st *state) error {
		if err := s.checkClass(c); err != nil {
			return err
		}
		if p < PresenceAuto || p > PresenceOff {
			return fmt.Errorf("aisam: presence %d", p)
		}
		if p == PresenceAuto {
			delete(st.presence, c)
		} else {
			st.presence[c] = p
		}
		return nil
	})
}

// Undo reverts the last edit; it fails when there is none.
func (s *Session) Undo() (res *Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer guard(&err)
	if len(s.undo) == 0 {
		return nil, fmt.Errorf("aisam: nothing to undo")
	}
	s.redo = append(s.redo, s.st)
	s.st = s.undo[len(s.undo)-1]
	s.undo = s.undo[:len(s.undo)-1]
	s.update()
	return s.last, nil
}

// Redo re-applies the last undone edit.
func (s *Session) Redo() (res *Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer guard(&err)
	if len(s.redo) == 0 {
		return nil, fmt.Errorf("aisam: nothing to redo")
	}
	s.undo = append(s.undo, s.st)
	s.st = s.redo[len(s.redo)-1]
	s.redo = s.redo[:len(s.redo)-1]
	s.update()
	return s.last, nil
}

// gridKeep returns class c's box as a keep mask on the h x w grid, sampled at encoder
// pixel 16*i+8 as the official nearest-exact resize of a full-size box mask does.
func (s *Session) gridKeep(b Box) *tensor.Tensor {
	g := s.m.Cfg.SAM.Prompt.ImageEmbeddingSize
	cell := float64(s.geo.S) / float64(g)
	keep := tensor.New(g * g)
	for i := 0; i < g; i++ {
		for j := 0; j < g; j++ {
			ex, ey := (float64(j)+0.5)*cell, (float64(i)+0.5)*cell
			// The encoder pixel's image pixel, by the same nearest rule as the box mask.
			x, y := math.Floor(ex/s.geo.sx()), math.Floor(ey/s.geo.sy())
			if x >= b.X0 && x <= b.X1 && y >= b.Y0 && y <= b.Y1 {
				keep.Data[i*g+j] = 1
			}
		}
	}
	return keep
}

// update recomputes everything the state implies, reusing cached per-class work.
func (s *Session) update() {
	m := s.m
	c := m.NumClasses()
	p := m.Cfg.AutoPrompt.NumPoints
	d := m.Cfg.AutoPrompt.Dim
	g := m.Cfg.SAM.Prompt.ImageEmbeddingSize
	hw := g * g
	t0 := time.Now()
	// 1. Heatmaps and generalized points, per class, for its gating box; the classes
	// whose box changed go through together.
	var redo []int
	var lgs []*tensor.Tensor
	for i := 0; i < c; i++ {
		key := ""
		b, ok := s.st.boxes[i]
		if ok && b.Mode == BoxGate {
			key = fmt.Sprint(b.X0, b.Y0, b.X1, b.Y1)
		}
		if s.attn[i] != nil && s.boxKey[i] == key {
			continue
		}
		lg := tensor.Slice(s.logits, 0, i, i+1).Reshape(1, 1, p, hw)
		if key != "" {
			lg = MaskLogits(nil, lg, s.gridKeep(b).Reshape(1, 1, hw))
		}
		redo = append(redo, i)
		lgs = append(lgs, lg)
		s.boxKey[i] = key
	}
	if len(redo) > 0 {
		attn, loc := s.locate(tensor.Concat(1, lgs...))
		for k, i := range redo {
			s.attn[i] = tensor.Slice(attn, 0, k, k+1).Reshape(p, hw)
			s.loc[i] = tensor.Slice(loc, 0, k, k+1).Reshape(p, d)
			if s.boxKey[i] == "" {
				s.base[i] = s.loc[i].Reshape(1, p, d)
			}
		}
	}
	for i := 0; i < c && s.opts.LocalEdits; i++ {
		if s.base[i] == nil {
			lg := tensor.Slice(s.logits, 0, i, i+1).Reshape(1, 1, p, hw)
			_, loc := s.locate(lg)
			s.base[i] = loc.Reshape(1, p, d)
		}
	}
	// 2. Each class's point tokens (without label embedding).
	own := make([]*tensor.Tensor, c)
	for i := 0; i < c; i++ {
		var rows []float32
		for j := 0; j < p; j++ {
			e, ok := s.st.gen[[2]int{i, j}]
			switch {
			case ok && e.Removed:
			case ok:
				ex, ey := s.geo.toEncoder(e.X, e.Y)
				pe := m.embedPoints(nil, []PromptPoint{{X: ex, Y: ey, Label: 1}})
				pos := m.PromptEncoder.PointEmbeddings[1].Weight.Data
				for k := 0; k < d; k++ {
					rows = append(rows, pe.Data[k]-pos[k])
				}
			default:
				rows = append(rows, s.loc[i].Data[j*d:(j+1)*d]...)
			}
		}
		own[i] = tensor.FromSlice(rows, 1, len(rows)/d, d)
	}
	pos, neg := m.labelEmbeddings()
	sparse := make([]*tensor.Tensor, c)
	for i := 0; i < c; i++ {
		parts := []*tensor.Tensor{tensor.Add(own[i], pos)}
		for j := 0; j < c; j++ {
			switch {
			case j == i:
			case s.opts.LocalEdits:
				parts = append(parts, tensor.Add(s.base[j], neg))
			default:
				parts = append(parts, tensor.Add(own[j], neg))
			}
		}
		if up := s.classUserPoints(i); len(up) > 0 {
			parts = append(parts, m.embedPoints(nil, up))
		}
		if b, ok := s.st.boxes[i]; ok && b.Mode == BoxToken {
			x0, y0 := s.geo.toEncoder(b.X0, b.Y0)
			x1, y1 := s.geo.toEncoder(b.X1, b.Y1)
			parts = append(parts, m.embedBox([4]float64{x0, y0, x1, y1}))
		}
		sparse[i] = tensor.Concat(1, parts...)
	}
	tAP := time.Since(t0)
	// 3. Decode the classes whose prompt changed.
	t1 := time.Now()
	var todo, run []int
	for i := 0; i < c; i++ {
		if s.low[i] != nil && sameTensor(s.sparse[i], sparse[i]) {
			continue
		}
		todo = append(todo, i)
		s.sparse[i] = sparse[i]
		if dp, ok := s.decoded[promptKey(sparse[i])]; ok && sameTensor(dp.sparse, sparse[i]) {
			s.low[i] = dp.low
		} else {
			run = append(run, i)
		}
	}
	if len(run) > 0 {
		sp := make([]*tensor.Tensor, len(run))
		for k, i := range run {
			sp[k] = sparse[i]
		}
		masks := m.decodeMasks(s.emb, sp)
		for k, i := range run {
			s.low[i] = tensor.Slice(masks, 1, k, k+1)
			s.remember(sparse[i], s.low[i])
		}
	}
	tDec := time.Since(t1)
	// 4. Full-resolution logits of the decoded classes, then the label map.
	t2 := time.Now()
	if len(todo) > 0 {
		lows := make([]*tensor.Tensor, len(todo))
		for k, i := range todo {
			lows[k] = s.low[i]
		}
		full := sam.PostprocessMasks(nil, tensor.Concat(1, lows...), s.geo.S, s.geo.InputH, s.geo.InputW, s.geo.OrigH, s.geo.OrigW)
		for k, i := range todo {
			s.full[i] = tensor.Slice(full, 1, k, k+1).Reshape(s.geo.OrigH, s.geo.OrigW)
		}
	}
	s.last = s.compose()
	s.timing.Post = time.Since(t2)
	if s.last != nil {
		s.timing.AutoPrompt += tAP
		s.timing.Decode = tDec
		s.timing.Decoded = len(run)
		s.last.Timing = s.timing
	}
	// Only the first computation charges the AutoPrompt transformer.
	s.timing.AutoPrompt = 0
}

// locate is Locate's heatmaps and generalized points for logits [1, K, P, hw] without
// the features it does not use: attn [K, P, hw] and loc [K, P, D] under the session's
// point mode, with the transposed dense PE made once per session.
func (s *Session) locate(logits *tensor.Tensor) (attn, loc *tensor.Tensor) {
	k, p, hw := logits.Dim(1), logits.Dim(2), logits.Dim(3)
	d := s.m.Cfg.AutoPrompt.Dim
	if s.peT == nil {
		s.peT = tensor.Transpose(s.m.DensePE().Reshape(d, hw), 0, 1) // hw D
	}
	attn = tensor.Softmax(logits, nil)
	w := attn
	if s.opts.PointMode != SoftPoints {
		w = pointWeights(nil, logits, s.opts.PointMode, nil)
	}
	loc = tensor.MatMul(w.Reshape(k*p, hw), s.peT, false, false)
	return attn.Reshape(k, p, hw), loc.Reshape(k, p, d)
}

// promptKey hashes a prompt's shape and bits (FNV-1a).
func promptKey(t *tensor.Tensor) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint32) {
		for k := 0; k < 4; k++ {
			h ^= uint64(byte(v >> (8 * k)))
			h *= 1099511628211
		}
	}
	for _, d := range t.Shape() {
		mix(uint32(d))
	}
	for _, v := range t.Data {
		mix(math.Float32bits(v))
	}
	return h
}

// decodedPrompt is a cached decoder output with the prompt it came from.
type decodedPrompt struct{ sparse, low *tensor.Tensor }

// remember caches a decoder output, keeping the most recent 8 per class.
func (s *Session) remember(sparse, low *tensor.Tensor) {
	if s.decoded == nil {
		s.decoded = map[uint64]decodedPrompt{}
	}
	k := promptKey(sparse)
	if _, ok := s.decoded[k]; !ok {
		s.order = append(s.order, k)
	}
	s.decoded[k] = decodedPrompt{sparse, low}
	for len(s.order) > 8*s.m.NumClasses() {
		delete(s.decoded, s.order[0])
		s.order = s.order[1:]
	}
}

func sameTensor(a, b *tensor.Tensor) bool {
	if a == nil || b == nil || !tensor.SameShape(a, b) {
		return false
	}
	for i, v := range a.Data {
		if math.Float32bits(v) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}

// classUserPoints lays out the user points for class c's pass in encoder pixels: its own
// clicks (positive 1, negative 0), then, unless LocalPoints, the positive clicks of the
// other classes as negatives, in ascending class order.
func (s *Session) classUserPoints(c int) []PromptPoint {
	var out []PromptPoint
	add := func(p UserPoint, label int) {
		x, y := s.geo.toEncoder(p.X, p.Y)
		out = append(out, PromptPoint{X: x, Y: y, Label: label})
	}
	for _, p := range s.st.points {
		if p.Class == c && p.Positive {
			add(p, 1)
		}
	}
	for _, p := range s.st.points {
		if p.Class == c && !p.Positive {
			add(p, 0)
		}
	}
	if !s.opts.LocalEdits {
		others := make([]UserPoint, 0, len(s.st.points))
		for _, p := range s.st.points {
			if p.Class != c && p.Positive {
				others = append(others, p)
			}
		}
		sort.SliceStable(others, func(a, b int) bool { return others[a].Class < others[b].Class })
		for _, p := range others {
			add(p, 0)
		}
	}
	return out
}

// prompted reports whether the user gave class c a positive click or a box.
func (s *Session) prompted(c int) bool {
	if _, ok := s.st.boxes[c]; ok {
		return true
	}
	for _, p := range s.st.points {
		if p.Class == c && p.Positive {
			return true
		}
	}
	return false
}

// compose builds the Result from the per-class full-resolution logits.
func (s *Session) compose() *Result {
	m := s.m
	c := m.NumClasses()
	h, w := s.geo.OrigH, s.geo.OrigW
	p := m.Cfg.AutoPrompt.NumPoints
	g := m.Cfg.SAM.Prompt.ImageEmbeddingSize
	res := &Result{H: h, W: w, Labels: make([]uint8, h*w), Logits: tensor.New(c, h, w), UserPoints: append([]UserPoint(nil), s.st.points...)}
	lows := make([]*tensor.Tensor, c)
	for i := range lows {
		lows[i] = s.low[i]
	}
	lr := tensor.Concat(1, lows...)
	res.LowRes = lr.Reshape(c, lr.Dim(2), lr.Dim(3))
	present := make([]bool, c)
	res.Classes = make([]ClassResult, c)
	negInf := float32(math.Inf(-1))
	for i := 0; i < c; i++ {
		cr := &res.Classes[i]
		cr.Name = m.Cfg.Classes[i]
		cr.Score = s.scores[i]
		if i == 0 || math.IsNaN(cr.Score) {
			cr.Score = 1
		}
		cr.Present = i == 0 || cr.Score > s.opts.Threshold || s.prompted(i)
		if f, ok := s.st.presence[i]; ok && i != 0 {
			cr.Forced = true
			cr.Present = f == PresenceOn
		}
		present[i] = cr.Present
		dst := res.Logits.Data[i*h*w : (i+1)*h*w]
		copy(dst, s.full[i].Data)
		if b, ok := s.st.boxes[i]; ok {
			bb := b
			cr.Box = &bb
			if b.Mode == BoxGate {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						if float64(x) < b.X0 || float64(x) > b.X1 || float64(y) < b.Y0 || float64(y) > b.Y1 {
							dst[y*w+x] = negInf
						}
					}
				}
			}
		}
		// Generated points: each heatmap's maximum, at its grid cell's centre.
		cell := float64(s.geo.S) / float64(g)
		at := s.attn[i]
		for j := 0; j < p; j++ {
			row := at.Data[j*g*g : (j+1)*g*g]
			best := 0
			for k, v := range row {
				if v > row[best] {
					best = k
				}
			}
			ex := (float64(best%g)+0.5)*cell - 0.5
			ey := (float64(best/g)+0.5)*cell - 0.5
			x, y := s.geo.toImage(ex, ey)
			gp := GeneratedPoint{X: x, Y: y, Heat: float64(row[best])}
			if e, ok := s.st.gen[[2]int{i, j}]; ok {
				if e.Removed {
					gp.Removed = true
				} else {
					gp.X, gp.Y, gp.Moved = e.X, e.Y, true
				}
			}
			cr.Points = append(cr.Points, gp)
		}
	}
	// Label: the most probable present class (softmax is monotonic, so the largest
	// logit); background where every present class is gated out.
	for px := 0; px < h*w; px++ {
		best, bv := 0, negInf
		for i := 0; i < c; i++ {
			if !present[i] {
				continue
			}
			if v := res.Logits.Data[i*h*w+px]; v > bv {
				best, bv = i, v
			}
		}
		res.Labels[px] = uint8(best)
		res.Classes[best].Area++
	}
	return res
}
