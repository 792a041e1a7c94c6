"""`harness ab`: measure two stores interleaved, repeat by repeat, over one shared store.

Only parses options: the measuring is `measuring/ab.py`'s.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from session_store_harness.commands.options import (
    config_option,
    given_options,
    layout_options,
    measurement_options,
    store_shape_options,
    worker_options,
)
from session_store_harness.errors import HarnessError
from session_store_harness.judging.catalog import DEFAULT_REGRESSION_METRICS
from session_store_harness.measuring.ab import (
    ORDERS,
    AbPlan,
    measure_ab,
    require_complete,
    store_spec_of,
)
from session_store_harness.measuring.measure import (
    new_folder,
    resolve_layout_seed,
    resolve_order_seed,
)
from session_store_harness.model.config import RunConfig, run_config
from session_store_harness.model.run import Run
from session_store_harness.writers.console import run_report

if TYPE_CHECKING:
    from session_store_harness.settings.project_config import ProjectConfig

EPILOG = ("\b\nExit codes:\n"
          "0: both runs completed\n"
          "1: a repeat failed (partial results kept); or a run could only be saved under TMPDIR\n"
          "2: bad options or store; result or scratch folder (TMPDIR) not writable\n"
          "130: interrupted by Ctrl-C, SIGTERM or SIGHUP; partial results kept")


REUSE_SUFFIX = "+reuse"


def parse_side(side: str) -> dict[str, Any]:
    """`SPEC[+reuse]` as run_config's store and reuse_loaded_store: SPEC is any --store."""
    reuse = side.endswith(REUSE_SUFFIX)
    store = side.removesuffix(REUSE_SUFFIX) if reuse else side
    if not store:
        raise HarnessError(f"store {side!r} is not SPEC[+reuse] (SPEC: any --store)")
    return {"store": store, "reuse_loaded_store": reuse}


@click.command(epilog=EPILOG)
@click.argument("before_spec", metavar="BEFORE")
@click.argument("after_spec", metavar="AFTER")
@config_option
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to create (must not exist): before/, after/ and ab.json.")
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Measure copies of this existing sessions.json instead of generating one.")
@store_shape_options
@worker_options
@measurement_options
@click.option("--order", type=click.Choice(ORDERS), default="abba", show_default=True,
              help="Repeat order: ABBA ABBA..., or a seeded random order.")
@click.option("--order-seed", type=int,
              help="Seed of --order random (default: random, recorded in ab.json).")
@layout_options
@click.option("--max-repeat", type=int,
              help="Sequential: from --repeat a side, add ABBA blocks until the gate's verdict "
              "on every metric is clear (or this many a side); needs --max-regression.")
@click.option("--max-regression",
              help="The gate's threshold the sequential run stops on, e.g. 5%.")
@click.option("--metrics", default=",".join(DEFAULT_REGRESSION_METRICS), show_default=True,
              help="The gated metrics the sequential run stops on.")
def ab(before_spec: str, after_spec: str, config_file: Path | None, output: Path, order: str,
       order_seed: int | None, layout_seed: int | None, fixed_layout: bool, max_repeat: int | None,
       max_regression: str | None, metrics: str, **values: Any) -> None:
    """Measure BEFORE and AFTER (each SPEC[+reuse], SPEC a store named in the configuration
    or any --store) with interleaved repeats over one store; with --worker-cmd, both are
    --store names for that program."""
    from session_store_harness.settings.gate_config import gate_limits
    from session_store_harness.settings.project_config import load_project

    project = load_project(config_file)
    given = given_options()

    limits = (None if max_regression is None
              else gate_limits({}, max_regression=max_regression, metrics=metrics))
    plan = AbPlan(before=_config(before_spec, project, values, given),
                  after=_config(after_spec, project, values, given),
                  order=order, order_seed=resolve_order_seed(order, order_seed),
                  layout_seed=None if fixed_layout else resolve_layout_seed(layout_seed),
                  limits=limits, max_repeat=max_repeat)
    runs = measure_ab(plan, new_folder(output), tuple(sys.argv))
    with contextlib.suppress(OSError):  # the folders are what counts, and they are written
        click.echo(_report(plan, runs, output))
    require_complete(runs)


def _config(spec: str, project: ProjectConfig, values: dict[str, Any],
            given: set[str]) -> RunConfig:
    from session_store_harness.settings.run_values import named_or_spec

    side = parse_side(spec)
    merged = named_or_spec(project, values, given, side["store"])
    if side["reuse_loaded_store"]:  # `+reuse` on the command line adds to the file's setting
        merged["reuse_loaded_store"] = True
    return run_config(**merged)


def _report(plan: AbPlan, runs: tuple[Run, Run], output: Path) -> str:
    reports = [run_report(run, str(run.folder)) for run in runs]
    ran = runs[0].interleaved_order
    sequence = "".join("A" if side == "before" else "B" for side in ran)
    lines = [*reports, f"interleaved {store_spec_of(plan.before)} (A) and "
             f"{store_spec_of(plan.after)} (B): {sequence} ({output / 'ab.json'})"]
    if plan.max_repeat is not None:
        lines.append(_sequential_line(plan, runs))
    return "\n".join([*lines, f"judge with: harness compare {output / 'before'} "
                      f"{output / 'after'}"])


def _sequential_line(plan: AbPlan, runs: tuple[Run, Run]) -> str:
    done = len(runs[0].repeats)
    if not runs[0].complete or not runs[1].complete:
        return f"sequential: stopped early after {done} repeats a side (not complete)"
    clear = bool(runs[0].repeats) and done < plan.most
    why = ("the gate's outcome was clear" if clear
           else f"at --max-repeat {plan.most}, whatever was clear by then")
    return (f"sequential: {done} repeats a side were needed ({why}; looks planned at "
            f"{', '.join(map(str, plan.looks))})")
