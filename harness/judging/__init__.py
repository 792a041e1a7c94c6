"""Judging: per-repeat metrics, statistics, comparisons, the gate and its calibration. Pure."""
