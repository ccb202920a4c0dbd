package policy

import (
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
)

var t0 = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func fixAt(lat, lon float64, received time.Time) *gnss.Fix {
	return &gnss.Fix{Time: received, Received: received, Lat: lat, Lon: lon, Has: gnss.HasTime | gnss.HasPos,
		Mode: gnss.Mode3D, Quality: 1, Valid: true}
}

func loadSample(t testing.TB) *Policy {
	t.Helper()
	p, err := Load(os.DirFS("../examples/policy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecideFailClosed(t *testing.T) {
	var empty Holder
	if d := empty.NewEngine("public").Decide(fixAt(39.9, 116.4, t0), t0); d.Action != Drop || d.Reason != ReasonNoPolicy {
		t.Errorf("no policy: %+v", d)
	}
	h := holderOf(t, loadSample(t))
	noPos := fixAt(39.9, 116.4, t0)
	noPos.Has = gnss.HasTime
	invalid := fixAt(39.9, 116.4, t0)
	invalid.Valid = false
	nan := fixAt(math.NaN(), 116.4, t0)
	far := fixAt(95, 116.4, t0)
	tests := []struct {
		name   string
		tier   string
		fix    *gnss.Fix
		now    time.Time
		reason Reason
	}{
		{"nil fix", "public", nil, t0, ReasonNoFix},
		{"no position", "public", noPos, t0, ReasonNoFix},
		{"receiver says invalid", "public", invalid, t0, ReasonInvalid},
		{"NaN latitude", "public", nan, t0, ReasonInvalid},
		{"latitude out of range", "public", far, t0, ReasonInvalid},
		{"older than max_age", "public", fixAt(39.9, 116.4, t0), t0.Add(2*time.Second + 1), ReasonStale},
		{"from the future", "public", fixAt(39.9, 116.4, t0.Add(time.Second)), t0, ReasonStale},
		{"unknown tier", "secret", fixAt(39.9, 116.4, t0), t0, ReasonNoTier},
		{"inside Beidaihe", "licensed", fixAt(39.85, 119.45, t0), t0, ReasonZoneDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.NewEngine(tt.tier).Decide(tt.fix, tt.now)
			if d.Action != Drop || d.Reason != tt.reason || d.Lat != 0 || d.Lon != 0 {
				t.Errorf("got %+v, want drop/%v with no position", d, tt.reason)
			}
		})
	}
}

func TestDecideTiersAndDatum(t *testing.T) {
	h := holderOf(t, loadSample(t))
	beijing := fixAt(39.911954, 116.377817, t0)
	tests := []struct {
		name      string
		tier      string
		fix       *gnss.Fix
		action    Action
		reason    Reason
		datum     Datum
		precision float64
		pixels    int
	}{
		{"licensed keeps raw WGS-84", "licensed", beijing, Keep, ReasonOK, WGS84, 0, 0},
		{"public coarsens to GCJ-02 in China", "public", beijing, Coarsen, ReasonOK, GCJ02, 50, 307200},
		{"public stays WGS-84 in Seoul", "public", fixAt(37.5665, 126.978, t0), Coarsen, ReasonOK, WGS84, 50, 307200},
		{"public stays WGS-84 in Ulaanbaatar (inside the GCJ box)", "public", fixAt(47.92, 106.92, t0), Coarsen, ReasonOK, WGS84, 50, 307200},
		{"coarsen zone wins over tier", "licensed", fixAt(39.92, 119.63, t0), Coarsen, ReasonZoneCoarsen, WGS84, 500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.NewEngine(tt.tier).Decide(tt.fix, t0)
			if d.Action != tt.action || d.Reason != tt.reason || d.Datum != tt.datum || d.PrecisionM != tt.precision || d.MaxImagePixels != tt.pixels {
				t.Fatalf("got %+v", d)
			}
			wLat, wLon := d.Lat, d.Lon
			if d.Datum == GCJ02 {
				wLat, wLon = GCJ02ToWGS84(d.Lat, d.Lon)
			}
			dist := math.Hypot((wLat-tt.fix.Lat)*mPerDeg, (wLon-tt.fix.Lon)*mPerDeg*math.Cos(tt.fix.Lat*deg2rad))
			if dist > tt.precision*0.75+1e-6 {
				t.Errorf("output %v m from the fix, grid %v m", dist, tt.precision)
			}
			if tt.precision == 0 && (d.Lat != tt.fix.Lat || d.Lon != tt.fix.Lon) {
				t.Errorf("full precision changed the position: %v,%v", d.Lat, d.Lon)
			}
		})
	}
	if d := h.NewEngine("public").Decide(beijing, t0); d.Lat == beijing.Lat {
		t.Errorf("public output equals the raw latitude: %+v", d)
	}
}

func TestDecideWindows(t *testing.T) {
	h := holderOf(t, loadSample(t))
	// Near Beidaihe but outside its deny margin, inside the summer belt.
	fix := func(now time.Time) *gnss.Fix { return fixAt(39.95, 119.30, now) }
	summer := time.Date(2026, 7, 15, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		now    time.Time
		reason Reason
		prec   float64
	}{
		{"summer: belt in force", summer, ReasonZoneCoarsen, 1000},
		{"November: belt off", t0, ReasonOK, 0},
		{"30 Sep 23:30 CST is still summer", time.Date(2026, 9, 30, 15, 30, 0, 0, time.UTC), ReasonZoneCoarsen, 1000},
		{"1 Oct 00:30 CST is not", time.Date(2026, 9, 30, 16, 30, 0, 0, time.UTC), ReasonOK, 0},
		{"unset clock: every window open", time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC), ReasonZoneCoarsen, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.NewEngine("licensed").Decide(fix(tt.now), tt.now)
			if d.Reason != tt.reason || d.PrecisionM != tt.prec {
				t.Errorf("got %+v, want %v at %v m", d, tt.reason, tt.prec)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	sq := func(lon, lat, half float64) []Polygon { return rect(lon-half, lat-half, lon+half, lat+half) }
	spec := testSpec([]Zone{
		{ID: "allow-big", Rule: RuleAllow, Polygons: sq(120, 40, 0.5)},
		{ID: "coarse-200", Rule: RuleCoarsen, PrecisionM: 200, Polygons: sq(120, 40, 0.2)},
		{ID: "coarse-1000", Rule: RuleCoarsen, PrecisionM: 1000, Polygons: sq(120.1, 40, 0.05)},
		{ID: "deny", Rule: RuleDeny, MarginM: 100, Polygons: sq(119.9, 40, 0.02)},
	})
	spec.DefaultKeep = false
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	h := holderOf(t, p)
	tests := []struct {
		lat, lon float64
		zone     string
		reason   Reason
	}{
		{40, 119.9, "deny", ReasonZoneDeny},
		{40, 119.9 + 0.02 + 50/(mPerDeg*math.Cos(40*deg2rad)), "deny", ReasonZoneDeny}, // in the margin
		{40, 120.1, "coarse-1000", ReasonZoneCoarsen},
		{40, 120.0, "coarse-200", ReasonZoneCoarsen},
		{40, 120.4, "allow-big", ReasonZoneAllow},
		{40, 121, "", ReasonDefaultDeny},
	}
	for _, tt := range tests {
		d := h.NewEngine("licensed").Decide(fixAt(tt.lat, tt.lon, t0), t0)
		if d.Zone != tt.zone || d.Reason != tt.reason {
			t.Errorf("(%v, %v): got zone %q %v, want %q %v", tt.lat, tt.lon, d.Zone, d.Reason, tt.zone, tt.reason)
		}
	}
}

func TestHysteresis(t *testing.T) {
	h := holderOf(t, loadSample(t))
	e := h.NewEngine("licensed")
	// East of Beidaihe's easternmost vertex (119.5354, 39.8203), moving east.
	kx := mPerDeg * math.Cos(39.8203*deg2rad)
	at := func(m float64) *gnss.Fix { return fixAt(39.8203, 119.5354+m/kx, t0) }
	steps := []struct {
		m    float64
		want Action
	}{
		{800, Keep},  // outside margin (500) + hysteresis (100)
		{550, Keep},  // in the hysteresis band, but never entered
		{450, Drop},  // in the margin
		{550, Drop},  // band: still inside
		{590, Drop},  // band
		{450, Drop},  // margin
		{610, Keep},  // beyond margin + hysteresis: out
		{550, Keep},  // band again, from outside
		{499, Drop},  // margin
		{-100, Drop}, // inside
	}
	for i, s := range steps {
		if d := e.Decide(at(s.m), t0); d.Action != s.want {
			t.Errorf("step %d at %v m: %v (%v), want %v", i, s.m, d.Action, d.Reason, s.want)
		}
	}
}

func TestSwapAndReload(t *testing.T) {
	h := &Holder{}
	p1 := loadSample(t)
	if err := h.Swap(p1); err != nil {
		t.Fatal(err)
	}
	e := h.NewEngine("licensed")
	in := fixAt(39.85, 119.45, t0)
	if d := e.Decide(in, t0); d.Reason != ReasonZoneDeny || d.Version != 1 {
		t.Fatalf("got %+v", d)
	}
	spec := testSpec(nil)
	spec.Version = 0
	if _, err := Compile(spec); !errors.Is(err, ErrInvalid) {
		t.Errorf("version 0: %v", err)
	}
	spec.Version = 2
	p2, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Swap(p2); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(in, t0); d.Reason != ReasonOK || d.Version != 2 {
		t.Errorf("after swap to an empty v2: %+v", d)
	}
	if err := h.Swap(p1); !errors.Is(err, ErrOldVersion) {
		t.Errorf("swap back to v1: %v, want ErrOldVersion", err)
	}
	if h.Policy() != p2 {
		t.Error("a rejected swap replaced the running policy")
	}
	if _, err := h.Reload(os.DirFS("../examples/policy"), nil); !errors.Is(err, ErrOldVersion) {
		t.Errorf("reload of v1 over v2: %v", err)
	}
	if h.Policy() != p2 {
		t.Error("a rejected reload replaced the running policy")
	}
}

func TestDecideNoAllocs(t *testing.T) {
	h := holderOf(t, loadSample(t))
	fixes := []*gnss.Fix{fixAt(39.85, 119.45, t0), fixAt(39.911954, 116.377817, t0), fixAt(39.95, 119.30, t0),
		fixAt(37.5, 127, t0), nil, fixAt(39.8203, 119.5354+550/85000.0, t0)}
	for _, tier := range []string{"public", "licensed", "nope"} {
		e := h.NewEngine(tier)
		var sink float64
		n := testing.AllocsPerRun(200, func() {
			for _, f := range fixes {
				d := e.Decide(f, t0)
				sink += d.Lat + float64(len(d.Zone))
			}
		})
		if n != 0 {
			t.Errorf("tier %s: %v allocs per run, want 0", tier, n)
		}
	}
}

// TestReloadWhileDeciding swaps policies while an engine decides on another goroutine; run
// with -race. Every decision comes from one whole policy: v1 denies Beidaihe, v2 has no zones.
func TestReloadWhileDeciding(t *testing.T) {
	h := &Holder{}
	p1 := loadSample(t)
	spec := testSpec(nil)
	spec.Version = 2
	p2, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Swap(p1); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e := h.NewEngine("licensed")
		in := fixAt(39.85, 119.45, t0)
		for range 20000 {
			d := e.Decide(in, t0)
			if (d.Version == 1) != (d.Reason == ReasonZoneDeny) {
				t.Errorf("decision mixes policies: %+v", d)
				return
			}
		}
	}()
	if err := h.Swap(p2); err != nil {
		t.Error(err)
	}
	if err := h.Swap(p1); !errors.Is(err, ErrOldVersion) {
		t.Errorf("downgrade: %v", err)
	}
	<-done
}

// TestDenyClear: a coarsen zone far from every deny zone skips the second lookup of its
// grid points, one near a deny zone does not, and its grid points that land in the deny
// zone's margin are dropped.
func TestDenyClear(t *testing.T) {
	// G is a point of the 1 km grid; deny (margin 100 m) ends 20 m east of it, near begins
	// 250 m east of it: near's positions up to about 500 m east of G snap to G.
	gLat, gLon := quantize(40.001, 119.93, 1000)
	kx := mPerDeg * math.Cos(40*deg2rad)
	spec := testSpec([]Zone{
		{ID: "deny", Rule: RuleDeny, MarginM: 100, Polygons: rect(gLon-0.04, 39.98, gLon+20/kx, 40.02)},
		{ID: "near", Rule: RuleCoarsen, PrecisionM: 1000, Polygons: rect(gLon+250/kx, 39.98, gLon+250/kx+0.04, 40.02)},
		{ID: "far", Rule: RuleCoarsen, PrecisionM: 1000, Polygons: rect(121, 39.95, 121.1, 40.05)},
		{ID: "antimeridian", Rule: RuleAllow, Polygons: rect(179.4, 9.9, 179.6, 10.1)},
	})
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	clearM := func(id string) float64 { return p.zones[p.zoneIndex[id]].denyClearM }
	if c := clearM("near"); c >= 1000 {
		t.Errorf("near: denyClearM %v, want below its 1000 m grid", c)
	}
	if c := clearM("far"); c < 70e3 || c > maxDenyClearM {
		t.Errorf("far: denyClearM %v, want about 80 km", c)
	}
	if c := clearM("deny") + clearM("antimeridian"); c != 0 {
		t.Errorf("deny and antimeridian zones: denyClearM %v, want 0", c)
	}
	h := holderOf(t, p)
	e := h.NewEngine("licensed")
	drops := 0
	for k := range 400 {
		lon := gLon + (251+float64(k))/kx
		d := e.Decide(fixAt(gLat, lon, t0), t0)
		switch {
		case d.Reason == ReasonZoneDeny && d.Zone == "deny":
			drops++
		case d.Action != Coarsen || d.Zone != "near":
			t.Fatalf("%v m east of G: %+v, want coarsened in near or dropped for deny", 251+k, d)
		case p.zoneIx.lookup(d.Lon, d.Lat, -1, ^uint64(0)) == p.zoneIndex["deny"]:
			t.Fatalf("%v m east of G: coarsened to %v,%v, inside deny's margin", 251+k, d.Lat, d.Lon)
		}
	}
	if drops < 200 {
		t.Errorf("%d of near's positions dropped, want the ~250 that snap to G", drops)
	}
	if d := e.Decide(fixAt(40, 121.05, t0), t0); d.Action != Coarsen || d.Zone != "far" {
		t.Errorf("far: %+v", d)
	}
}

// TestFrameLimits: an engine reports its tier's frame limits whatever the position, and none
// without a policy or without the tier.
func TestFrameLimits(t *testing.T) {
	var empty Holder
	h := holderOf(t, loadSample(t))
	tests := []struct {
		h      *Holder
		tier   string
		fps    float64
		pixels int
		ok     bool
	}{
		{h, "public", 5, 307200, true},
		{h, "licensed", 0, 0, true},
		{h, "nosuchtier", 0, 0, false},
		{&empty, "public", 0, 0, false},
	}
	for _, tt := range tests {
		fps, pixels, ok := tt.h.NewEngine(tt.tier).FrameLimits()
		if fps != tt.fps || pixels != tt.pixels || ok != tt.ok {
			t.Errorf("%s: FrameLimits() = %v, %d, %v; want %v, %d, %v", tt.tier, fps, pixels, ok, tt.fps, tt.pixels, tt.ok)
		}
	}
}
