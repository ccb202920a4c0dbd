package upload

import (
	"bytes"
	"os"
)

// networkOK reports whether the policy allows sending now. With UnmeteredOnly it reads
// NetworkFile each time: "unmetered" allows, anything else (metered, missing, unreadable,
// garbage) does not, so an unknown network never costs the car owner's data plan.
func (u *Uploader) networkOK() bool {
	if u.cfg.Network == AnyNetwork {
		return true
	}
	b, err := os.ReadFile(u.cfg.NetworkFile)
	return err == nil && string(bytes.TrimSpace(b)) == "unmetered"
}
