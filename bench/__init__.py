"""Benchmarks of the platform's services, run by `make bench` (see docs/performance.md)."""
