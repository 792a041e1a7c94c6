"""The gate's GitHub annotations and its refusal as JSON: worded by outcome, one line each."""

from __future__ import annotations

import json

import pytest

from session_store_harness.errors import EXIT_USAGE
from session_store_harness.judging.gate import Check, GateLimits, GateResult, evaluate
from session_store_harness.writers.gate_output import (
    gate_error_json,
    gate_json,
    gate_text,
    github_annotations,
)
from tests.fakes import fake_run

OVER = Check("limit.peak_rss_mb", "peak RSS (median of 5)", 120.0, 100.0, "MB", "fail")
UNSURE = Check("regression.rss_last_mb", "RSS at last cycle regression", 20.0, 10.0, "%",
               "inconclusive", "50.000 -> 60.000 MB, +20.0%, p=0.333, worse (over the "
               "threshold but not significant: rerun with more repeats)")
UNDER = Check("limit.growth_mb_per_cycle", "RSS growth per cycle (median of 5)", 0.01, 1.0,
              "MB/cycle", "pass")


def test_a_failed_check_is_an_error_over_the_limit() -> None:
    assert github_annotations(GateResult((OVER, UNDER))) == (
        "::error title=memory gate::peak RSS (median of 5): 120.0 MB over the limit 100.0 MB")


def test_an_inconclusive_check_is_a_warning_that_it_could_not_be_judged() -> None:
    # it is over the threshold but not significantly: "over limit" would claim a failure
    line = github_annotations(GateResult((UNSURE,)))
    assert line.startswith("::warning title=memory gate::RSS at last cycle regression: "
                           "+20.0%25 (limit +10.0%25) could not be judged: 50.000 -> 60.000 MB")
    assert "over" not in line.partition("could not be judged")[0]
    assert line.endswith("rerun with more repeats)")


def test_annotations_are_one_line_each_and_escaped_for_github() -> None:
    odd = Check("limit.peak_rss_mb", "peak RSS", 120.0, 100.0, "MB", "fail", "line one\r\nand two")
    lines = github_annotations(GateResult((odd, UNSURE, UNDER))).split("\n")
    assert [line[:10] for line in lines] == ["::error ti", "::warning "]
    assert lines[0].endswith("(line one%0D%0Aand two)")


def test_a_passing_gate_has_no_annotations() -> None:
    assert github_annotations(GateResult((UNDER,))) == ""


def test_a_refusal_is_one_json_document() -> None:
    text = gate_error_json("runs are not comparable: the runtime differs", EXIT_USAGE)
    assert json.loads(text) == {"outcome": "error", "exit_code": 2,
                                "error": "runs are not comparable: the runtime differs"}
    assert text.endswith("}\n")


def test_regression_checks_carry_the_mdc_in_json_and_text() -> None:
    # GIVEN 4 noisy repeats a side gated at 5% on steady RSS
    base = fake_run("base", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    same = fake_run("same", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    result = evaluate(same, GateLimits(max_regression=0.05, metrics=("rss_steady_mb",)), base)
    check = json.loads(gate_json(result))["checks"][0]
    # THEN the JSON has the MDC in the metric's unit, rounded as the other figures are
    assert check["id"] == "regression.rss_steady_mb" and check["metric_unit"] == "MB"
    assert check["mdc"] == round(result.checks[0].comparison.difference.mdc, 3)
    assert check["mdc"] == pytest.approx(1.42 * 13.08, abs=0.02)
    # AND the text line says the run was blind to a +5% change
    line = next(line for line in gate_text(result).splitlines() if "regression:" in line)
    assert f"MDC {check['mdc']:.3f} MB (the run could not detect a +5% change" in line
    assert line.endswith("add repeats)")


def test_too_few_repeats_give_a_null_mdc() -> None:
    one = fake_run("one", [20.0, 21.0], 10, 22)
    result = evaluate(one, GateLimits(max_regression=0.05, metrics=("rss_steady_mb",)), one)
    assert json.loads(gate_json(result))["checks"][0]["mdc"] is None
