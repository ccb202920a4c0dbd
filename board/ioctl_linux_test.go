package board

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestIoctlNumbers checks the ioctl numbers computed from the header macros against the
// ones golang.org/x/sys/unix generated from the kernel headers for this GOARCH.
func TestIoctlNumbers(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  ioctlReq
		want uint
	}{
		{"WDIOC_KEEPALIVE", wdiocKeepalive, unix.WDIOC_KEEPALIVE},
		{"WDIOC_SETTIMEOUT", wdiocSetTimeout, unix.WDIOC_SETTIMEOUT},
		{"WDIOC_GETTIMEOUT", wdiocGetTimeout, unix.WDIOC_GETTIMEOUT},
		{"GPIO_V2_GET_LINE_IOCTL", gpioV2GetLineIoctl, unix.GPIO_V2_GET_LINE_IOCTL},
		{"GPIO_V2_LINE_GET_VALUES_IOCTL", gpioV2LineGetValuesIoctl, unix.GPIO_V2_LINE_GET_VALUES_IOCTL},
	} {
		if uint(tt.got) != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, uint(tt.got), tt.want)
		}
	}
}
