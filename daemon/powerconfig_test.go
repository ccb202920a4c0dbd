package daemon

import (
	"testing"

	"github.com/geogate/geogate/board"
	"github.com/geogate/geogate/config"
)

func TestPowerConfig(t *testing.T) {
	for _, tt := range []struct {
		in   config.Board
		want board.PowerConfig
	}{
		{config.Board{PowerFail: "gpiochip1:17", PowerSignal: "ignition", PowerActiveLow: true},
			board.PowerConfig{Chip: "/dev/gpiochip1", Line: 17, Signal: board.SignalIgnition, ActiveLow: true}},
		{config.Board{PowerFail: "sysfs:/sys/class/gpio/gpio5/value", PowerSignal: "power-good"},
			board.PowerConfig{SysfsValue: "/sys/class/gpio/gpio5/value", Signal: board.SignalPowerGood}},
		{config.Board{PowerFail: "file:/run/power-good", PowerSignal: "power-good"},
			board.PowerConfig{File: "/run/power-good"}},
	} {
		got, err := powerConfig(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("powerConfig(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := powerConfig(config.Board{PowerFail: "gpiochip0:x", PowerSignal: "power-good"}); err == nil {
		t.Error("a bad line number was accepted")
	}
}
