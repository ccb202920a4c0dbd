package board

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// mmcDevices is where the kernel lists MMC cards, relative to the root file system. The
// mmc core exports life_time ("0x%02x 0x%02x\n", EXT_CSD DEVICE_LIFE_TIME_EST_TYP_A and
// _B) and pre_eol_info ("0x%02x\n", EXT_CSD PRE_EOL_INFO) for eMMC 5.0 and later.
const mmcDevices = "sys/bus/mmc/devices"

// LifeTime is an eMMC device life time estimate (JEDEC JESD84-B51 EXT_CSD[268], [269]):
// the share of the rated erase cycles used, in steps of 10 %.
type LifeTime uint8

// String returns "0-10% used" ... "90-100% used", "exceeded", or "undefined" for 0x00.
func (l LifeTime) String() string {
	switch {
	case l == 0:
		return "undefined"
	case l <= 0x0A:
		return fmt.Sprintf("%d-%d%% used", 10*(int(l)-1), 10*int(l))
	case l == 0x0B:
		return "exceeded"
	}
	return fmt.Sprintf("reserved(0x%02x)", uint8(l))
}

// PreEOL is the eMMC pre-end-of-life information (EXT_CSD[267]): how much of the spare
// blocks remain.
type PreEOL uint8

// PreEOL values.
const (
	PreEOLUndefined PreEOL = 0x00
	PreEOLNormal    PreEOL = 0x01 // normal
	PreEOLWarning   PreEOL = 0x02 // 80 % of the reserved blocks consumed
	PreEOLUrgent    PreEOL = 0x03 // 90 % consumed: replace the unit
)

// String returns "normal", "warning (80% of spare blocks used)", and so on.
func (p PreEOL) String() string {
	switch p {
	case PreEOLUndefined:
		return "undefined"
	case PreEOLNormal:
		return "normal"
	case PreEOLWarning:
		return "warning (80% of spare blocks used)"
	case PreEOLUrgent:
		return "urgent (90% of spare blocks used)"
	}
	return fmt.Sprintf("reserved(0x%02x)", uint8(p))
}

// EMMC is the wear report of one eMMC device.
type EMMC struct {
	Device string   // the sysfs device name, e.g. "mmc0:0001"
	LifeA  LifeTime // estimate for SLC (type A) memory, e.g. the enhanced area
	LifeB  LifeTime // estimate for MLC/TLC (type B) memory, where the data lives
	PreEOL PreEOL
}

// String returns a status line: "mmc0:0001 wear A 0-10% used, B 10-20% used, pre-EOL normal".
func (e EMMC) String() string {
	return e.Device + " wear A " + e.LifeA.String() + ", B " + e.LifeB.String() + ", pre-EOL " + e.PreEOL.String()
}

// Worn reports whether the device needs attention: a life time estimate at 90 % or more,
// or a pre-EOL warning.
func (e EMMC) Worn() bool {
	return e.LifeA >= 0x0A || e.LifeB >= 0x0A || e.PreEOL >= PreEOLWarning
}

// ReadEMMC reads the wear reports of all eMMC devices under /sys/bus/mmc/devices in fsys,
// the root file system (os.DirFS("/")). Devices without the files (SD cards, older eMMC)
// are skipped. With none the error matches ErrAbsent: report "eMMC health not available"
// once.
func ReadEMMC(fsys fs.FS) ([]EMMC, error) {
	ents, err := fs.ReadDir(fsys, mmcDevices)
	if err != nil && len(ents) == 0 {
		return nil, fmt.Errorf("board: eMMC health: %w: not available (%v)", ErrAbsent, err)
	}
	var out []EMMC
	for _, ent := range ents {
		dir := path.Join(mmcDevices, ent.Name())
		lt, err := fs.ReadFile(fsys, path.Join(dir, "life_time"))
		if err != nil {
			continue
		}
		e := EMMC{Device: ent.Name()}
		if e.LifeA, e.LifeB, err = ParseLifeTime(lt); err != nil {
			return out, fmt.Errorf("%w (in /%s)", err, dir)
		}
		if pe, err := fs.ReadFile(fsys, path.Join(dir, "pre_eol_info")); err == nil {
			v, err := parseHexByte(string(bytes.TrimSpace(pe)))
			if err != nil {
				return out, fmt.Errorf("board: pre_eol_info: %w (in /%s)", err, dir)
			}
			e.PreEOL = PreEOL(v)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("board: eMMC health: %w: not available (no life_time under /%s)", ErrAbsent, mmcDevices)
	}
	return out, nil
}

// ParseLifeTime parses the content of a sysfs life_time file: two hex bytes separated by
// white space, "0x01 0x02\n".
func ParseLifeTime(b []byte) (typA, typB LifeTime, err error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("board: life_time: want two hex values, got %d fields", len(f))
	}
	va, err := parseHexByte(f[0])
	if err != nil {
		return 0, 0, fmt.Errorf("board: life_time: %w", err)
	}
	vb, err := parseHexByte(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("board: life_time: %w", err)
	}
	return LifeTime(va), LifeTime(vb), nil
}

func parseHexByte(s string) (uint8, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"), 16, 8)
	if err != nil {
		return 0, fmt.Errorf("%q is not a hex byte", s)
	}
	return uint8(v), nil
}
