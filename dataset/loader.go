package dataset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
)

// Order returns the sample order of an epoch: a permutation of 0..n-1 that depends only
// on (seed, epoch).
func Order(n int, seed uint64, epoch int) []int {
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)*0x9E3779B97F4A7C15+1))
	return rng.Perm(n)
}

// Sample is one training example ready for the model.
type Sample struct {
	Index   int       // slice index in the dataset
	Name    string    // slice name
	Image   []float32 // [3, Size, Size]
	Label   []int32   // [LabelSize, LabelSize]
	Present []bool    // per class: does the (augmented) slice contain it
}

// Loader reads, augments and preprocesses a dataset's slices in parallel and hands them
// out in batches, in the epoch's seeded order, so that a training run is reproducible
// whatever the number of workers.
type Loader struct {
	DS        Dataset
	Aug       *Augmenter // nil: no augmentation
	Size      int        // model input size (1024 for SAM)
	LabelSize int        // target size (256, the low-resolution mask size)
	Seed      uint64     // shuffling seed
	Workers   int        // parallel readers (default 2)
	Shuffle   bool
}

// Load returns slice i of the dataset prepared for epoch.
func (l *Loader) Load(i, epoch int) (*Sample, error) {
	s, err := l.DS.Slice(i)
	if err != nil {
		return nil, err
	}
	if s.Label == nil {
		return nil, fmt.Errorf("dataset: slice %s has no labels", s.Name)
	}
	if l.Aug != nil {
		s = l.Aug.Apply(s, epoch, i)
	}
	nc := len(l.DS.Classes())
	smp := &Sample{Index: i, Name: s.Name, Image: ModelInput(s, l.Size), Label: TargetLabels(s, l.LabelSize),
		Present: make([]bool, nc)}
	for _, v := range s.Label {
		if v < 0 || int(v) >= nc {
			return nil, fmt.Errorf("dataset: slice %s has label %d but the dataset has %d classes", s.Name, v, nc)
		}
		smp.Present[v] = true
	}
	return smp, nil
}

// Run calls fn with consecutive batches of up to batch samples of one epoch, in order,
// loading ahead with Workers goroutines. It stops at the first error (from loading or
// from fn) or when ctx is cancelled.
func (l *Loader) Run(ctx context.Context, epoch, batch int, fn func([]*Sample) error) error {
	if l.Size <= 0 || l.LabelSize <= 0 || batch <= 0 {
		return errors.New("dataset: loader needs positive Size, LabelSize and batch")
	}
	n := l.DS.NumSlices()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if l.Shuffle {
		order = Order(n, l.Seed, epoch)
	}
	workers := l.Workers
	if workers <= 0 {
		workers = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		s   *Sample
		err error
	}
	// One slot per sample, filled by the workers; the consumer waits on them in order.
	slots := make([]chan result, n)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				s, err := l.Load(order[k], epoch)
				slots[k] <- result{s, err}
			}
		}()
	}
	// Feed at most a few batches ahead of the consumer.
	ahead := make(chan struct{}, 2*batch+workers)
	go func() {
		defer close(next)
		for k := range n {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Stop the feeder first, then wait for the workers it releases.
	defer func() {
		cancel()
		wg.Wait()
	}()
	var cur []*Sample
	for k := range n {
		var r result
		select {
		case r = <-slots[k]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		if r.err != nil {
			return r.err
		}
		cur = append(cur, r.s)
		if len(cur) == batch || k == n-1 {
			if err := fn(cur); err != nil {
				return err
			}
			cur = nil
		}
	}
	return nil
}
