//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// useRelPosAVX2 selects addRelPosMaxAVX2 for rows whose key grid width is a multiple of 8.
var useRelPosAVX2 = cpu.X86.HasAVX2

// addRelPosMaxAVX2 adds rh[ky] + rw[kx] to row[ky*kw+kx] for ky < nh, kx < kw (kw a
// positive multiple of 8), rounding as addRelPosRow, and returns the row's new maximum.
//
//go:noescape
func addRelPosMaxAVX2(row, rh *float32, nh int, rw *float32, kw int) float32
