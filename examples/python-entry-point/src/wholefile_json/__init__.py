"""A minimal whole-file JSON session store (standard library only)."""

from wholefile_json.store import WholeFileJsonStore

__all__ = ["WholeFileJsonStore"]
