"""The wire format between the runner and a measured worker (docs/worker-protocol.md).

JSON lines on a dedicated message pipe, worker -> runner; one byte back on an ack pipe whenever
the worker waits to be measured. Standard library only: the worker imports this module.
"""

from __future__ import annotations

import json
import os
from typing import Any

from session_store_harness.errors import WORKER_RUNNER_GONE

PROTOCOL_VERSION = 1
ACK = b"\n"

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "hello": ("protocol", "pid", "runtime", "heap_measure"),
    "cycle": ("cycle", "load_ms", "update_ms", "wrote", "reused_base"),
    "pretrim": ("cycle",),
    "sample": ("cycle", "elapsed_ms", "heap_bytes", "external_bytes", "store_bytes"),
    "done": ("cycles",),
    "error": ("message",),
}
AWAITS_ACK = frozenset({"pretrim", "sample", "done"})


class ProtocolError(Exception):
    """A line on the message pipe that is not a valid message."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse and check one line; the error quotes the start of a bad line."""
    try:
        message = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not JSON: {line[:80]!r}") from None
    if not isinstance(message, dict) or message.get("type") not in MESSAGE_FIELDS:
        raise ProtocolError(f"unknown message: {line[:80]!r}")
    missing = [f for f in MESSAGE_FIELDS[message["type"]] if f not in message]
    if missing:
        raise ProtocolError(f"{message['type']} message lacks {', '.join(missing)}")
    return message


class WorkerChannel:
    """The worker's end: send messages, and block for the runner's ack where one is due."""

    def __init__(self, msg_fd: int, ack_fd: int) -> None:
        self.msg_fd, self.ack_fd = msg_fd, ack_fd

    def send(self, message: dict[str, Any]) -> None:
        view = memoryview(encode(message))
        while view:
            view = view[os.write(self.msg_fd, view):]
        if message["type"] in AWAITS_ACK and os.read(self.ack_fd, 1) != ACK:
            raise SystemExit(WORKER_RUNNER_GONE)  # nobody is measuring: stop
