module github.com/geogate/geogate

go 1.26
