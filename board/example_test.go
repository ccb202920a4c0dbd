package board_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/board/boardtest"
)

// The daemon's health loop: the watchdogs are kicked only while the pipeline reports.
func ExampleHealth() {
	clk := boardtest.NewClock(time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC))
	wd := &boardtest.Watchdog{Timeout: 30 * time.Second}
	sd := &boardtest.Notifier{Watchdog: 10 * time.Second}
	h := board.NewHealth(board.HealthConfig{Clock: clk, Kickers: []board.Kicker{wd, sd}})
	gnss := h.Beat("gnss", 5*time.Second)
	h.Probe("storage", func() error { return nil })

	fmt.Println("interval", h.Interval())
	gnss.OK() // a fix, or an explicit "no fix" state
	fmt.Println(h.Check())
	clk.Advance(6 * time.Second) // the decoder hangs
	fmt.Println(h.Check())
	fmt.Println("kicks", wd.Kicks(), sd.Ops())
	// Output:
	// interval 5s
	// ok
	// unhealthy: gnss: stale: no report for 6s (limit 5s)
	// kicks 1 [WATCHDOG=1]
}

// Absent hardware is an error to log once, not a reason to stop.
func ExampleOpenWatchdog() {
	wd, err := board.OpenWatchdog("/nonexistent/watchdog", board.DefaultWatchdogTimeout)
	if errors.Is(err, board.ErrAbsent) {
		fmt.Println("running without a hardware watchdog")
	}
	fmt.Println(wd.Kick() == err)
	// Output:
	// running without a hardware watchdog
	// true
}

// A development key: generate it once, load it at every start.
func ExampleKeyFile() {
	dir, _ := os.MkdirTemp("", "geogate")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "key")
	if err := board.GenerateKeyFile(path); err != nil {
		fmt.Println(err)
		return
	}
	key, err := board.NewKeyFile(path).DeviceKey()
	fmt.Println(len(key), err)

	_, err = board.NewKeyFile(filepath.Join(dir, "missing")).DeviceKey()
	fmt.Println(errors.Is(err, board.ErrNoKey)) // fail closed: store nothing
	// Output:
	// 32 <nil>
	// true
}

func ExampleReadEMMC() {
	sys := fstest.MapFS{
		"sys/bus/mmc/devices/mmc0:0001/life_time":    {Data: []byte("0x02 0x03\n")},
		"sys/bus/mmc/devices/mmc0:0001/pre_eol_info": {Data: []byte("0x01\n")},
	}
	devs, err := board.ReadEMMC(sys) // os.DirFS("/") on the unit
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range devs {
		fmt.Println(d)
	}
	// Output:
	// mmc0:0001 wear A 10-20% used, B 20-30% used, pre-EOL normal
}

// A power-good signal exposed as a file of 0 or 1.
func ExampleOpenPower() {
	dir, _ := os.MkdirTemp("", "geogate")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "power-good")
	os.WriteFile(file, []byte("1\n"), 0o644)

	p, err := board.OpenPower(board.PowerConfig{File: file, Signal: board.SignalPowerGood})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan board.PowerEvent, 1)
	go p.Watch(ctx, events)
	fmt.Println(<-events) // the state at start
	cancel()
	// Output:
	// power ok
}
