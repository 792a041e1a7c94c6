"""Reading, parsing, serializing and atomically writing a `sessions.json` file.

The format is the gateway's, `JSON.stringify(store, null, 2)`: 2-space indent, no trailing
newline, mode 0600. Python writes the very bytes Node writes for the same store
(tests/integration/test_store_parity.py): numbers as JavaScript's `Number.prototype.toString`
writes them, array-index keys ("2", "10") first in ascending order as in a JavaScript object, and
lone UTF-16 surrogates as `\\udxxx` escapes. What JavaScript's JSON cannot hold is refused on load
and on save, in one line naming the file: NaN and Infinity (JSON.parse refuses them), numbers
beyond a double's range (JSON.parse reads 1e400 as Infinity) and nesting deeper than Python's
recursion limit lets it parse, copy or write.
"""

from __future__ import annotations

import codecs
import copy
import json
import math
import os
import re
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from session_store_harness.stores.base import SessionMap, StoreError

FILE_MODE = 0o600


class _Unwritable(Exception):
    """A value JSON cannot hold; the message says which, the caller names the file."""


# ---- parsing ----------------------------------------------------------------------------------

def _refuse_constant(name: str) -> float:
    raise _Unwritable(f"{name} is not a JSON number (JSON.parse refuses it)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _Unwritable(f"{literal} is beyond a double's range (JSON.parse reads it as "
                          "Infinity)")
    return value


# Only floats and the NaN/Infinity constants reach a hook, so a store of integers and strings
# parses at the C scanner's full speed. An integer literal over 4300 digits fails the int
# conversion (below); one of 310 to 4300 digits is read exactly and refused when saved.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


def read_bytes(path: Path) -> bytes:
    return read_with_stat(path)[0]


def parse(raw: bytes, path: Path) -> SessionMap:
    """Parse store bytes, refusing anything that is not a JSON object of objects."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise StoreError(f"{path}: starts with a UTF-8 byte order mark, which JSON forbids")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    if not text or text.isspace():
        raise StoreError(f"{path}: store file is empty")
    try:
        return _parse_members(text, path)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None
    except _Unwritable as exc:
        raise StoreError(f"{path}: {exc}") from None
    except ValueError:  # int(): a literal over sys.get_int_max_str_digits() digits
        raise StoreError(f"{path}: an integer of more than {sys.get_int_max_str_digits()} "
                         "digits is beyond a double's range (JSON.parse reads it as "
                         "Infinity)") from None
    except RecursionError:
        raise too_deep(path) from None


def _parse_members(text: str, path: Path) -> SessionMap:
    """The top-level object member by member, so a session key written twice is refused.

    `json.loads` would keep the last of two equal keys and an update would then drop the
    first for good. Each entry is still parsed by the C scanner: on the 7600 KB realistic store
    this takes 21.5 ms against 19.8 ms for `json.loads` (median of 30), about 9% more.
    """
    index = _skip_space(text, 0)
    if text[index] != "{":
        root = _DECODER.decode(text)  # raises for invalid JSON, else names the wrong root type
        raise StoreError(f"{path}: root is a JSON {_json_type(root)}, expected an object")
    store: SessionMap = {}
    index = _skip_space(text, index + 1)
    while text[index: index + 1] != "}":
        if store:
            index = _expect(text, index, ",")
        index = _skip_space(text, index)
        if text[index: index + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes",
                                       text, index)
        key, index = json.decoder.scanstring(text, index + 1)
        index = _expect(text, index, ":")
        entry, index = _DECODER.raw_decode(text, _skip_space(text, index))
        if key in store:
            raise StoreError(f"{path}: session key {key!r} appears twice")
        if not isinstance(entry, dict):
            raise StoreError(f"{path}: entry {key!r} is a JSON {_json_type(entry)}, "
                             "expected an object")
        store[key] = entry
        index = _skip_space(text, index)
        if index >= len(text):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
    if text[_skip_space(text, index + 1):]:
        raise json.JSONDecodeError("Extra data", text, _skip_space(text, index + 1))
    return store


def decode_value(text: str, index: int, path: Path) -> tuple[Any, int]:
    """The JSON value at `index` and where it ends, as the store parser reads an entry:
    `json.JSONDecodeError` when the text is invalid or cut short, `StoreError` naming `path`
    for a value JSON.parse would not read back (NaN, 1e400, too deep)."""
    try:
        return _DECODER.raw_decode(text, index)
    except json.JSONDecodeError:
        raise
    except _Unwritable as exc:
        raise StoreError(f"{path}: {exc}") from None
    except ValueError:  # int(): a literal over sys.get_int_max_str_digits() digits
        raise StoreError(f"{path}: an integer of more than {sys.get_int_max_str_digits()} "
                         "digits is beyond a double's range") from None
    except RecursionError:
        raise too_deep(path) from None


def _skip_space(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()


def _expect(text: str, index: int, char: str) -> int:
    index = _skip_space(text, index)
    if text[index: index + 1] != char:
        raise json.JSONDecodeError(f"Expecting {char!r} delimiter", text, index)
    return index + 1


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def too_deep(path: Path) -> StoreError:
    """Python parses, copies and writes nested values recursively; Node's limit is its stack
    (it reads 1,000 levels, but its clone and stringify fail at some thousands)."""
    return StoreError(f"{path}: nested too deeply (beyond Python's recursion limit of "
                      f"{sys.getrecursionlimit()})")


def parse_store(raw: bytes, path: Path) -> SessionMap:
    """Parse and migrate: what every store does with the bytes it reads."""
    store = parse(raw, path)
    migrate(store)
    return store


def migrate(store: SessionMap) -> None:
    """The gateway's load-time migration: session keys are lowercase.

    A mixed-case key whose lowercase twin already exists is left alone rather than dropped.
    """
    for key in [k for k in store if k != k.lower()]:
        if key.lower() not in store:
            store[key.lower()] = store.pop(key)


def normalize_delivery(store: SessionMap) -> None:
    """The gateway's delivery-field normalization on load and save, in place.

    An entry whose `deliveryContext.to` no longer matches its `lastTo` gets its delivery
    context rebuilt: `to` follows `lastTo` and a null `threadId` is dropped. Entries already
    consistent are left as they are, so after an update the file differs only in the entries
    whose `lastTo` changed (docs/store-behaviour.md, "What the real store does per cycle").
    """
    for entry in store.values():
        if type(entry) is not dict:
            continue  # a caller's save may hold anything; serializing judges it
        context = entry.get("deliveryContext")
        last_to = entry.get("lastTo")
        if type(context) is dict and type(last_to) is str and context.get("to") != last_to:
            context["to"] = last_to
            if "threadId" in context and context["threadId"] is None:
                del context["threadId"]


def deep_copy(store: SessionMap, path: Path) -> SessionMap:
    """`copy.deepcopy`, refusing in one line a store too deep for it (2 frames per level)."""
    try:
        return copy.deepcopy(store)
    except RecursionError:
        raise too_deep(path) from None


# ---- serializing: JSON.stringify(store, null, 2) ----------------------------------------------

_SAFE_INTEGER = 2 ** 53  # below it an int is exact in a double and JavaScript prints its digits
_MAX_ARRAY_INDEX = 2 ** 32 - 2
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
_DIGITS = frozenset("0123456789")
# The C string escaper: the same escapes as JSON.stringify, except that it leaves a lone
# surrogate as it is (the encode error handler below writes it as JSON.stringify does).
_quote = json.encoder.encode_basestring
_SURROGATES = "session_store_harness.json_stringify_surrogates"


def serialize(store: SessionMap, path: Path | str = "store") -> str:
    """The exact text the gateway writes (`JSON.stringify(store, null, 2)`)."""
    return serialize_bytes(store, path).decode("utf-8")


def serialize_bytes(store: SessionMap, path: Path | str = "store") -> bytes:
    """`serialize` encoded as UTF-8: what a store writes. Refuses what JSON cannot hold."""
    chunks: list[str] = []
    try:
        _write_object(store, "\n", chunks)
    except _Unwritable as exc:
        raise StoreError(f"{path}: cannot save {exc}") from None
    except RecursionError:
        raise too_deep(Path(path)) from None
    # The error handler runs only where a lone surrogate is: a store without one pays nothing.
    return "".join(chunks).encode("utf-8", _SURROGATES)


def member_text(value: Any, path: Path | str = "store") -> str:
    """One top-level entry's value as `serialize` writes it inside the store (indented 2), so
    a store's text is `join_members` of its members' texts: what `latefile` splices."""
    chunks: list[str] = []
    try:
        if isinstance(value, dict):
            _write_object(value, "\n  ", chunks)
        elif isinstance(value, list | tuple):
            _write_array(value, "\n  ", chunks)
        else:
            chunks.append(_scalar(value))
    except _Unwritable as exc:
        raise StoreError(f"{path}: cannot save {exc}") from None
    except RecursionError:
        raise too_deep(Path(path)) from None
    return "".join(chunks)


def join_members(members: Iterable[tuple[str, str]]) -> bytes:
    """The store's bytes from (key, `member_text`) pairs in file order: byte for byte what
    `serialize_bytes` writes for the store they came from."""
    text = ",\n  ".join(f"{_quote(key)}: {value}" for key, value in members)
    return ("{\n  " + text + "\n}" if text else "{}").encode("utf-8", _SURROGATES)


def members_in_order(store: SessionMap) -> Iterable[tuple[str, Any]]:
    """The store's (key text, value) pairs in the order `serialize` writes them."""
    return _members(store)


def plain_member_order(store: SessionMap) -> bool:
    """True when the store's members are written in its own key order: every key a string
    that cannot be an array index (JavaScript writes those first)."""
    return all(type(key) is str and key[:1] not in _DIGITS for key in store)


def _write_object(obj: dict, newline: str, out: list[str]) -> None:
    # Containers are written here and in _write_array directly, one Python frame per level of
    # nesting, so the writer reaches as deep as the C parser does.
    if not obj:
        out.append("{}")
        return
    inner = newline + "  "
    separator = "{" + inner
    for key, value in _members(obj):
        out.append(f"{separator}{_quote(key)}: ")
        if type(value) is str:
            out.append(_quote(value))
        elif isinstance(value, dict):
            _write_object(value, inner, out)
        elif isinstance(value, list | tuple):
            _write_array(value, inner, out)
        else:
            out.append(_scalar(value))
        separator = "," + inner
    out.append(newline + "}")


def _write_array(array: list | tuple, newline: str, out: list[str]) -> None:
    if not array:
        out.append("[]")
        return
    inner = newline + "  "
    separator = "[" + inner
    # the value dispatch repeats _write_object's on purpose: a shared helper costs a call per
    # value on the save path, which the workers time
    for value in array:
        out.append(separator)
        if type(value) is str:
            out.append(_quote(value))
        elif isinstance(value, dict):
            _write_object(value, inner, out)
        elif isinstance(value, list | tuple):
            _write_array(value, inner, out)
        else:
            out.append(_scalar(value))
        separator = "," + inner
    out.append(newline + "]")


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return js_number(value)
    raise _Unwritable(f"a {type(value).__name__}: JSON has no such value")


def _members(obj: dict) -> Iterable[tuple[str, Any]]:
    """The members in a JavaScript object's order: array-index keys first, ascending, then the
    other keys in insertion order (which a Python dict keeps too)."""
    for key in obj:
        if type(key) is not str or key[:1] in _DIGITS:
            return _reordered(obj)
    return obj.items()


def _reordered(obj: dict) -> list[tuple[str, Any]]:
    members = [(_key_text(key), value) for key, value in obj.items()]
    indexed = sorted((m for m in members if _is_array_index(m[0])), key=lambda m: int(m[0]))
    return indexed + [m for m in members if not _is_array_index(m[0])]


def _is_array_index(key: str) -> bool:
    return _ARRAY_INDEX.fullmatch(key) is not None and int(key) <= _MAX_ARRAY_INDEX


def _key_text(key: Any) -> str:
    """A key as JavaScript makes it a property name (`obj[1.0]` is `obj["1"]`)."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return _scalar(key)
    raise _Unwritable(f"a key of type {type(key).__name__}: JSON keys are strings")


def js_number(value: int | float) -> str:
    """`Number.prototype.toString` of the double `value` is (or, for an int, rounds to)."""
    if isinstance(value, int):
        if -_SAFE_INTEGER < value < _SAFE_INTEGER:
            return int.__repr__(int(value))
        try:
            value = float(value)  # rounds to the nearest double, as JSON.parse does
        except OverflowError:
            raise _Unwritable(f"an integer of {value.bit_length()} bits: not a finite number "
                              "as a double (JSON.stringify would write null)") from None
    if not math.isfinite(value):
        raise _Unwritable(f"{value!r}: not a finite number (JSON has no NaN or Infinity; "
                          "JSON.stringify would write null)")
    if value == 0:
        return "0"  # -0 too
    text = float.__repr__(value)  # the shortest digits that round-trip, as in JavaScript
    if "e" not in text:  # Python prints 1e-4 <= |x| < 1e16 positionally, and so does JavaScript
        return text[:-2] if text.endswith(".0") else text
    sign, text = ("-", text[1:]) if text[0] == "-" else ("", text)
    mantissa, exponent = text.split("e")
    return sign + _js_digits(mantissa.replace(".", ""), int(exponent) + 1)


def _js_digits(digits: str, point: int) -> str:
    """ECMAScript Number::toString for the value 0.`digits` x 10^`point` (no zeros trailing)."""
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return f"{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"0.{'0' * -point}{digits}"
    exponent = point - 1
    mantissa = digits if count == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def _escape_lone_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    """Encode error handler: a lone surrogate as the `\\udxxx` escape JSON.stringify writes; a
    high and a low one side by side as the one character a JavaScript string makes of them.
    Returns bytes: the UTF-8 encoder takes a str replacement only if it is ASCII."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start:error.end]
    parts, index = [], 0
    while index < len(run):
        char = run[index]
        low = run[index + 1: index + 2]
        if "\ud800" <= char <= "\udbff" and "\udc00" <= low <= "\udfff":
            pair = chr(0x10000 + ((ord(char) - 0xD800) << 10) + ord(low) - 0xDC00)
            parts.append(pair.encode("utf-8"))
            index += 2
        else:
            parts.append(f"\\u{ord(char):04x}".encode("ascii"))
            index += 1
    return b"".join(parts), error.end


codecs.register_error(_SURROGATES, _escape_lone_surrogates)


# ---- files ------------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes) -> None:
    """Write via a unique temp file, fsync, rename over the store, fsync the directory."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4()}.tmp")
    try:
        write_new_synced(tmp, data)
        os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{path}: no permission to write the store's folder") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_new_synced(path: Path, data: bytes) -> None:
    """Create `path` (it must not exist: O_EXCL), 0600, write all of `data` and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_with_stat(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes and the stat of one open file, so both describe the same version."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            return handle.read(), stat
    except FileNotFoundError:
        raise StoreError(f"{path}: store file does not exist") from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a store file") from None
    except PermissionError:
        raise StoreError(f"{path}: no permission to read the store file") from None


def stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
