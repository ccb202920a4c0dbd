package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// appender is what BenchmarkAppend times: a Log, or the plain baseline.
type appender interface {
	Append(typ Type, at time.Time, payload []byte) (uint64, error)
	Sync() error
	Close() error
}

// BenchmarkAppend compares encrypted appends (a Log) with plain appends of the same records
// (plainLog: what an unencrypted log would do, with the same buffer size and sync policy),
// with default buffers and segments, on the disk under b.TempDir. Each run ends with Sync,
// so every record counted is durable. Payloads are random bytes, as incompressible as
// ciphertext and JPEG frames: zeros would flatter the plain baseline on storage that
// compresses or deduplicates.
func BenchmarkAppend(b *testing.B) {
	modes := []struct {
		name   string
		cipher Cipher // 0: plainLog
	}{
		{"plain", 0},
		{"aes-gcm", AES256GCM},
		{"xchacha", XChaCha20Poly1305},
	}
	for _, size := range []int{64, 200 << 10} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/%s", sizeName(size), m.name), func(b *testing.B) {
				var l appender
				var err error
				if m.cipher == 0 {
					l, err = newPlainLog(b.TempDir(), DefaultSegmentSize, DefaultBufferSize, DefaultBufferSize/4)
				} else {
					l, err = Open(b.TempDir(), Options{Key: testKey, Cipher: m.cipher, Clock: &fakeClock{t: t0}})
				}
				if err != nil {
					b.Fatal(err)
				}
				p := make([]byte, size)
				chacha8 := mrand.NewChaCha8([32]byte{byte(size)})
				chacha8.Read(p)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := l.Append(1, t0, p); err != nil {
						b.Fatal(err)
					}
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkAppendPlaceholder times AppendPlaceholder of a fix-sized (48-byte) placeholder,
// as the gate appends one for every fix the policy drops; compare BenchmarkAppend/64B/aes-gcm.
func BenchmarkAppendPlaceholder(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Key: testKey, Clock: &fakeClock{t: t0}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(48)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.AppendPlaceholder(t0, 48); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}

// plainLog is BenchmarkAppend's baseline: what an unencrypted log does with the same
// records. Append frames a record (length, type, seq, time, CRC32C of header and payload,
// as a plain write-ahead log needs to find torn records) into a buffer of bufSize; once
// syncBytes are buffered (or the next frame does not fit), the buffer goes to a writer
// goroutine that writes it and fdatasyncs, while Append fills the other buffer: group
// commit, overlapped, like the Log (which adds a third buffer for its sealers). Files are
// segments of segSize, preallocated, created under a temporary name and renamed, the
// directory fsynced, like the Log's; written pages are dropped from the page cache after
// the sync, like the Log's. No encryption, index, chain or recovery. One goroutine appends.
type plainLog struct {
	dir       string
	segSize   int64
	syncBytes int
	fill      []byte
	seq       uint64
	work      chan []byte   // to the writer
	idle      chan []byte   // back from the writer: written and synced
	done      chan struct{} // closed when the writer has ended
	// Owned by the writer; werr is read after a buffer comes back (or done).
	werr  error
	f     file
	off   int64
	segID uint64
}

// plainHeader is a plain frame's header: length, type, seq, time, crc.
const plainHeader = 4 + 2 + 8 + 8 + 4

func newPlainLog(dir string, segSize int64, bufSize, syncBytes int) (*plainLog, error) {
	l := &plainLog{dir: dir, segSize: segSize, syncBytes: syncBytes,
		fill: make([]byte, 0, bufSize), work: make(chan []byte), idle: make(chan []byte, 2), done: make(chan struct{})}
	l.idle <- make([]byte, 0, bufSize)
	if err := l.roll(); err != nil {
		return nil, err
	}
	go l.writer()
	return l, nil
}

// Append frames a record into the fill buffer; it waits only when both buffers are full.
func (l *plainLog) Append(typ Type, at time.Time, payload []byte) (uint64, error) {
	n := plainHeader + len(payload)
	if len(l.fill)+n > cap(l.fill) {
		l.handOff()
	}
	l.seq++
	off := len(l.fill)
	b := l.fill[off : off+n]
	binary.LittleEndian.PutUint32(b, uint32(len(payload)))
	binary.LittleEndian.PutUint16(b[4:], uint16(typ))
	binary.LittleEndian.PutUint64(b[6:], l.seq)
	binary.LittleEndian.PutUint64(b[14:], uint64(at.UnixNano()))
	copy(b[plainHeader:], payload)
	crc := crc32.Update(crc32.Checksum(b[:22], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(b[22:], crc)
	l.fill = l.fill[:off+n]
	if len(l.fill) >= l.syncBytes {
		l.handOff()
	}
	return l.seq, nil
}

// handOff gives the fill buffer to the writer and fills the idle one.
func (l *plainLog) handOff() {
	l.work <- l.fill
	l.fill = <-l.idle
}

// Sync writes what is buffered and waits until both buffers are back: all synced.
func (l *plainLog) Sync() error {
	if len(l.fill) > 0 {
		l.handOff()
	}
	other := <-l.idle
	l.idle <- other
	return l.werr
}

func (l *plainLog) Close() error {
	l.Sync()
	close(l.work)
	<-l.done
	return l.werr
}

// writer writes and fdatasyncs each buffer, then hands it back.
func (l *plainLog) writer() {
	defer close(l.done)
	var err error
	for buf := range l.work {
		if err == nil && l.off+int64(len(buf)) > l.segSize {
			err = l.roll()
		}
		if err == nil {
			_, err = l.f.WriteAt(buf, l.off)
		}
		if err == nil {
			err = l.f.Datasync()
		}
		if err == nil {
			start := l.off &^ (pageSize - 1)
			l.off += int64(len(buf))
			l.f.Drop(start, l.off-start)
		}
		l.werr = err
		l.idle <- buf[:0]
	}
	if cerr := l.f.Close(); err == nil {
		l.werr = cerr
	}
}

// roll closes the current segment and creates the next one, preallocated and named.
func (l *plainLog) roll() error {
	if l.f != nil {
		if err := l.f.Truncate(l.off); err != nil {
			return err
		}
		l.f.Close()
	}
	l.segID++
	path := filepath.Join(l.dir, segName(l.segID))
	f, err := osFS{}.OpenFile(path+tmpExt, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Allocate(l.segSize); err != nil && err != errUnsupported {
		return err
	}
	if err := f.Datasync(); err != nil {
		return err
	}
	if err := (osFS{}).Rename(path+tmpExt, path); err != nil {
		return err
	}
	l.f, l.off = f, 0
	return osFS{}.SyncDir(l.dir)
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkSeal is the cipher alone: sealFrames on batches of 64 B records in memory, no
// Log, no disk, on one goroutine and on one per CPU. It is the floor under the encrypted
// Append of BenchmarkAppend: per record, one CPU cannot append faster than "one" seals.
func BenchmarkSeal(b *testing.B) {
	const records = 1 << 12
	newBatch := func() (*segment, []byte) {
		seg := &segment{id: 1, aead: newAESGCM(testKey)}
		buf := make([]byte, records*(frameOverhead+64))
		for i := range records {
			f := buf[i*(frameOverhead+64):]
			putFrameHeader(f, innerSize+64, uint64(i+1))
			putInner(f[frameHeaderSize:], 1, 0)
		}
		return seg, buf
	}
	// Each op seals one record: a batch is sealed whole every records ops.
	b.Run("one", func(b *testing.B) {
		seg, buf := newBatch()
		var s sealScratch
		b.SetBytes(64)
		b.ReportAllocs()
		for i := range b.N {
			if i%records == records-1 {
				sealFrames(seg, buf, &s)
			}
		}
	})
	b.Run("per-cpu", func(b *testing.B) {
		b.SetBytes(64)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			seg, buf := newBatch()
			var s sealScratch
			for i := 0; pb.Next(); i++ {
				if i%records == records-1 {
					sealFrames(seg, buf, &s)
				}
			}
		})
	})
}
