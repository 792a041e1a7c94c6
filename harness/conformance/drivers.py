"""The parent's side of the conformance driver protocol: start a driver, ask, read the answer.

A driver (`worker/conform_driver.py`, or `stores/node/conform_driver.mjs` for `--runtime
node`) loads the store under test in a process of its own and performs one operation per
request line; docs/conformance.md ("The driver protocol") has the requests and answers. The
only module that knows the wire format. Drivers run in their own session with umask 022, the
common default, so a store that leaves its file's mode to the umask shows it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from session_store_harness.errors import DRIVER_BAD_STORE
from session_store_harness.measuring.processes import child_env, kill_group
from session_store_harness.measuring.targets import StoreTarget

PYTHON_DRIVER = "session_store_harness.worker.conform_driver"
NODE_DRIVER = "conform_driver.mjs"  # in stores/node
DRIVER_UMASK = 0o022
STDERR_TAIL_CHARS = 300


class StepFailed(Exception):
    """A step of a rule could not be done: the store raised, or its driver died or hung.
    The message is the evidence, in one line."""


class BadStore(Exception):
    """The driver could not load the store the spec names (exit DRIVER_BAD_STORE)."""


class Driver:
    """One driver process holding one store instance on `path`; a context manager.

    What the driver and the store print goes to `output` (kept for the evidence of a failure).
    """

    def __init__(self, target: StoreTarget, path: Path, output: Path, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.output = output
        self._closed = False
        to_child, self._to_child = os.pipe()
        self._from_child, from_child = os.pipe()
        try:
            with output.open("wb") as printed:
                self.process = subprocess.Popen(
                    target.command(PYTHON_DRIVER, NODE_DRIVER, "--path", str(path),
                                   "--in-fd", str(to_child), "--out-fd", str(from_child)),
                    pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL,
                    stdout=printed, stderr=printed, env=child_env(),
                    start_new_session=True, umask=DRIVER_UMASK)
        except BaseException:
            self._close_fds()
            raise
        finally:
            os.close(to_child)  # the driver holds its own copies now
            os.close(from_child)
        self._pending = b""
        self.hello = self._hello()

    def _hello(self) -> dict[str, Any]:
        try:
            answer = self._answer("start")
        except StepFailed as exc:
            self.close()
            raise BadStore(str(exc)) from None
        if not answer.get("ok"):
            self.close()
            raise BadStore(answer.get("error", "the driver refused the store"))
        return answer["hello"]

    @property
    def has_save(self) -> bool:
        return bool(self.hello.get("save"))

    @property
    def entry_api(self) -> dict[str, str]:
        """How the driver serves `get` and `update_entry`: "native" (the store's own) or
        "fallback" (over load and update); empty from a driver that does not say."""
        api = self.hello.get("entry_api")
        return {str(k): str(v) for k, v in api.items()} if isinstance(api, dict) else {}

    def ask(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request; its answer, ok or not. A dead or hung driver is `StepFailed`."""
        try:
            _write_all(self._to_child, json.dumps({"op": op, **fields}).encode() + b"\n")
        except BrokenPipeError:
            raise StepFailed(f"{op}: the driver exited ({self._exit_phrase()})") from None
        return self._answer(op)

    def do(self, op: str, **fields: Any) -> dict[str, Any]:
        """`ask`, where a store error is `StepFailed` naming the operation."""
        answer = self.ask(op, **fields)
        if not answer.get("ok"):
            raise StepFailed(f"{op} raised {answer.get('error', 'an error')}")
        return answer

    def _answer(self, op: str) -> dict[str, Any]:
        line = self._line(op)
        try:
            answer = json.loads(line)
        except ValueError:
            raise StepFailed(f"{op}: the driver broke the protocol: {line[:80]!r}") from None
        if not isinstance(answer, dict):
            raise StepFailed(f"{op}: the driver broke the protocol: {line[:80]!r}")
        return answer

    def _line(self, op: str) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_group(self.process)
                raise StepFailed(f"{op}: no answer within {self.timeout_s:g} s (the store hangs)")
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise StepFailed(f"{op}: the driver exited ({self._exit_phrase()})")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _exit_phrase(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tail = self.stderr_tail()
        if code == DRIVER_BAD_STORE:
            return "it could not load the store"
        return f"exit code {code}" + (f": {tail}" if tail else "")

    def stderr_tail(self) -> str:
        """The end of what the driver printed, on one line."""
        text = self.output.read_bytes().decode(errors="replace").strip()
        return " | ".join(text[-STDERR_TAIL_CHARS:].splitlines())

    def close(self) -> None:
        """Ask the driver to exit, and make sure it did (its whole session)."""
        if self._closed:
            return
        if self.process.poll() is None:
            try:
                _write_all(self._to_child, b'{"op": "exit"}\n')
                self.process.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        kill_group(self.process)
        self._close_fds()

    def _close_fds(self) -> None:
        os.close(self._to_child)
        os.close(self._from_child)
        self._closed = True

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
