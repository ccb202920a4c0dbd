package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss/gnsstest"
	"github.com/geogate/geogate/policy"
)

func TestPolicyCheckSample(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"check", "examples/policy"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{`policy "geogate-sample" version 1: OK`, "zones:    3 (deny 1, coarsen 2, allow 0)", "tier:     public: grid 50 m", "GCJ-02"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPolicyCheckBad(t *testing.T) {
	dir := t.TempDir()
	toml, err := os.ReadFile("examples/policy/policy.toml")
	if err != nil {
		t.Fatal(err)
	}
	toml = bytes.Replace(toml, []byte(`[gcj02_region]
files = ["china_100000_full.json"]`), []byte(`[gcj02_region]
files = []`), 1)
	zones := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"ok","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[119,39],[119.1,39],[119.1,39.1],[119,39]]]}},
{"type":"Feature","properties":{"id":"bow","action":"deny"},"geometry":{"type":"Polygon","coordinates":[[[118,39],[118.1,39.1],[118.1,39],[118,39.1],[118,39]]]}}]}`
	for name, data := range map[string]string{"policy.toml": string(toml), "zones.geojson": zones} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	err = policyMain([]string{"check", dir}, &out, &errOut)
	if !errors.Is(err, policy.ErrSelfIntersection) || !strings.Contains(err.Error(), `zones.geojson: feature 1 (id "bow")`) {
		t.Errorf("got %v", err)
	}
	if err := policyMain([]string{"check"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no DIR: %v", err)
	}
}

func TestPolicyEval(t *testing.T) {
	start := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	samples := []gnsstest.Sample{
		{Time: start, Point: gnsstest.Point{Lat: 39.911954, Lon: 116.377817}},                  // Beijing
		{Time: start.Add(time.Second), Point: gnsstest.Point{Lat: 39.85, Lon: 119.45}},         // Beidaihe
		{Time: start.Add(2 * time.Second), NoFix: true},                                        // no fix
		{Time: start.Add(3 * time.Second), Point: gnsstest.Point{Lat: 37.5665, Lon: 126.978}},  // Seoul
		{Time: start.Add(4 * time.Second), Point: gnsstest.Point{Lat: 39.9201, Lon: 119.6302}}, // port coarsen zone
	}
	policyStdin = bytes.NewReader(gnsstest.Generator{}.Bytes(samples))
	t.Cleanup(func() { policyStdin = os.Stdin })
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "-policy", "examples/policy", "-"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	type line struct {
		Time, Action, Zone, Reason, Datum string
		Lat, Lon                          *float64
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		got = append(got, v)
	}
	want := []struct{ action, reason, zone, datum string }{
		{"coarsen", "ok", "", "GCJ-02"},
		{"drop", "zone-deny", "beidaihe", ""},
		{"drop", "no-fix", "", ""},
		{"coarsen", "ok", "", "WGS-84"},
		{"coarsen", "zone-coarsen", "qinhuangdao-port-gcj", "GCJ-02"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Reason != w.reason || g.Zone != w.zone || g.Datum != w.datum {
			t.Errorf("line %d: %+v, want %+v", i, g, w)
		}
		if (g.Lat != nil) != (w.action != "drop") {
			t.Errorf("line %d: position shown = %v for action %s", i, g.Lat != nil, g.Action)
		}
		if g.Lat != nil && samples[i].Lat == *g.Lat {
			t.Errorf("line %d: raw latitude printed", i)
		}
	}
	if got[0].Lat != nil && math.Abs(*got[0].Lat-39.9133) > 0.001 {
		t.Errorf("Beijing GCJ-02 output %v, want about 39.9133", *got[0].Lat)
	}
	if !strings.HasPrefix(got[0].Time, "2026-11-25T08:00:00") {
		t.Errorf("time %q", got[0].Time)
	}
}

func TestPolicyEvalErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "x.nmea"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("no -policy: %v", err)
	}
	if err := policyMain([]string{"eval", "-policy", "examples/policy", "-tier", "secret", "-"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("unknown tier: %v", err)
	}
	if err := policyMain([]string{"eval", "-policy", "nonexistent-dir", "-"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "policy.toml") {
		t.Errorf("missing bundle: %v", err)
	}
	if err := policyMain([]string{"frob"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("unknown subcommand: %v", err)
	}
}

// TestPolicyEvalRealCapture runs a real BeiDou receiver capture (gpsd test data) through eval:
// every line must be JSON, and only kept or coarsened fixes may carry a position.
func TestPolicyEvalRealCapture(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := policyMain([]string{"eval", "-policy", "examples/policy", "gnss/testdata/gpsd/beidou-bd.log"}, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("bad JSON %q: %v", l, err)
		}
		_, hasPos := v["lat"]
		if hasPos != (v["action"] != "drop") {
			t.Errorf("position shown = %v in %s", hasPos, l)
		}
		counts[v["action"].(string)+"/"+v["reason"].(string)+"/"+fmt.Sprint(v["datum"])]++
	}
	t.Logf("beidou-bd.log: %v", counts)
	if len(counts) == 0 {
		t.Error("no fixes")
	}
}
