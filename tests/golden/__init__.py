"""Golden-file tests on the embedded snapshot."""
