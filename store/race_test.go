//go:build race

package store

// raceEnabled is set when the race detector, which multiplies memory use,
// is on.
const raceEnabled = true
