"""`conform_store(config)`: every rule on the store under test, in a scratch folder; the records.

The store is first loaded by one driver (a spec that names no loadable store is a usage error,
exit 2, before any rule runs); then each rule of `rules.RULES` runs in turn on stores of its
own, and a step the store could not do fails that rule only.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.conformance.drivers import BadStore, StepFailed
from session_store_harness.conformance.rules import FAIL, RULES, Rule, Verdict
from session_store_harness.conformance.subject import Subject
from session_store_harness.errors import EXIT_USAGE, HarnessError
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.processes import node_binary
from session_store_harness.measuring.targets import StoreTarget
from session_store_harness.model.config import check_range

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ConformConfig:
    """One `harness conform`: the store, the store file to start from, and the load."""

    target: StoreTarget
    store: GenerateSpec
    writers: int = 4
    updates: int = 50  # per writer, in each mode
    crash_trials: int = 40  # split between the two modes
    seed: int = 1  # of the kill delays (the store file's seed is in `store`)
    step_timeout_s: float = 60.0  # a store that takes longer for one operation hangs

    def __post_init__(self) -> None:
        check_range("--writers", self.writers, 1, 64)
        check_range("--updates", self.updates, 1, 100_000)
        check_range("--crash-trials", self.crash_trials, 0, 100_000)
        if self.target.node_args and self.target.runtime != "node":
            raise HarnessError("--node-arg is for --runtime node")


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on the store, with its evidence."""

    rule: str
    description: str
    status: str  # pass, fail, warn or skip
    evidence: tuple[str, ...]
    elapsed_ms: float


@dataclass(frozen=True)
class ConformReport:
    """What `harness conform` found: each rule's result, and what was checked."""

    config: ConformConfig
    argv: tuple[str, ...]
    driver: dict[str, Any]  # the driver's hello: runtime, and whether the store has save
    results: tuple[RuleResult, ...]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == FAIL]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def conform_store(config: ConformConfig, argv: tuple[str, ...] = (),
                  rules: tuple[Rule, ...] = RULES) -> ConformReport:
    """Check `rules` (all of them unless told) on the store `config.target` names."""
    if config.target.runtime == "node":
        node_binary()  # refuse before any work when Node.js is missing
    with tempfile.TemporaryDirectory(prefix="harness-conform-") as scratch:
        subject = Subject(config.target, config.store, Path(scratch),
                          writers=config.writers, updates=config.updates,
                          crash_trials=config.crash_trials, seed=config.seed,
                          step_timeout_s=config.step_timeout_s)
        hello = _loads(subject)
        results = tuple(_judge(rule, subject) for rule in rules)
    return ConformReport(config, argv, hello, results)


def _loads(subject: Subject) -> dict[str, Any]:
    """The driver's hello on a first store, or a usage error naming the spec."""
    path = subject.fresh_store("first-load")
    try:
        with subject.driver(path) as driver:
            return driver.hello
    except BadStore as exc:
        raise HarnessError(f"--store {subject.target.spec} ({subject.target.runtime}): {exc}; "
                           "nothing was checked", EXIT_USAGE) from None


def _judge(rule: Rule, subject: Subject) -> RuleResult:
    started = time.monotonic()
    try:
        verdict = rule.check(subject)
    except (StepFailed, BadStore) as exc:
        verdict = Verdict(FAIL, (str(exc),))
    # the scratch folder is gone when the report is read: name files by the rule's folder
    evidence = tuple(line.replace(f"{subject.scratch}{os.sep}", "") for line in verdict.evidence)
    return RuleResult(rule.id, rule.description, verdict.status, evidence,
                      round((time.monotonic() - started) * 1000, 1))
