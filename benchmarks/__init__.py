"""Benchmarks: scripts run as `python benchmarks/<name>.py`; a package so they share helpers by name."""
