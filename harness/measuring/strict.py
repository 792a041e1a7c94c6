"""The harness's own strict reading of a store's JSON: independent of the stores' parser, and
stricter than JSON.parse where it would lose data (NaN, Infinity, 1e400, duplicate keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class InvalidStore(Exception):
    """The file is not a store the gateway's JSON.parse would read back unchanged."""


def _not_finite(literal: str) -> float:
    raise InvalidStore(f"{literal} is not a finite number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        _not_finite(literal)
    return value


def _finite_int(literal: str) -> int:
    try:
        value = int(literal)
        float(value)  # JSON.parse reads an integer beyond a double's range as Infinity
    except (OverflowError, ValueError):
        _not_finite(f"an integer of {len(literal)} characters")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InvalidStore("a key appears twice in one object")
    return obj


_STRICT = json.JSONDecoder(parse_float=_finite_float, parse_int=_finite_int,
                           parse_constant=_not_finite, object_pairs_hook=_unique_keys)


def strict_parse(raw: bytes, path: Path) -> dict[str, Any]:
    """The store in `raw`, or `InvalidStore`: independent of the stores' own parser, and
    stricter than JSON.parse where it would lose data (NaN, Infinity, 1e400, duplicate keys)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise InvalidStore(f"{path}: starts with a byte order mark")
    try:
        store = _STRICT.decode(raw.decode("utf-8"))
    except (InvalidStore, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidStore(f"{path}: {exc}") from None
    if not isinstance(store, dict) or not all(isinstance(e, dict) for e in store.values()):
        raise InvalidStore(f"{path}: not a JSON object of objects")
    return store


def strict_value(text: str, where: str) -> Any:
    """One JSON value (a row's entry, say), read as strictly as `strict_parse` reads a store."""
    try:
        return _STRICT.decode(text)
    except (InvalidStore, ValueError, RecursionError) as exc:
        raise InvalidStore(f"{where}: {exc}") from None
