"""The significance level each test on a comparison is run at, so that a gate's overall risk of
failing a change that is not there stays at 5%.

Two things share that 5%: the gated metrics (a gate fails if any one of them fails, so three
metrics each tested at 5% would false-fail up to 15% of the time) and the looks of a sequential
run (`harness ab --max-repeat` judges after every block of repeats; stopping at the first look
that happens to cross 5% would false-fail far more often than 5%). Bonferroni splits the 5%
evenly over both: whatever the metrics' correlation and whenever the run stopped, the chance that
any test at any look fails falsely is at most the sum of their levels.
"""

from __future__ import annotations

from session_store_harness.judging.stats import ALPHA
from session_store_harness.model.run import Run


def planned_looks(*runs: Run) -> int:
    """The looks the runs' design planned: 1 for runs measured with a fixed number of repeats."""
    return max((run.planned_looks for run in runs), default=1)


def level_for(metrics: int = 1, looks: int = 1, alpha: float = ALPHA) -> float:
    """Each test's level when `metrics` metrics are judged at each of `looks` looks."""
    return alpha / (max(1, metrics) * max(1, looks))


def describe_level(metrics: int, looks: int, alpha: float = ALPHA) -> str:
    level = level_for(metrics, looks, alpha)
    if metrics <= 1 and looks <= 1:
        return f"each test at p < {level:g}"
    shares = " x ".join(part for part in (
        f"{metrics} metrics" if metrics > 1 else "", f"{looks} planned looks" if looks > 1 else "")
        if part)
    return (f"each test at p < {level:.4g}: the {alpha:g} risk of a false fail split over "
            f"{shares} (Bonferroni)")
