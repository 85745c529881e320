//go:build !unix

package benchfmt

import (
	"errors"
	"time"
)

func maxRSS() (int64, error) { return 0, errors.New("benchfmt: peak RSS not available on this OS") }

// CPUTime is not available on this OS: it returns 0.
func CPUTime() time.Duration { return 0 }
