package dataset

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestLoaderReproducible(t *testing.T) {
	g, err := NewSynthetic(SyntheticOptions{H: 40, W: 40, Depth: 5, Cases: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	aug := NewAugmenter(3)
	run := func(workers, epoch int) (names []string, sums []float64) {
		l := &Loader{DS: g, Aug: &aug, Size: 32, LabelSize: 16, Seed: 9, Workers: workers, Shuffle: true}
		err := l.Run(context.Background(), epoch, 4, func(b []*Sample) error {
			if len(b) > 4 {
				t.Fatalf("batch of %d", len(b))
			}
			for _, s := range b {
				if len(s.Image) != 3*32*32 || len(s.Label) != 16*16 || len(s.Present) != 9 || !s.Present[0] {
					t.Fatalf("sample %s: %d %d %v", s.Name, len(s.Image), len(s.Label), s.Present)
				}
				for _, v := range s.Label {
					if !s.Present[v] {
						t.Fatalf("label %d not marked present", v)
					}
				}
				names = append(names, s.Name)
				sum := 0.0
				for _, v := range s.Image {
					sum += float64(v)
				}
				sums = append(sums, sum)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	n1, s1 := run(1, 0)
	n3, s3 := run(3, 0)
	if len(n1) != 15 || !slices.Equal(n1, n3) || !slices.Equal(s1, s3) {
		t.Fatalf("1 and 3 workers differ:\n%v\n%v", n1, n3)
	}
	n2, _ := run(2, 1)
	if slices.Equal(n1, n2) {
		t.Error("epochs 0 and 1 have the same order")
	}
	seen := slices.Clone(n2)
	slices.Sort(seen)
	if len(slices.Compact(seen)) != 15 {
		t.Error("an epoch does not visit every slice once")
	}
	// Errors from fn stop the run; so does cancellation.
	l := &Loader{DS: g, Size: 32, LabelSize: 16, Workers: 2}
	stop := errors.New("stop")
	calls := 0
	if err := l.Run(context.Background(), 0, 2, func([]*Sample) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx, 0, 2, func([]*Sample) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := l.Run(context.Background(), 0, 0, nil); err == nil {
		t.Error("batch 0 accepted")
	}
}
