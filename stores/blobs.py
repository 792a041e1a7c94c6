"""Content-addressed blob files for the skills prompts of `latefile` (stores/latefile.py).

A `skillsSnapshot.prompt` of at least 1,024 characters is written once to
`skills-prompts/sha256/<2 hex>/<sha256>.txt` beside the store (UTF-8, folders 0700, files 0600,
atomically), and the entry holds `{"blob": "sha256:<hex>"}` instead; loading resolves the
reference, checking the blob's digest. docs/store-designs.md describes the files.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from session_store_harness.stores.base import SessionMap, StoreError
from session_store_harness.stores.jsonfile import write_new_synced

BLOB_FOLDER = "skills-prompts"
BLOB_MIN_CHARS = 1024  # shorter prompts stay inline: a file per tiny prompt costs more
_REFERENCE = re.compile(r"sha256:([0-9a-f]{64})")


def blob_path(folder: Path, digest: str) -> Path:
    """Where the blob of a SHA-256 hex digest lives: `<folder>/sha256/<2 hex>/<hex>.txt`."""
    return folder / "sha256" / digest[:2] / f"{digest}.txt"


def reference_digest(value: Any) -> str | None:
    """The digest a blob reference names, or None if `value` is not a reference."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("blob"), str):
        found = _REFERENCE.fullmatch(value["blob"])
        return found.group(1) if found else None
    return None


class Blobs:
    """The content-addressed prompt files beside one store, and the texts already seen.

    Texts are kept by digest, so every entry resolved to one prompt holds the same string, and
    digests by text, so a prompt is hashed once per process however often it is written. A
    blob a new text needs is written by `flush`, just before the file that refers to it, so an
    update that changes nothing writes no blob either. One instance per folder in a process.
    """

    MAX_REMEMBERED = 4096  # distinct prompts; the field sees dozens

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._texts: dict[str, str] = {}
        self._digests: dict[str, str] = {}
        self._pending: dict[str, str] = {}  # digest -> text, for blobs not yet on disk
        self._on_disk: set[str] = set()

    def reference(self, prompt: str) -> dict[str, str]:
        """The reference that replaces `prompt` in the file; its blob is written by `flush`."""
        digest = self._digests.get(prompt)
        if digest is None:
            digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
            self._remember(digest, prompt)
        if digest not in self._on_disk:
            self._pending[digest] = prompt
        return {"blob": f"sha256:{digest}"}

    def flush(self) -> None:
        """Write every blob a reference handed out since needs, unless it exists already."""
        for digest, text in list(self._pending.items()):
            target = blob_path(self.folder, digest)
            if not target.exists():
                _write_blob(target, text.encode("utf-8"))
            self._on_disk.add(digest)
            del self._pending[digest]

    def text(self, digest: str, store_path: Path) -> str:
        """The prompt a reference names, read (and its digest checked) once."""
        text = self._texts.get(digest)
        if text is not None and digest in self._on_disk:
            return text
        target = blob_path(self.folder, digest)
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise StoreError(f"{store_path}: skills prompt blob {target} cannot be read "
                             f"({exc.strerror or exc})") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoreError(f"{store_path}: skills prompt blob {target} does not match its "
                             "digest")
        text = data.decode("utf-8")
        self._remember(digest, text)
        self._on_disk.add(digest)
        return text

    def _remember(self, digest: str, text: str) -> None:
        if len(self._texts) >= self.MAX_REMEMBERED:
            self._texts.clear()
            self._digests.clear()
        self._texts[digest] = text
        self._digests[text] = digest


_BLOBS: dict[Path, Blobs] = {}
_BLOBS_GUARD = threading.Lock()


def blobs_for(folder: Path) -> Blobs:
    """The one `Blobs` of a folder in this process, shared by every store instance in it."""
    with _BLOBS_GUARD:
        return _BLOBS.setdefault(folder.resolve(), Blobs(folder))


def _write_blob(target: Path, data: bytes) -> None:
    """Write a blob atomically; folders 0700, the file 0600. Two writers write the same bytes."""
    try:
        for folder in (target.parent.parent.parent, target.parent.parent, target.parent):
            folder.mkdir(mode=0o700, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{uuid.uuid4()}.tmp")
        write_new_synced(tmp, data)
        os.replace(tmp, target)
    except PermissionError:
        raise StoreError(f"{target.parent}: no permission to write the skills prompt "
                         "blobs") from None


def externalized(entry: Any, blobs: Blobs) -> Any:
    """The entry as the file holds it: a long skills prompt replaced by its blob reference.
    Shallow copies only: the caller's entry is left as it is."""
    if not isinstance(entry, dict):
        return entry
    snapshot = entry.get("skillsSnapshot")
    if not isinstance(snapshot, dict):
        return entry
    prompt = snapshot.get("prompt")
    if type(prompt) is not str or len(prompt) < BLOB_MIN_CHARS or not _encodable(prompt):
        return entry
    outer = dict(entry)
    outer["skillsSnapshot"] = {**snapshot, "prompt": blobs.reference(prompt)}
    return outer


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")  # a lone surrogate stays inline, escaped as JSON.stringify does
    except UnicodeEncodeError:
        return False
    return True


def resolve(store: SessionMap, blobs: Blobs, path: Path) -> SessionMap:
    """Replace, in place, every blob reference of a loaded store by its prompt."""
    for entry in store.values():
        snapshot = entry.get("skillsSnapshot") if isinstance(entry, dict) else None
        if isinstance(snapshot, dict):
            digest = reference_digest(snapshot.get("prompt"))
            if digest is not None:
                snapshot["prompt"] = blobs.text(digest, path)
    return store
