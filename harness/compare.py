"""Before/after deltas of two runs, and the caveats a reader must see beside them. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results import RunData


@dataclass(frozen=True)
class Delta:
    """One metric in both runs; lower is better for every metric here."""

    metric: str
    unit: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def relative(self) -> float | None:
        if self.change is None or not self.before:
            return None
        return self.change / self.before


@dataclass(frozen=True)
class Comparison:
    """Two runs side by side."""

    before: RunData
    after: RunData
    deltas: tuple[Delta, ...]
    warnings: tuple[str, ...]


def last_cycle(run: RunData) -> int:
    return int(run.samples["cycle"].iloc[-1])


def memory_deltas(before: RunData, after: RunData) -> list[Delta]:
    def last(run: RunData, column: str) -> float:
        return float(run.samples[column].iloc[-1])

    def growth(run: RunData) -> float:
        return last(run, "rss_mb") - float(run.samples["rss_mb"].iloc[0])

    return [
        Delta("RSS at last cycle", "MB", last(before, "rss_mb"), last(after, "rss_mb")),
        Delta("peak RSS (kernel)", "MB", before.meta.get("kernel_peak_rss_mb"),
              after.meta.get("kernel_peak_rss_mb")),
        Delta("RSS growth, first to last sample", "MB", growth(before), growth(after)),
        Delta("heap at last cycle", "MB", last(before, "heap_mb"), last(after, "heap_mb")),
    ]


def time_deltas(before: RunData, after: RunData) -> list[Delta]:
    def mean(run: RunData) -> float | None:
        cycles = len(run.cycles)
        return float(run.samples["elapsed_ms"].iloc[-1]) / cycles if cycles else None

    def median(run: RunData) -> float | None:
        return float(run.cycles["cycle_ms"].median()) if len(run.cycles) else None

    return [Delta("mean time per cycle", "ms", mean(before), mean(after)),
            Delta("median time per cycle", "ms", median(before), median(after))]


def compare_runs(before: RunData, after: RunData) -> Comparison:
    warnings = _caveats(before, after)
    deltas = memory_deltas(before, after)
    if _heap_measure(before) == _heap_measure(after):
        deltas += time_deltas(before, after)
    return Comparison(before, after, tuple(deltas), tuple(warnings))


def _heap_measure(run: RunData) -> str | None:
    return run.meta.get("worker", {}).get("heap_measure")


def _caveats(before: RunData, after: RunData) -> list[str]:
    warnings = []
    for run in (before, after):
        if not run.complete:
            warnings.append(f"{run.name} is incomplete ({run.meta.get('status')}: "
                            f"{run.meta.get('error')}); its figures stop early")
    if _heap_measure(before) != _heap_measure(after):
        warnings.append(f"heap measured differently ({_heap_measure(before)} vs "
                        f"{_heap_measure(after)}): heap is not comparable and times are left "
                        "out, since tracing slows a run several times")
    if before.meta.get("store", {}).get("sha256") != after.meta.get("store", {}).get("sha256"):
        warnings.append("the two runs measured different store files (SHA-256 differs)")
    if last_cycle(before) != last_cycle(after):
        warnings.append(f"the runs end at different cycles ({last_cycle(before)} vs "
                        f"{last_cycle(after)})")
    return warnings
