"""What `harness calibrate` prints: one progress line per trial, and a table per kind."""

from __future__ import annotations

from session_store_harness.judging.calibrate import FIXED_REPEATS, KindSummary, Trial
from session_store_harness.judging.catalog import BY_NAME
from session_store_harness.measuring.calibration import BASELINE, CalibrationResult
from session_store_harness.writers.table import text_table

HEADERS = ("kind", "counts as", "gate fails (95% CI)", "inconcl.", "repeats/side",
           "s/verdict", f"fixed-{FIXED_REPEATS} fails", "inconcl.", "s (est.)")


def trial_line(result: CalibrationResult, trial: Trial) -> str:
    fixed = "" if trial.fixed is None else f"; first {FIXED_REPEATS} a side: {trial.fixed}"
    return (f"[calibrate] trial {trial.number}/{result.config.trials} {trial.kind}: "
            f"{trial.verdict.outcome} ({trial.repeats} a side, {trial.wall_s:.1f} s){fixed}")


def calibration_lines(result: CalibrationResult) -> list[str]:
    """The summary: settings, one row per kind, then the median MDC of each gated metric."""
    config = result.config
    repeats = (f"{config.repeat} repeats a side" if config.max_repeat is None
               else f"{config.repeat}-{config.max_repeat} repeats a side (adaptive)")
    baseline = ("" if result.baseline_rss_mb is None
                else f"; baseline steady RSS {result.baseline_rss_mb:.2f} MB")
    lines = [f"calibration: {result.trials_done} of {config.trials} trials, {repeats}, "
             f"interleaved ABBA, layouts drawn from seed {result.layout_seed}; gate threshold "
             f"{config.limits.max_regression:.2%} on {', '.join(config.limits.metrics)}; "
             f"noise {_noise(result)}{baseline}"]
    summaries = result.summaries()
    lines.append(text_table(HEADERS, [_row(result, s) for s in summaries]))
    lines.append("by metric (median MDC, as % of the baseline; checks failed, inconclusive):")
    lines += [_metric_line(s) for s in summaries]
    lines += _notes(result)
    return lines


def _noise(result: CalibrationResult) -> str:
    noise = result.config.noise
    if noise.kind == "none":
        return "none"
    memory = f", {noise.block_mb} MiB blocks" if "memory" in noise.burner_kinds else ""
    return f"{noise.kind}, {noise.workers} burner(s) of each kind{memory}"


def _row(result: CalibrationResult, summary: KindSummary) -> tuple:
    kind = result.kind(summary.kind)
    pad = result.pads.get(kind.name)
    name = summary.kind + ("" if pad is None or kind.pad_kb else f" ({pad} KB)")
    fixed = summary.fixed
    return (name, "detection" if kind.planted else "false fail", summary.fails.describe(),
            summary.inconclusive,
            f"{summary.repeats_median:g} (max {summary.repeats_max})",
            summary.wall_s_median, None if fixed is None else fixed.describe(),
            None if fixed is None else summary.fixed_inconclusive,
            summary.fixed_wall_s_median)


def _metric_line(summary: KindSummary) -> str:
    parts = []
    for name, m in summary.metrics.items():
        mdc = ("MDC n/a" if m.mdc is None else f"MDC {m.mdc:.3f} {BY_NAME[name].unit} "
               f"({m.mdc_relative:.2%})")
        held = ("" if m.covers_zero is None or m.interval_level is None else
                f", {m.interval_level:.2%} interval held 0 in {m.covers_zero.hits}/"
                f"{m.covers_zero.trials}")
        parts.append(f"{name} {mdc}, {m.fails} fail, {m.inconclusive} inconcl.{held}")
    return f"  {summary.kind}: " + "; ".join(parts)


def _notes(result: CalibrationResult) -> list[str]:
    notes = [f"fixed-{FIXED_REPEATS}: the same trials judged on their first {FIXED_REPEATS} "
             f"repeats a side; its s/verdict is estimated from those workers' own times"]
    if result.allowed:
        notes.append("named to the gate as intended differences (--allow-different): "
                     + ", ".join(result.allowed))
    elif any(kind.after_store != BASELINE for kind in result.config.trial_kinds()):
        notes.append("aa-layout and plants compare other stores and environments: the gate "
                     "judges them without --allow-different (neither is a setup aspect it "
                     "refuses)")
    return notes
