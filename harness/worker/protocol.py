"""The wire format between the runner and a measured worker (docs/worker-protocol.md).

JSON lines on a dedicated message pipe, worker -> runner; one byte back on an ack pipe whenever
the worker waits to be measured. Standard library only: the worker imports this module.
"""

from __future__ import annotations

import json
import os
import select
from typing import Any

from session_store_harness.errors import WORKER_RUNNER_GONE

PROTOCOL_VERSION = 1
ACK = b"\n"
# The fields each cycle's mutation sets (`--touch-fields`); these three are the fix's stress
# test's, and a runner passes `--touch-fields` only for another list, so workers written before
# the option stay valid.
DEFAULT_TOUCH_FIELDS = ("updatedAt", "lastTo", "label")
# What a cycle does (`--workload`): `full`, the fix's stress loop (load the whole store, then
# update one entry), or `entry`, a gateway handling one message (read one session's entry, then
# update that entry: `get` and `update_entry`). A runner passes `--workload` only for `entry`.
WORKLOADS = ("full", "entry")
DEFAULT_WORKLOAD = "full"
# The entry workload's methods, as the `entry_api` message names them: each is "native" (the
# store's own) or "fallback" (the worker's, over load and update)
ENTRY_METHODS = ("get", "update_entry")
TIMESTAMP_FIELD = "updatedAt"  # set to the epoch milliseconds
LABEL_FIELD = "label"  # set to "cycle N"

MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "hello": ("protocol", "pid", "runtime", "heap_measure"),
    "cycle": ("cycle", "load_ms", "update_ms", "wrote", "reused_base"),
    "pretrim": ("cycle",),
    "entry_api": ENTRY_METHODS,
    "sample": ("cycle", "elapsed_ms", "heap_bytes", "external_bytes", "store_bytes"),
    "done": ("cycles",),
    "error": ("message",),
}
AWAITS_ACK = frozenset({"pretrim", "sample", "done"})


def touch_value(field: str, cycle: int, now_ms: int) -> int | str:
    """The value cycle `cycle` sets `field` to: the epoch milliseconds `now_ms` for
    `updatedAt`, `cycle N` for `label`, and `harness:N` for any other field (`lastTo` too)."""
    if field == TIMESTAMP_FIELD:
        return now_ms
    return f"cycle {cycle}" if field == LABEL_FIELD else f"harness:{cycle}"


def parse_touch_fields(text: str) -> tuple[str, ...]:
    """`--touch-fields a,b,c` as a tuple; ValueError for an empty or repeated name."""
    fields = tuple(name.strip() for name in text.split(","))
    if not fields or any(not name for name in fields):
        raise ValueError(f"--touch-fields takes field names separated by commas, got {text!r}")
    if len(set(fields)) != len(fields):
        raise ValueError(f"--touch-fields names a field twice: {text!r}")
    return fields


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
    """The worker's end: send messages, and block for the runner's ack where one is due.

    Whenever the runner is found gone (its end of a pipe closed: it exited, or was killed),
    the worker exits at once with `WORKER_RUNNER_GONE`: nobody is measuring any more.
    """

    def __init__(self, msg_fd: int, ack_fd: int) -> None:
        self.msg_fd, self.ack_fd = msg_fd, ack_fd

    def send(self, message: dict[str, Any]) -> None:
        view = memoryview(encode(message))
        try:
            while view:
                view = view[os.write(self.msg_fd, view):]
        except BrokenPipeError:  # nobody reads the message pipe any more
            raise SystemExit(WORKER_RUNNER_GONE) from None
        if message["type"] in AWAITS_ACK and os.read(self.ack_fd, 1) != ACK:
            raise SystemExit(WORKER_RUNNER_GONE)  # nobody is measuring: stop

    def runner_gone(self) -> bool:
        """Whether the runner's end of the message pipe is closed, without blocking.

        Between acks (a long warm-up, say) the worker reads nothing from the runner, so only
        this check, before each cycle, notices that the runner was killed.
        """
        poller = select.poll()
        poller.register(self.msg_fd, 0)  # POLLERR (reader closed) is reported unasked
        return any(events & (select.POLLERR | select.POLLHUP | select.POLLNVAL)
                   for _, events in poller.poll(0))

    def exit_if_runner_gone(self) -> None:
        if self.runner_gone():
            raise SystemExit(WORKER_RUNNER_GONE)
