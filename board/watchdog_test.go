package board

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeWD is a fake of the watchdog syscalls: it records every call and returns the errno
// set for an ioctl request.
type fakeWD struct {
	ops     []string
	errs    map[ioctlReq]error
	writeEr error
	timeout int32 // what the "driver" sets and reports
	clamp   int32 // the driver's maximum timeout; 0 means none
}

func (f *fakeWD) ioctl(req ioctlReq, arg *int32) error {
	f.ops = append(f.ops, fmt.Sprintf("ioctl %#x %d", uint32(req), *arg))
	if err := f.errs[req]; err != nil {
		return err
	}
	switch req {
	case wdiocSetTimeout:
		f.timeout = *arg
		if f.clamp > 0 && f.timeout > f.clamp {
			f.timeout = f.clamp
		}
		*arg = f.timeout
	case wdiocGetTimeout:
		*arg = f.timeout
	}
	return nil
}

func (f *fakeWD) write(b []byte) (int, error) {
	f.ops = append(f.ops, "write "+string(b))
	if f.writeEr != nil {
		return 0, f.writeEr
	}
	return len(b), nil
}

func (f *fakeWD) close() error {
	f.ops = append(f.ops, "close")
	return nil
}

// useFakeWD makes OpenWatchdog open f, or fail with openErr.
func useFakeWD(t *testing.T, f *fakeWD, openErr error) {
	old := openWatchdogFn
	t.Cleanup(func() { openWatchdogFn = old })
	openWatchdogFn = func(string) (wdSyscalls, error) {
		if openErr != nil {
			return nil, openErr
		}
		return f, nil
	}
}

var (
	opSet30 = fmt.Sprintf("ioctl %#x 30", uint32(wdiocSetTimeout))
	opGet   = func(v int) string { return fmt.Sprintf("ioctl %#x %d", uint32(wdiocGetTimeout), v) }
	opKick  = func(v int) string { return fmt.Sprintf("ioctl %#x %d", uint32(wdiocKeepalive), v) }
)

func TestWatchdogLifecycle(t *testing.T) {
	f := &fakeWD{timeout: 60}
	useFakeWD(t, f, nil)
	w, err := OpenWatchdog(WatchdogDevice, 29500*time.Millisecond) // rounds up to 30 s
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Timeout(); got != 30*time.Second {
		t.Errorf("Timeout = %v, want 30s", got)
	}
	if err := w.Kick(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{opSet30, opGet(30), opKick(30), "write V", "close"}
	if !slices.Equal(f.ops, want) {
		t.Errorf("ops\n got %q\nwant %q", f.ops, want)
	}
	if err := w.Kick(); !errors.Is(err, ErrClosed) {
		t.Errorf("Kick after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestWatchdogClampedTimeout(t *testing.T) {
	f := &fakeWD{clamp: 15} // bcm2835: at most 15 s
	useFakeWD(t, f, nil)
	w, err := OpenWatchdog(WatchdogDevice, DefaultWatchdogTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.WatchdogTimeout(); got != 15*time.Second {
		t.Errorf("WatchdogTimeout = %v, want the driver's 15s", got)
	}
}

func TestWatchdogErrnos(t *testing.T) {
	for _, tt := range []struct {
		name    string
		openErr error
		errs    map[ioctlReq]error
		timeout int32
		absent  bool
		is      error
		ops     []string // syscalls after open
		hint    string
	}{
		{name: "no node", openErr: syscall.ENOENT, absent: true, is: syscall.ENOENT, hint: "absent"},
		{name: "no driver", openErr: syscall.ENODEV, absent: true, is: syscall.ENODEV, hint: "absent"},
		{name: "held by systemd", openErr: syscall.EBUSY, is: syscall.EBUSY, hint: "RuntimeWatchdogSec"},
		{name: "no permission", openErr: syscall.EACCES, is: syscall.EACCES, hint: "DeviceAllow"},
		{
			name: "fixed timeout driver", errs: map[ioctlReq]error{wdiocSetTimeout: syscall.EOPNOTSUPP}, timeout: 60,
			ops: []string{opSet30, opGet(30)},
		},
		{
			name: "set fails", errs: map[ioctlReq]error{wdiocSetTimeout: syscall.EIO}, is: syscall.EIO,
			ops: []string{opSet30, "write V", "close"},
		},
		{
			name: "get fails", errs: map[ioctlReq]error{wdiocGetTimeout: syscall.ENOTTY}, is: syscall.ENOTTY,
			ops: []string{opSet30, opGet(30), "write V", "close"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeWD{errs: tt.errs, timeout: tt.timeout}
			useFakeWD(t, f, tt.openErr)
			w, err := OpenWatchdog(WatchdogDevice, 30*time.Second)
			if w == nil {
				t.Fatal("OpenWatchdog returned nil; want an object whose calls fail")
			}
			if tt.is == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.is)
				}
				if errors.Is(err, ErrAbsent) != tt.absent {
					t.Errorf("errors.Is(err, ErrAbsent) = %v, want %v (%v)", !tt.absent, tt.absent, err)
				}
				if kerr := w.Kick(); kerr != err {
					t.Errorf("Kick on a failed watchdog = %v, want the open error", kerr)
				}
				if w.Timeout() != 0 {
					t.Errorf("Timeout of a failed watchdog = %v, want 0", w.Timeout())
				}
			}
			if tt.hint != "" && !containsStr(err.Error(), tt.hint) {
				t.Errorf("error %q lacks hint %q", err, tt.hint)
			}
			if !slices.Equal(f.ops, tt.ops) {
				t.Errorf("ops\n got %q\nwant %q", f.ops, tt.ops)
			}
		})
	}
}

func TestWatchdogKickError(t *testing.T) {
	f := &fakeWD{timeout: 30}
	useFakeWD(t, f, nil)
	w, err := OpenWatchdog(WatchdogDevice, 0) // keep the driver's timeout: no SETTIMEOUT
	if err != nil {
		t.Fatal(err)
	}
	if f.ops[0] != opGet(0) {
		t.Errorf("first op %q, want GETTIMEOUT only", f.ops[0])
	}
	f.errs = map[ioctlReq]error{wdiocKeepalive: syscall.EIO}
	if err := w.Kick(); !errors.Is(err, syscall.EIO) || errors.Is(err, ErrAbsent) {
		t.Errorf("Kick = %v, want EIO and not absent", err)
	}
	f.writeEr = syscall.EIO
	if err := w.Close(); !errors.Is(err, syscall.EIO) || !containsStr(err.Error(), "stays armed") {
		t.Errorf("Close with failing magic write = %v", err)
	}
}

func TestWatchdogKickAllocs(t *testing.T) {
	useFakeWD(t, &fakeWD{timeout: 30}, nil)
	w, err := OpenWatchdog(WatchdogDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.sys = nopWD{} // the recording fake allocates; measure Kick itself
	if n := testing.AllocsPerRun(100, func() { w.Kick() }); n != 0 {
		t.Errorf("Kick allocates %v times, want 0", n)
	}
}

type nopWD struct{}

func (nopWD) ioctl(ioctlReq, *int32) error { return nil }
func (nopWD) write(b []byte) (int, error)  { return len(b), nil }
func (nopWD) close() error                 { return nil }
func containsStr(s, sub string) bool       { return strings.Contains(s, sub) }

func BenchmarkWatchdogKick(b *testing.B) {
	w := &Watchdog{path: WatchdogDevice, sys: nopWD{}, timeout: 30 * time.Second}
	b.ReportAllocs()
	for b.Loop() {
		w.Kick()
	}
}
