"""What each RSS and heap figure measures, in the words the reports and the console put beside
it: the kernel's peak or the harness's readings, the resting heap or the traced peak."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from session_store_harness.model.run import PEAK_LIFETIME, PEAK_METHODS, PEAK_PER_INTERVAL, Run

HEAP_MEASURES = {"allocator": "pymalloc + glibc bytes in use", "tracemalloc": "traced bytes",
                 "v8": "V8 heapUsed"}
PEAK_MEANINGS = {
    PEAK_PER_INTERVAL: "the kernel's high-water mark of each interval between samples (reset "
                       "at each), or a higher reading; start-up and warm-up left out",
    PEAK_LIFETIME: "the kernel's high-water mark over the worker's life, or a higher reading; "
                   "start-up and warm-up included",
}
Roles = Sequence[tuple[str, Run]]


def peak_phrase(method: str) -> str:
    """The short phrase shown beside a peak RSS: how it was taken (" / " between methods when
    a run's repeats differ)."""
    return " / ".join(PEAK_METHODS.get(m, m) for m in method.split(" / "))


def peak_label(label: str, runs: Roles) -> str:
    """A peak RSS metric's label with how each run took it: `peak RSS (kernel per interval,
    warm-up excluded)`."""
    return f"{label} ({_each(runs, lambda run: peak_phrase(run.peak_method))})"


def has_heap_peaks(run: Run) -> bool:
    return any(s.heap_peak_bytes is not None for r in run.repeats for s in r.samples)


def measures_note(runs: Roles) -> str:
    """One line under a samples table: which measure each of its RSS and heap columns is."""
    heap = _each(runs, lambda run: HEAP_MEASURES.get(str(run.heap_measure),
                                                      str(run.heap_measure)))
    peak = _each(runs, lambda run: " / ".join(
        PEAK_MEANINGS.get(m, m) for m in run.peak_method.split(" / ")))
    parts = ["`rss_mb` is RSS read at the sample, the worker paused",
             f"`heap_mb` the resting heap at the sample ({heap})"]
    if any(has_heap_peaks(run) for _, run in runs):
        parts.append("`heap_peak_mb` the traced heap's peak within the cycles since the "
                     "previous sample")
    parts.append(f"peak RSS is {peak}")
    return "Measures: " + "; ".join(parts) + "."


def _each(runs: Roles, describe: Callable[[Run], str]) -> str:
    """One description when every run has the same, else each run's by its role."""
    texts = {role: describe(run) for role, run in runs}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"{role}: {text}" for role, text in texts.items())
