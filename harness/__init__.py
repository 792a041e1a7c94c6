"""session-store-harness: memory stress and benchmark harness for JSON-file session stores.

Kept import-free on purpose: the measured worker imports `harness.worker`, and anything
imported here would land in its figures.
"""

__version__ = "0.1.0"
