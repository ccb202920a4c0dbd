package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/geogate/geogate/storage"
)

// The caller numbers its record types; storage gives them no meaning.
const typeFix storage.Type = 1

// fixedClock is a storage.Clock that always reads the same instant, so the examples print the
// same on every date. On a unit, leave Options.Clock nil: the system clock.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func Example() {
	dir, _ := os.MkdirTemp("", "geogate-log")
	defer os.RemoveAll(dir)
	key := bytes.Repeat([]byte{0x5a}, storage.KeySize) // from board.KeyFile in the daemon

	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	l, err := storage.Open(dir, storage.Options{
		Key:    key,
		MaxAge: map[storage.Type]time.Duration{typeFix: 7 * 24 * time.Hour},
		Clock:  fixedClock(at.Add(time.Hour)), // retention keeps the record: it is an hour old
	})
	if err != nil {
		log.Fatal(err)
	}
	seq, err := l.Append(typeFix, at, []byte(`{"lat":31.2304,"lon":121.4737}`))
	if err != nil {
		log.Fatal(err)
	}
	if err := l.WaitDurable(seq); err != nil { // the hot loop would only check l.Durable()
		log.Fatal(err)
	}
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}

	r, _ := storage.NewReader(dir, key)
	segs, _ := r.Segments()
	for _, s := range segs {
		r.Scan(s.ID, func(rec *storage.Record) error {
			fmt.Printf("%d %d %s %s\n", rec.Seq, rec.Type, rec.Time.UTC().Format(time.RFC3339), rec.Payload)
			return nil
		})
	}
	// Output:
	// 1 1 2026-11-25T08:00:00Z {"lat":31.2304,"lon":121.4737}
}

func ExampleReader_Scan() {
	dir, _ := os.MkdirTemp("", "geogate-log")
	defer os.RemoveAll(dir)
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	l, _ := storage.Open(dir, storage.Options{Key: bytes.Repeat([]byte{1}, storage.KeySize), Clock: fixedClock(at)})
	l.Append(typeFix, at, []byte("secret"))
	l.Close()

	// Another key reads nothing and says why.
	r, _ := storage.NewReader(dir, bytes.Repeat([]byte{2}, storage.KeySize))
	segs, _ := r.Segments()
	_, err := r.Scan(segs[0].ID, func(*storage.Record) error { panic("unreachable") })
	fmt.Println(errors.Is(err, storage.ErrWrongKey))
	// Output:
	// true
}
