//go:build !race

package ag_test

const raceEnabled = false
