//go:build !linux

package store

// releasePages does nothing where the kernel's page mappings are not
// released explicitly (release_linux.go).
func (tx *Tx) releasePages() {}
