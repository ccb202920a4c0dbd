// Package record is the stored form of what the gate keeps: a fix record (only the position
// the policy let through) and a frame record (a fixed header, then the image bytes). The gate
// encodes them without allocating; the store commands decode them. docs/FORMAT.md ("Gate
// records") documents every byte.
package record
