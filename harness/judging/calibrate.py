"""How often the gate fails a change that is not there, and catches one that is. Pure judge.

A/A: the same variant as baseline and candidate; any gate failure is a false fail.
Known regression: `padded`, the fixed store plus a block sized to a chosen share of the
baseline's RSS; a gate failure is a detection. Rates come with Clopper-Pearson 95% intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Rate:
    """`hits` out of `trials`, with an exact binomial 95% interval."""

    hits: int
    trials: int

    @property
    def value(self) -> float:
        return self.hits / self.trials if self.trials else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        interval = stats.binomtest(self.hits, self.trials).proportion_ci(0.95, "exact")
        return float(interval.low), float(interval.high)

    def describe(self) -> str:
        low, high = self.ci95
        return f"{self.hits}/{self.trials} = {self.value:.0%} (95% CI {low:.0%}-{high:.0%})"


def pad_kb_for(baseline_rss_mb: float, regression: float) -> int:
    """The block that makes a run `regression` (a fraction) larger than the baseline's RSS."""
    return max(1, round(baseline_rss_mb * regression * 1024))
