package audit

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/tlog"
)

// Proof files are text, one item a line, so that they can be mailed and diffed:
//
//	geogate audit consistency proof v1      geogate audit inclusion proof v1
//	<old size>                              <entry index>
//	<new size>                              <tree size>
//	<base64 hash>                           <the entry's JSON>
//	...                                     <base64 hash>
//	                                        ...
const (
	consistencyTitle = "geogate audit consistency proof v1"
	inclusionTitle   = "geogate audit inclusion proof v1"
)

// ConsistencyProof shows that the log of Old entries is a prefix of the log of New.
type ConsistencyProof struct {
	Old, New int64
	Hashes   tlog.TreeProof
}

// InclusionProof shows that Entry is the Index-th entry of the log of Size entries.
type InclusionProof struct {
	Index, Size int64
	Entry       []byte
	Hashes      tlog.RecordProof
}

// MarshalText implements encoding.TextMarshaler.
func (p *ConsistencyProof) MarshalText() ([]byte, error) {
	b := fmt.Appendf(nil, "%s\n%d\n%d\n", consistencyTitle, p.Old, p.New)
	return appendHashes(b, p.Hashes), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *ConsistencyProof) UnmarshalText(b []byte) error {
	lines, err := proofLines(b, consistencyTitle, 3)
	if err != nil {
		return err
	}
	if p.Old, err = parseSize(lines[1]); err != nil {
		return err
	}
	if p.New, err = parseSize(lines[2]); err != nil {
		return err
	}
	p.Hashes, err = parseHashes(lines[3:])
	return err
}

// MarshalText implements encoding.TextMarshaler.
func (p *InclusionProof) MarshalText() ([]byte, error) {
	if bytes.IndexByte(p.Entry, '\n') >= 0 {
		return nil, fmt.Errorf("%w: entry holds a newline", ErrProof)
	}
	b := fmt.Appendf(nil, "%s\n%d\n%d\n%s\n", inclusionTitle, p.Index, p.Size, p.Entry)
	return appendHashes(b, p.Hashes), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *InclusionProof) UnmarshalText(b []byte) error {
	lines, err := proofLines(b, inclusionTitle, 4)
	if err != nil {
		return err
	}
	if p.Index, err = parseSize(lines[1]); err != nil {
		return err
	}
	if p.Size, err = parseSize(lines[2]); err != nil {
		return err
	}
	p.Entry = append([]byte(nil), lines[3]...)
	p.Hashes, err = parseHashes(lines[4:])
	return err
}

func appendHashes(b []byte, hs []tlog.Hash) []byte {
	for _, h := range hs {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	return b
}

// proofLines splits a proof file into lines, checking the title and that at least min lines
// come before the hashes.
func proofLines(b []byte, title string, min int) ([][]byte, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("%w: proof file does not end in a newline", ErrProof)
	}
	lines := bytes.Split(b[:len(b)-1], []byte("\n"))
	if string(lines[0]) != title {
		return nil, fmt.Errorf("%w: not a %q file", ErrProof, title)
	}
	if len(lines) < min {
		return nil, fmt.Errorf("%w: proof file cut short", ErrProof)
	}
	return lines, nil
}

func parseSize(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad number %q", ErrProof, b)
	}
	return n, nil
}

func parseHashes(lines [][]byte) ([]tlog.Hash, error) {
	hs := make([]tlog.Hash, len(lines))
	for i, l := range lines {
		raw, err := base64.StdEncoding.Strict().DecodeString(string(l))
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("%w: bad hash %q", ErrProof, l)
		}
		hs[i] = tlog.Hash(raw)
	}
	return hs, nil
}
