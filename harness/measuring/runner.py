"""Start the measured worker, follow its messages, sample it from outside, build the `Run`.

The one place measured workers are started (`memcheck.py` runs arbitrary commands, `stress.py`
writer processes, `commands/bench.py` pyperf). A worker that fails, hangs or is interrupted is
data: the `Run` comes back with what was gathered, a status and the error, never an exception.
"""

from __future__ import annotations

import os
import random
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from session_store_harness import stores
from session_store_harness.errors import HarnessError
from session_store_harness.measuring.persisted import Layout, layout_of
from session_store_harness.measuring.processes import (
    child_env,
    describe_interruption,
    kill_group,
    node_binary,
    python_module,
)
from session_store_harness.measuring.sampler import (
    KernelPeaks,
    RssSampler,
    clear_refs_path,
    kernel_peak_rss_bytes,
)
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import (
    PEAK_LIFETIME,
    CycleTiming,
    Run,
    Sample,
    Status,
    StoreInfo,
    WorkerInfo,
    WorkerRun,
)
from session_store_harness.model.store_spec import BUILTIN, StoreSpec, builtin_source
from session_store_harness.worker.protocol import (
    ACK,
    DEFAULT_TOUCH_FIELDS,
    DEFAULT_WORKLOAD,
    ENTRY_METHODS,
    PROTOCOL_VERSION,
    ProtocolError,
    decode,
)

STDERR_TAIL_CHARS = 4000
# A worker's layout: padding in its environment shifts its stack and the heap after it, and
# PYTHONHASHSEED changes dict/set ordering and sizes; repeats sharing one layout share its
# artefacts, so intervals come out too narrow (one was once called a +10% regression).
PAD_VARIABLE = "HARNESS_LAYOUT_PAD"
MAX_PAD_BYTES = 4096
MAX_HASH_SEED = 2**32 - 1


class WorkerFailed(Exception):
    """The exchange with the worker cannot go on; the message says why."""


@dataclass
class _Exchange:
    """What has been gathered from one worker so far."""

    samples: list[Sample] = field(default_factory=list)
    cycles: list[CycleTiming] = field(default_factory=list)
    hello: dict[str, Any] = field(default_factory=dict)
    kernel_peak: int | None = None
    done: bool = False
    worker_error: str | None = None
    boundary: int = 0  # index of the first timeline point since the previous sample
    untrimmed_rss: int | None = None  # RSS read at the last `pretrim`, for the next sample
    entry_api: dict[str, str] | None = None  # the entry workload's `entry_api` message


NODE_WORKER = Path(stores.__file__).resolve().parent / "node" / "worker.mjs"


def worker_command(config: RunConfig, store_path: Path, msg_fd: int, ack_fd: int) -> list[str]:
    """The worker's command line: the program the store's spec runs (the Python worker, the
    Node one, or the user's --worker-cmd) and the protocol's arguments after it."""
    return [*worker_program(config.spec),
            *protocol_arguments(config, store_path, msg_fd, ack_fd)]


def worker_program(spec: StoreSpec) -> list[str]:
    if spec.runtime == "python":
        return python_module("session_store_harness.worker")
    if spec.runtime == "node":
        # node's own options (a TypeScript loader: --import=tsx) go before the script
        return [node_binary(), "--expose-gc", *spec.node_args, str(NODE_WORKER)]
    return list(spec.command)


def protocol_arguments(config: RunConfig, store_path: Path, msg_fd: int,
                       ack_fd: int) -> list[str]:
    """The arguments docs/worker-protocol.md defines; those with a default are passed only
    when they differ from it, so a worker written before an option existed stays valid."""
    spec = config.spec
    arguments = ["--store", spec.target, "--path", str(store_path),
                 "--cycles", str(config.cycles), "--sample-every", str(config.sample_every),
                 "--touch-keys", str(config.touch_keys),
                 "--msg-fd", str(msg_fd), "--ack-fd", str(ack_fd)]
    if spec.runtime == "python" or config.heap != "allocator":
        arguments += ["--heap", config.heap]
    if config.touch_fields != DEFAULT_TOUCH_FIELDS:
        arguments += ["--touch-fields", ",".join(config.touch_fields)]
    if config.workload != DEFAULT_WORKLOAD:
        arguments += ["--workload", config.workload]
    if config.warmup_cycles:
        arguments += ["--warmup-cycles", str(config.warmup_cycles)]
    if config.reuse_loaded_store:
        arguments.append("--reuse-loaded-store")
    if config.trim:
        arguments.append("--trim")
    for folder in spec.python_path if spec.runtime == "python" else ():
        arguments += ["--python-path", folder]
    return arguments


def store_source(config: RunConfig) -> Path | None:
    """The source file of the store implementation a run measures: the code under test."""
    spec = config.spec
    if spec.source is None and spec.kind == BUILTIN:  # a config made without parsing a spec
        return builtin_source(spec.target, spec.runtime)
    return spec.source


def code_under_test(config: RunConfig) -> dict[str, Path]:
    """The code a run measures, for `environment.capture`: the store's source, if known."""
    source = store_source(config)
    return {} if source is None else {"store": source}


def new_layout_seed() -> int:
    """A seed for the layouts when none is given: recorded, so the run can be repeated."""
    return random.SystemRandom().randint(0, MAX_HASH_SEED)


def draw_layout(rng: random.Random, runtime: str, env: Mapping[str, str]) -> dict[str, int]:
    """One worker's layout; a PYTHONHASHSEED the user set with --env wins and is recorded."""
    pad, hash_seed = rng.randint(0, MAX_PAD_BYTES), rng.randint(0, MAX_HASH_SEED)
    # both are drawn whatever is used, so a --layout-seed gives the same pads either way
    layout = {"pad_bytes": pad}
    if runtime != "python":
        return layout  # Node has no hash seed to set
    if "PYTHONHASHSEED" not in env:
        return {**layout, "hash_seed": hash_seed}
    user = env["PYTHONHASHSEED"]  # "random" or a number, the same for every repeat
    return {**layout, "hash_seed_fixed": 1, **({"hash_seed": int(user)} if user.isdigit() else {})}


def layouts(seed: int | None, runtime: str, env: Mapping[str, str]
            ) -> Iterator[dict[str, int] | None]:
    """Each repeat's layout in turn, drawn from `seed`; with no seed, the one fixed layout."""
    rng = random.Random(seed)
    while True:
        yield None if seed is None else draw_layout(rng, runtime, env)


def layout_env(layout: dict[str, int] | None) -> dict[str, str]:
    """The worker environment variables that give it `layout` (--env values override them)."""
    if layout is None:
        return {}
    env = {PAD_VARIABLE: "x" * layout["pad_bytes"]}
    if "hash_seed" in layout and not layout.get("hash_seed_fixed"):
        env["PYTHONHASHSEED"] = str(layout["hash_seed"])
    return env


def run_repeats(config: RunConfig, pristine: Path, store: StoreInfo,
                environment: dict[str, Any], scratch: Path, argv: tuple[str, ...] = (),
                on_cycle: Callable[[int, int], None] | None = None,
                layout_seed: int | None = None) -> Run:
    """`config.repeat` fresh workers, each on its own fresh copy of the pristine store, each
    in its own layout drawn from `layout_seed` (None: all in the one fixed layout).

    Stops at the first repeat that does not complete: later repeats would not be comparable.
    """
    started_at = now()
    drawn = layouts(layout_seed, config.runtime, dict(config.env))
    repeats = run_in_turn(
        lambda index, first: run_repeat(
            config, pristine, scratch / f"repeat-{index + 1}", next(drawn),
            (lambda cycle, i=index + 1: on_cycle(i, cycle)) if on_cycle else None, first),
        config.repeat)
    return Run(config=config, environment=environment, store=store, started_at=started_at,
               finished_at=now(), repeats=tuple(repeats), argv=argv, layout_seed=layout_seed)


def run_in_turn(step: Callable[[int, bool], WorkerRun], count: int,
                enough: Callable[[int], bool] | None = None) -> list[WorkerRun]:
    """`step(index, first)` for index 0..count-1, stopping at the first repeat that does not
    complete (later ones would not be comparable), at Ctrl-C between workers, or when
    `enough(repeats done)` says so; the repeats done are kept either way (too few of them mark
    the run interrupted)."""
    done: list[WorkerRun] = []
    try:
        for index in range(count):
            done.append(step(index, not done))
            if done[-1].status != "complete" or (enough is not None and enough(len(done))):
                break
    except KeyboardInterrupt:
        pass
    return done


def run_repeat(config: RunConfig, pristine: Path, folder: Path, layout: dict[str, int] | None,
               on_cycle: Callable[[int], None] | None = None, first: bool = False) -> WorkerRun:
    """One repeat: a fresh worker on a fresh copy of the pristine store in the new `folder`.

    A copy that cannot be made is a failed repeat, or, for the `first` one, a `HarnessError`:
    nothing was measured, so there is no result folder to keep.
    """
    try:
        store_path = _fresh_copy(pristine, folder, layout_of(config.spec.target,
                                                             config.spec.kind == BUILTIN))
    except OSError as exc:  # a full or vanished TMPDIR
        problem = _copy_failed(folder.name, folder.parent, exc)
        if first:
            raise HarnessError(f"{problem}; nothing was run") from None
        return WorkerRun(worker=WorkerInfo(), status="failed", error=problem, layout=layout)
    return run_worker(config, store_path, folder, on_cycle, layout=layout)


def _fresh_copy(pristine: Path, folder: Path, layout: Layout) -> Path:
    folder.mkdir()
    store_path = folder / pristine.name
    for source in (pristine, *layout.made_once(pristine)):  # sqlite: its database too
        shutil.copyfile(source, folder / source.name)
        os.chmod(folder / source.name, 0o600)
    return store_path


def _copy_failed(name: str, scratch: Path, exc: OSError) -> str:
    # the scratch folder is removed by the time this is read: name the folder it was in
    return (f"cannot copy the store for {name.replace('-', ' ')} into a scratch folder under "
            f"{scratch.parent} ({exc.strerror or exc})")


def run_worker(config: RunConfig, store_path: Path, scratch: Path,
               on_cycle: Callable[[int], None] | None = None,
               command: Callable[[int, int], list[str]] | None = None,
               layout: dict[str, int] | None = None,
               clear_refs: Callable[[int], Path] = clear_refs_path,
               transcript: list[dict[str, Any]] | None = None) -> WorkerRun:
    """Run one worker over the store at `store_path` and return everything it measured.

    `command(msg_fd, ack_fd)` replaces the command the store's spec runs (`worker_command`):
    any program speaking the protocol. `layout` (from `draw_layout`) sets its environment's
    layout; None leaves it as it is. `clear_refs(pid)` is the file that resets the worker's
    kernel peak (/proc/PID/clear_refs). Every valid message is appended to `transcript`.
    """
    exchange = _Exchange()
    msg_r, msg_w = os.pipe()
    ack_r, ack_w = os.pipe()
    stderr_path = scratch / "worker-stderr.txt"
    try:
        with stderr_path.open("wb") as stderr, \
                (scratch / "worker-stdout.txt").open("wb") as stdout:
            argv = (command(msg_w, ack_r) if command
                    else worker_command(config, store_path, msg_w, ack_r))
            process = _start(argv, msg_w, ack_r, stdout, stderr,
                             child_env({**layout_env(layout), **dict(config.env)}))
        started_at = now(timespec="microseconds")
    except BaseException:
        for fd in (msg_r, ack_w):
            os.close(fd)
        raise
    finally:
        os.close(msg_w)  # the worker holds its own copies now
        os.close(ack_r)
    started = time.monotonic()
    sampler: RssSampler | None = None
    peaks = KernelPeaks(process.pid, clear_refs(process.pid))
    status: Status = "complete"
    error = None
    try:  # from the moment the worker exists, every way out kills its group
        sampler = RssSampler(process.pid, config.interval_ms, started)
        sampler.start()
        _follow(process, msg_r, ack_w, sampler, exchange, peaks, started + config.timeout_s,
                on_cycle, transcript)
        exit_code = process.wait(timeout=max(1.0, started + config.timeout_s - time.monotonic()))
        error = _exit_error(exchange, exit_code)
    except (WorkerFailed, subprocess.TimeoutExpired) as exc:
        error = str(exc) if isinstance(exc, WorkerFailed) else (
            f"worker did not finish within --timeout {config.timeout_s:g} s")
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP as `Interrupted`
        status, error = "interrupted", describe_interruption(exc)
    finally:
        kill_group(process)
        if sampler is not None:
            sampler.stop()
        os.close(msg_r)
        os.close(ack_w)
    if error and status == "complete":
        status = "failed"
    return WorkerRun(worker=WorkerInfo(pid=process.pid, runtime=exchange.hello.get("runtime"),
                                       heap_measure=exchange.hello.get("heap_measure"),
                                       exit_code=process.returncode,
                                       stderr_tail=_tail(stderr_path),
                                       entry_api=exchange.entry_api),
                     status=status, samples=tuple(exchange.samples),
                     cycles=tuple(exchange.cycles),
                     timeline=tuple(sampler.points) if sampler else (),
                     kernel_peak_rss_bytes=exchange.kernel_peak, error=error,
                     layout=layout, started_at=started_at,
                     peak_method=peaks.method or PEAK_LIFETIME,
                     peak_reset_error=peaks.reset_error)


def _start(argv: list[str], msg_fd: int, ack_fd: int, stdout: Any, stderr: Any,
           env: dict[str, str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(argv, pass_fds=(msg_fd, ack_fd), stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, env=env, start_new_session=True)
    except OSError as exc:  # a --worker-cmd program that is not executable, say
        raise HarnessError(f"cannot start the worker {argv[0]} "
                           f"({exc.strerror or exc}); nothing was run") from None


def _follow(process: subprocess.Popen, msg_fd: int, ack_fd: int, sampler: RssSampler,
            exchange: _Exchange, peaks: KernelPeaks, deadline: float,
            on_cycle: Callable[[int], None] | None,
            transcript: list[dict[str, Any]] | None = None) -> None:
    measured = psutil.Process(process.pid)
    for line in _lines(msg_fd, deadline):
        try:
            message = decode(line)
        except ProtocolError as exc:
            raise WorkerFailed(f"worker broke the protocol: {exc}") from None
        kind = message["type"]
        if transcript is not None:
            transcript.append(message)
        if kind == "hello":
            if message["protocol"] != PROTOCOL_VERSION:
                raise WorkerFailed(f"worker speaks protocol {message['protocol']!r}; this "
                                   f"harness speaks {PROTOCOL_VERSION}")
            exchange.hello = message
        elif kind == "cycle":
            exchange.cycles.append(CycleTiming(message["cycle"], message["load_ms"],
                                               message["update_ms"], message["wrote"],
                                               message["reused_base"]))
            sampler.cycle = message["cycle"]
            if on_cycle:
                on_cycle(message["cycle"])
        elif kind == "entry_api":
            exchange.entry_api = {name: str(message[name]) for name in ENTRY_METHODS}
        elif kind == "pretrim":
            exchange.untrimmed_rss = _rss(measured)
            _ack(ack_fd)
        elif kind == "sample":
            exchange.samples.append(_sample(message, measured, sampler, exchange, peaks))
            exchange.untrimmed_rss = None
            _ack(ack_fd)
        elif kind == "done":
            exchange.kernel_peak = kernel_peak_rss_bytes(process.pid)
            exchange.done = True
            _ack(ack_fd)
        elif kind == "error":
            exchange.worker_error = message["message"]


def _sample(message: dict[str, Any], measured: psutil.Process, sampler: RssSampler,
            exchange: _Exchange, peaks: KernelPeaks) -> Sample:
    rss = _rss(measured)
    since = sampler.points[exchange.boundary:]
    exchange.boundary = len(sampler.points)
    return Sample(cycle=message["cycle"], elapsed_ms=float(message["elapsed_ms"]), rss_bytes=rss,
                  sampled_peak_rss_bytes=max([rss, *(p.rss_bytes for p in since)]),
                  kernel_peak_rss_bytes=peaks.at_sample(),
                  heap_bytes=message["heap_bytes"], external_bytes=message["external_bytes"],
                  store_bytes=message["store_bytes"], untrimmed_rss_bytes=exchange.untrimmed_rss,
                  heap_peak_bytes=message.get("heap_peak_bytes"))


def _rss(measured: psutil.Process) -> int:
    # The worker is blocked on its ack, so this reading is of a quiet process.
    try:
        return measured.memory_info().rss
    except psutil.Error:
        raise WorkerFailed("worker exited while it was being measured") from None


def _lines(fd: int, deadline: float):
    """Lines from the message pipe until the worker closes it; fails past the deadline."""
    pending = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired("worker", 0)
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if pending.strip():
                raise WorkerFailed(f"worker broke the protocol: unterminated {pending[:80]!r}")
            return
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())


def _ack(fd: int) -> None:
    try:
        os.write(fd, ACK)
    except BrokenPipeError:
        pass  # the worker is gone; its exit status tells the rest


def _exit_error(exchange: _Exchange, exit_code: int) -> str | None:
    if exchange.worker_error:
        return exchange.worker_error
    if exit_code < 0:
        return f"worker killed by {signal.Signals(-exit_code).name}"
    if exit_code != 0:
        return f"worker exited with code {exit_code}"
    if not exchange.done:
        return "worker exited before reporting that it was done"
    return None


def _tail(path: Path) -> str:
    data = path.read_bytes()[-STDERR_TAIL_CHARS:]
    return data.decode("utf-8", errors="replace")


def now(timespec: str = "seconds") -> str:
    return datetime.now(UTC).isoformat(timespec=timespec)
