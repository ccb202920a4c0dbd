package board

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestKeyFileFIFO puts a real FIFO at the key path: DeviceKey must refuse it at once rather
// than block in open until a writer comes (which held the daemon before READY).
func TestKeyFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := NewKeyFile(path).DeviceKey()
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrKeyInsecure) {
			t.Errorf("DeviceKey on a FIFO = %v, want ErrKeyInsecure", err)
		}
		t.Logf("refused: %v", err)
	case <-time.After(5 * time.Second):
		// Unblock the open so the goroutine ends: a writer that closes at once.
		if fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
		t.Fatal("DeviceKey blocked on a FIFO for 5 s")
	}
}
