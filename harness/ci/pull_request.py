"""`harness ci`'s work: a pull request's merge base and head, measured interleaved on this
machine, compared, gated, and written up as one comment.

Each side's store is resolved in its own commit's checkout (a configured name through that
commit's harness.toml, a path from the folder the command ran in), so the code measured is
exactly each commit's. The workload (store shape, cycles, repeats) and the `[gate]` table are
the merge base's for both sides: a pull request must not choose how it is measured or judged
(the comment says when it tried).
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_store_harness.ci.checkout import (
    Commits,
    checkouts,
    prepare,
    repository_root,
    resolve_commits,
)
from session_store_harness.errors import HarnessError
from session_store_harness.judging.compare import Comparison, compare_runs
from session_store_harness.judging.gate import NO_CHECKS, GateLimits, GateResult, evaluate
from session_store_harness.measuring.ab import AbPlan, measure_ab, require_complete
from session_store_harness.model.config import RunConfig, run_config
from session_store_harness.model.run import Run
from session_store_harness.settings.gate_config import gate_limits, load_gate_table
from session_store_harness.settings.project_config import load_project
from session_store_harness.settings.run_values import WORKLOAD_KEYS, named_or_spec
from session_store_harness.writers.comparison_files import write_comparison_folder
from session_store_harness.writers.folder import optional_result_folder, write_text
from session_store_harness.writers.gate_output import gate_json, gate_text

SIDES = {"before": "base", "after": "head"}  # ab's side -> the commit it measures
AB, COMPARE, CI_FILE = "ab", "compare", "ci.json"


@dataclass(frozen=True)
class CiPlan:
    """What `harness ci` was asked: two refs of `repo`, one store, the gate's limits."""

    repo: Path
    base_ref: str
    head_ref: str
    store: str  # a configured name or a store spec, resolved in each side's checkout
    output: Path
    config: str | None = None  # --config, a path inside each checkout
    values: dict[str, Any] = field(default_factory=dict)  # run options, as `harness ab` has
    given: Set[str] = frozenset()  # the options the user typed (they beat the config file)
    base_store: str | None = None  # the base side's, when it is named differently
    prepare: tuple[str, ...] = ()  # argv run in each checkout before measuring (`npm ci`)
    order: str = "abba"
    layout_seed: int | None = None
    max_repeat: int | None = None
    gate: dict[str, Any] = field(default_factory=dict)  # the command line's limits


@dataclass(frozen=True)
class CiResult:
    """Everything the comment, the summary and the exit code are made from."""

    commits: Commits
    runs: tuple[Run, Run]
    comparison: Comparison
    gate: GateResult
    folder: Path
    notes: tuple[str, ...] = ()  # what the comment must say besides the gate's verdict

    @property
    def exit_code(self) -> int:
        return self.gate.exit_code


def run_ci(plan: CiPlan, argv: tuple[str, ...] = ()) -> CiResult:
    """Measure, compare and gate; every file lands in `plan.output` (a new folder)."""
    repo = repository_root(plan.repo)
    commits = resolve_commits(repo, plan.base_ref, plan.head_ref)
    where = _relative_folder(plan.repo, repo)
    with optional_result_folder(plan.output) as folder:
        assert folder is not None
        runs, limits, notes = _measured(plan, repo, where, commits, folder, argv)
        require_complete(runs)
        comparison = compare_runs(*runs)
        write_comparison_folder(comparison, folder / COMPARE)
        result = CiResult(commits, runs, comparison, evaluate(runs[1], limits, runs[0]),
                          folder, notes)
        write_text(folder / "gate.txt", gate_text(result.gate))
        write_text(folder / "gate.json", gate_json(result.gate))
        write_text(folder / CI_FILE, ci_json(result))
    return result


def _relative_folder(start: Path, root: Path) -> Path:
    """Where in the repository the command was started: each checkout is entered there, as
    the job's `working-directory` is."""
    return start.resolve().relative_to(root.resolve())


def _measured(plan: CiPlan, repo: Path, where: Path, commits: Commits, folder: Path,
              argv: tuple[str, ...]) -> tuple[tuple[Run, Run], GateLimits, tuple[str, ...]]:
    """Both sides measured interleaved, each from its own commit's checkout. The merge base,
    not the pull request, says how to measure and judge: a head that changes the workload or
    the `[gate]` table is measured and judged by the base's, and the comment says so."""
    with checkouts(repo, {"base": commits.base, "head": commits.head}) as trees:
        base, head = trees["base"] / where, trees["head"] / where
        limits, notes = _limits(plan, base, head)
        if plan.prepare:
            for side, tree in (("base", base), ("head", head)):
                prepare(tree, plan.prepare, side)
        before, workload = _side_config(plan, base, plan.base_store or plan.store, None)
        after, own = _side_config(plan, head, plan.store, workload)
        changed = sorted(k for k in set(workload) | set(own) if workload.get(k) != own.get(k))
        if changed:
            notes += (f"the head changes the workload ({', '.join(changed)}): both sides were "
                      "measured with the merge base's",)
        ab_plan = AbPlan(before=before, after=after, order=plan.order,
                         layout_seed=plan.layout_seed, max_repeat=plan.max_repeat,
                         limits=limits if plan.max_repeat is not None else None)
        return measure_ab(ab_plan, folder / AB, argv), limits, notes


def _side_config(plan: CiPlan, tree: Path, store: str, workload: dict[str, Any] | None
                 ) -> tuple[RunConfig, dict[str, Any]]:
    """One side's run config from its own checkout, and the workload its own configuration
    asks for; `workload` (the base's), when given, is the one the config measures."""
    values = {**plan.values, "store_cwd": tree}
    project = load_project(_config_path(plan, tree), cwd=tree)
    merged = named_or_spec(project, values, set(plan.given), store)
    own = {k: merged[k] for k in WORKLOAD_KEYS if k in merged}
    return run_config(**{**merged, **(workload or {})}), own


def _config_path(plan: CiPlan, tree: Path) -> Path | None:
    return None if plan.config is None else tree / plan.config


def _limits(plan: CiPlan, base: Path, head: Path) -> tuple[GateLimits, tuple[str, ...]]:
    """The merge base's `[gate]` table under the command line's limits, refused before
    anything is measured when it gates nothing; a note when the head's table differs (a pull
    request must not loosen the gate that judges it)."""
    tables = [load_gate_table(_config_path(plan, tree), cwd=tree) for tree in (base, head)]
    limits = gate_limits(tables[0], **plan.gate)
    if (limits.max_peak_rss_mb, limits.max_growth_mb_per_cycle,
            limits.max_regression) == (None, None, None):
        raise HarnessError(NO_CHECKS)
    notes = (("the head changes the [gate] table; the merge base's judged it",)
             if tables[0] != tables[1] else ())
    return limits, notes


def ci_json(result: CiResult) -> str:
    commits = result.commits
    return json.dumps({
        "base_ref": commits.base_ref, "head_ref": commits.head_ref,
        "merge_base": commits.base, "head": commits.head,
        "outcome": result.gate.outcome, "exit_code": result.exit_code,
        "folders": {"ab": AB, "compare": COMPARE},
        "repeats": {side: len(run.measured) for side, run in zip(SIDES, result.runs,
                                                                  strict=True)},
    }, indent=2) + "\n"
