module github.com/geogate/geogate

go 1.26.0

require (
	filippo.io/age v1.3.2
	github.com/BurntSushi/toml v1.6.0
	github.com/adrianmo/go-nmea v1.10.0
	github.com/creack/pty v1.1.24
	github.com/google/go-tpm v0.9.8
	github.com/paulmach/orb v0.14.0
	github.com/tarm/serial v0.0.0-20180830185346-98f6abe2eb07
	github.com/tidwall/rtree v1.10.0
	golang.org/x/crypto v0.59.0
	golang.org/x/mod v0.43.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require (
	filippo.io/hpke v0.4.0 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/tidwall/geoindex v1.7.0 // indirect
)
