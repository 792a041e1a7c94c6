"""session-store-harness: memory stress and benchmark harness for JSON-file session stores.

Kept import-free on purpose: the measured worker imports this package first, and anything
imported here would land in its figures.
"""

__version__ = "0.2.0"
