"""Helpers the tests and benchmarks share: data builders, CLI checks, the proxy stack, servers."""
