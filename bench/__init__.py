"""Benchmarks: each measures a ratio against a baseline run in the same process, on the same services."""
