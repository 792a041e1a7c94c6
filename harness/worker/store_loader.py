"""Find the store class a worker runs: a built-in name, `module:Class` or `/abs/file.py:Class`.

Standard library only: the measured worker, the stress writers, the preflight check and the
contract check all load a store through `load_store_class`, so they agree on what a target
means. The user's folders are APPENDED to `sys.path`, after the harness's own package and
site-packages: the user's code can be found, but cannot shadow the harness (the workers run
with `-P` and without PYTHONPATH, so nothing of the user's comes first).

Run as `python -P -m session_store_harness.worker.store_loader --store TARGET [--python-path
DIR]...` it only loads and checks the class: exit 0 and the source file on stdout, or the
problem in one line on stderr and the worker's store-error exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import WORKER_STORE_ERROR
from session_store_harness.stores import StoreError, store_class
from session_store_harness.stores.base import UpdateOutcome
from session_store_harness.worker.protocol import ENTRY_METHODS

# What a store class must have (stores/base.py, docs/store-interface.md).
REQUIRED_METHODS = ("load", "update", "save")
INTERFACE_DOC = "docs/store-interface.md"
# Module names given to stores loaded from a file, so they cannot replace an importable module.
FILE_MODULE_PREFIX = "_harness_user_store_"


def load_store_class(target: str, python_path: Sequence[str] = ()) -> type:
    """The class `target` names, checked for the store interface; a `StoreError` saying
    exactly what is wrong (no such module, file or class, or which methods are missing)."""
    if ":" not in target:
        return store_class(target)
    where, _, name = target.rpartition(":")
    for folder in python_path:
        append_path(folder)
    if where.endswith(".py") or "/" in where:
        module = _module_from_file(Path(where))
    else:
        module = _imported(where, python_path)
    found = getattr(module, name, None)
    if found is None:
        raise StoreError(f"{where} has no class {name!r}")
    if not isinstance(found, type):
        raise StoreError(f"{where}: {name!r} is a {type(found).__name__}, not a class")
    check_interface(found, where)
    return found


def append_path(folder: str) -> None:
    """Put `folder` at the END of sys.path, once: found after the harness and site-packages."""
    if folder not in sys.path:
        sys.path.append(folder)


def check_interface(store_class: type, where: str) -> None:
    """Refuse a class without the store interface's methods, naming each one missing."""
    missing = [name for name in REQUIRED_METHODS
               if not callable(getattr(store_class, name, None))]
    if missing:
        raise StoreError(f"{where}: class {store_class.__name__} lacks {', '.join(missing)} "
                         f"(the store interface needs {', '.join(REQUIRED_METHODS)}; see "
                         f"{INTERFACE_DOC})")


def _imported(module_name: str, python_path: Sequence[str]) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):  # the store's own
            folders = ", ".join(python_path) or "no folder of the user's"
            raise StoreError(f"cannot import {module_name!r}: no module named {exc.name!r} "
                             f"(searched the installed packages and {folders})") from None
        raise StoreError(f"importing {module_name!r} failed: {_one_line(exc)}") from None
    except Exception as exc:  # the module's own code raised while it was imported
        raise StoreError(f"importing {module_name!r} failed: {_one_line(exc)}") from None


def _module_from_file(path: Path) -> Any:
    if not path.is_file():
        raise StoreError(f"{path}: store file does not exist")
    # the file's folder too, at the end: its sibling modules import as they would in a script
    append_path(str(path.parent))
    name = FILE_MODULE_PREFIX + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StoreError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise StoreError(f"importing {path} failed: {_one_line(exc)}") from None
    return module


def update_outcome(returned: Any) -> UpdateOutcome:
    """What a user's `update` returned, as an `UpdateOutcome`: an `UpdateOutcome` or any object
    with `wrote` and `reused_base`, a mapping with those keys, or None. A missing figure means
    the update wrote and did not reuse the base (the Node adapter's rule too)."""
    if isinstance(returned, UpdateOutcome):
        return returned
    read = (returned.get if isinstance(returned, Mapping)
            else lambda name, default: getattr(returned, name, default))
    return UpdateOutcome(wrote=bool(read("wrote", True)),
                         reused_base=bool(read("reused_base", False)))


# The optional per-message methods (docs/store-interface.md): read one session's entry, and
# update one entry under the store's lock. How each was served is recorded with every run.
NATIVE, FALLBACK = "native", "fallback"
EntryMutator = Callable[[Any], Any]


@dataclass(frozen=True)
class EntryApi:
    """A store's `get(key)` and `update_entry(key, mutator)`: its own methods where it has
    them, else the fallback over `load` and `update` that a whole-file store must do anyway
    (load everything and pick the key; update the whole store, touching that key)."""

    get: Callable[[str], Any]
    update_entry: Callable[[str, EntryMutator], Any]
    paths: dict[str, str]  # method name -> NATIVE or FALLBACK


def entry_api(store: Any) -> EntryApi:
    """The per-message methods of `store` (an instance), each native or the fallback."""
    get, update = (getattr(store, name, None) for name in ENTRY_METHODS)
    paths = {name: NATIVE if callable(method) else FALLBACK
             for name, method in zip(ENTRY_METHODS, (get, update), strict=True)}
    return EntryApi(get=get if callable(get) else _fallback_get(store),
                    update_entry=update if callable(update) else _fallback_update(store),
                    paths=paths)


def _fallback_get(store: Any) -> Callable[[str], Any]:
    def get(key: str) -> Any:
        return store.load().get(key)
    return get


def _fallback_update(store: Any) -> Callable[[str, EntryMutator], Any]:
    def update_entry(key: str, mutator: EntryMutator) -> Any:
        return store.update(entry_mutation(key, mutator))
    return update_entry


def entry_mutation(key: str, mutator: EntryMutator) -> Callable[[dict], None]:
    """A whole-store mutator applying an entry mutator to `key`: the mutator gets the entry
    (or None when the key is absent), changes it in place or returns a new one."""
    def mutate(store: dict) -> None:
        entry = store.get(key)
        returned = mutator(entry)
        # an entry changed in place is in the store already: assigning it again would tell a
        # store that tracks assignments (latefile) that the entry was replaced
        if returned is not None and returned is not entry:
            store[key] = returned
    return mutate


def source_file(store_class: type) -> str | None:
    """The file the class was loaded from, or None (a class made at run time, say)."""
    module = sys.modules.get(store_class.__module__)
    path = getattr(module, "__file__", None)
    return str(Path(path).resolve()) if path else None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker.store_loader")
    parser.add_argument("--store", required=True)
    parser.add_argument("--python-path", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        store_class = load_store_class(args.store, args.python_path)
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return WORKER_STORE_ERROR
    print(source_file(store_class) or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
