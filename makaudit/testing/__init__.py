"""The test fleet: emulated Windows endpoints on loopback that real WinRM and PSRP clients can scan."""
