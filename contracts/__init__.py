"""Contracts at the bottom of the dependency graph: value kinds, the pair, interval levels, dimensions, units,
country names, exit codes, the observation frame and the typed records every layer produces or consumes.

Nothing here does I/O or imports another project package; every layer imports from here and nothing re-declares
these names (tests/test_architecture.py checks both).
"""
