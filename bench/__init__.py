"""Benchmarks: each runs its reference in the same run and prints one JSON object last."""
