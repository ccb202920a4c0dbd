package storage

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

// BenchmarkAppend compares encrypted and plain appends of the same records with the same
// sync policy (default 100 ms durability window, default buffers and segments), on the
// disk under b.TempDir. Each run ends with Sync, so every record counted is durable.
// Payloads are random bytes, as incompressible as ciphertext and JPEG frames: zeros would
// flatter the plain baseline on storage that compresses or deduplicates.
func BenchmarkAppend(b *testing.B) {
	modes := []struct {
		name   string
		cipher Cipher
		plain  bool
	}{
		{"plain", 0, true},
		{"aes-gcm", AES256GCM, false},
		{"xchacha", XChaCha20Poly1305, false},
	}
	for _, size := range []int{64, 200 << 10} {
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/%s", sizeName(size), m.name), func(b *testing.B) {
				l, err := Open(b.TempDir(), Options{Key: testKey, Cipher: m.cipher, plain: m.plain, Clock: &fakeClock{t: t0}})
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
			putFrameHeader(buf[i*(frameOverhead+64):], 64, 1, uint64(i+1), 0)
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
