//go:build unix

package benchfmt

import (
	"fmt"
	"syscall"
	"time"
)

// maxRSS is getrusage's ru_maxrss in bytes (Linux reports kilobytes).
func maxRSS() (int64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("benchfmt: peak RSS: %w", err)
	}
	return int64(ru.Maxrss) * 1024, nil
}

// CPUTime returns the user+system CPU time consumed so far by the whole process (all
// threads). On a shared machine, work per CPU-second is what a run achieved while it
// actually had a core, which wall-clock time hides when neighbours take the cores.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
