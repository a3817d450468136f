package store

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a new callback id: "cb_" and 26 random base32 characters.
func NewID() string { return NewIDWithPrefix("cb_") }

// NewIDWithPrefix returns prefix and 26 random base32 characters (lower
// case): an id of 128 random bits.
func NewIDWithPrefix(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(idEncoding.EncodeToString(b))
}
