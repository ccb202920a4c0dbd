package gate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/geogate/geogate/gnss"
	"github.com/geogate/geogate/policy"
)

// nmea41Captures are the gpsd corpus captures of NMEA 4.10/4.11 receivers, which send the
// navigational status V ("not given") in every RMC, valid fix or not.
var nmea41Captures = []string{
	"ublox-neo-m9n-nmea", "ublox-f9p-hpnmea", "quectel-l76k-nmea", "quectel-eg25-g",
	"unicore-um621", "skytraq-PX1172RH_DS", "furuno_gl_ga", "navika-100-fix",
}

// TestNMEA41ReceiversThroughGate replays each NMEA 4.1 capture through the real decoder and
// the loop with the sample policy, on a fixed clock: every capture must give valid fixes, and
// every valid fix must be kept (licensed tier) or coarsened (public tier), never dropped as
// invalid or stale; the fixes that are not valid must be dropped as such.
func TestNMEA41ReceiversThroughGate(t *testing.T) {
	now := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, name := range nmea41Captures {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "gnss", "testdata", "gpsd", name+".log"))
			if err != nil {
				t.Fatal(err)
			}
			var fixes []gnss.Fix
			err = gnss.NewDecoder(gnss.Config{}).Scan(bytes.NewReader(data), clock, func(f *gnss.Fix) error {
				fixes = append(fixes, *f)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			valid := 0
			for i := range fixes {
				if fixes[i].Valid {
					valid++
				}
			}
			if valid == 0 {
				t.Fatalf("no valid fix in %d fixes", len(fixes))
			}
			for _, tier := range []struct {
				name string
				want func(c *Counters) uint64 // the valid fixes end up here
			}{
				{"licensed", func(c *Counters) uint64 { return c.FixesKept.Load() }},
				{"public", func(c *Counters) uint64 { return c.FixesCoarsened.Load() }},
			} {
				l := New(Config{Policy: samplePolicy(t), Tier: tier.name, Store: &memStore{}, Now: clock})
				for i := range fixes {
					l.HandleFix(&fixes[i])
				}
				c := &l.Counters
				notValid := c.FixDrops(PolicyReason(policy.ReasonInvalid)) + c.FixDrops(PolicyReason(policy.ReasonNoFix))
				t.Logf("%s: %d fixes, %d valid: kept %d, coarsened %d, dropped %d (invalid or no fix %d, stale %d)",
					tier.name, len(fixes), valid, c.FixesKept.Load(), c.FixesCoarsened.Load(), c.FixesDropped.Load(),
					notValid, c.FixDrops(PolicyReason(policy.ReasonStale)))
				if got := tier.want(c); got != uint64(valid) {
					t.Errorf("%s tier: %d of %d valid fixes kept or coarsened as the tier says", tier.name, got, valid)
				}
				if notValid != uint64(len(fixes)-valid) || c.FixesDropped.Load() != notValid {
					t.Errorf("%s tier: %d dropped, %d as invalid or without position; want the %d fixes that are not valid",
						tier.name, c.FixesDropped.Load(), notValid, len(fixes)-valid)
				}
			}
		})
	}
}
