package board

// ioctlReq is a Linux ioctl request number, encoded as the generic <asm-generic/ioctl.h>
// _IOC(dir, type, nr, size) macro does. arm, arm64 and amd64 all use the generic encoding
// (alpha, mips, powerpc and sparc differ; geogate does not target them). The values are
// checked against golang.org/x/sys/unix in ioctl_linux_test.go.
type ioctlReq uint32

// The fields of an ioctl number, from <asm-generic/ioctl.h>.
const (
	iocNRShift   = 0  // _IOC_NRSHIFT
	iocTypeShift = 8  // _IOC_TYPESHIFT
	iocSizeShift = 16 // _IOC_SIZESHIFT
	iocDirShift  = 30 // _IOC_DIRSHIFT

	iocWrite = 1 // _IOC_WRITE: userland writes, the kernel reads
	iocRead  = 2 // _IOC_READ: the kernel writes, userland reads
)

// Watchdog ioctls from <linux/watchdog.h>; the argument of each is a C int (4 bytes).
const (
	watchdogIoctlBase = 'W' // WATCHDOG_IOCTL_BASE
	sizeofCInt        = 4

	// wdiocKeepalive is WDIOC_KEEPALIVE = _IOR(WATCHDOG_IOCTL_BASE, 5, int).
	wdiocKeepalive ioctlReq = iocRead<<iocDirShift | sizeofCInt<<iocSizeShift | watchdogIoctlBase<<iocTypeShift | 5<<iocNRShift
	// wdiocSetTimeout is WDIOC_SETTIMEOUT = _IOWR(WATCHDOG_IOCTL_BASE, 6, int). The kernel
	// writes back the timeout the driver actually set (drivers round to what they support).
	wdiocSetTimeout ioctlReq = (iocRead|iocWrite)<<iocDirShift | sizeofCInt<<iocSizeShift | watchdogIoctlBase<<iocTypeShift | 6<<iocNRShift
	// wdiocGetTimeout is WDIOC_GETTIMEOUT = _IOR(WATCHDOG_IOCTL_BASE, 7, int).
	wdiocGetTimeout ioctlReq = iocRead<<iocDirShift | sizeofCInt<<iocSizeShift | watchdogIoctlBase<<iocTypeShift | 7<<iocNRShift
)

// GPIO character device ioctls from <linux/gpio.h> (uAPI v2, Linux 5.10 and later).
const (
	gpioIoctlBase = 0xB4 // the 'type' byte of every GPIO ioctl

	// gpioV2GetLineIoctl is GPIO_V2_GET_LINE_IOCTL = _IOWR(0xB4, 0x07, struct gpio_v2_line_request).
	gpioV2GetLineIoctl ioctlReq = (iocRead|iocWrite)<<iocDirShift | sizeofGPIOV2LineRequest<<iocSizeShift | gpioIoctlBase<<iocTypeShift | 0x07<<iocNRShift
	// gpioV2LineGetValuesIoctl is GPIO_V2_LINE_GET_VALUES_IOCTL = _IOWR(0xB4, 0x0E, struct gpio_v2_line_values).
	gpioV2LineGetValuesIoctl ioctlReq = (iocRead|iocWrite)<<iocDirShift | sizeofGPIOV2LineValues<<iocSizeShift | gpioIoctlBase<<iocTypeShift | 0x0E<<iocNRShift
)
