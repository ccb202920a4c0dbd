package board

// WriteRingFile is the keyring's durable write, for the power-cut tests.
var WriteRingFile = &writeRingFile
