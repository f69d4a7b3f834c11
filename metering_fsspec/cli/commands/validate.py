"""The ``validate`` command; the checks themselves are in
:mod:`metering_fsspec.cli.validate`.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click

from ..arguments import resolve, storage_options, time_range
from ..format import TIMESTAMP, echo_json, progress
from ..state import STATE

__all__ = ["validate_command"]


@click.command(name="validate")
@storage_options
@click.option("--from", "start", type=TIMESTAMP, help="First minute (inclusive).")
@click.option("--to", "end", type=TIMESTAMP, help="End of the range (exclusive).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def validate_command(
    uri: str | None,
    config_file: str | None,
    start: int | None,
    end: int | None,
    as_json: bool,
) -> None:
    """Check stored files against the layout and schema.

    Every file under metering/ is checked, or with --from/--to the minutes in
    that range and the meta files whose modify_ts is in it. Prints one line
    per problem, naming the path; exit code 1 when there are any.
    """
    from ..validate import validate

    target, _ = resolve(uri, config_file, [], [], 0)
    start, end = time_range(None, start, end)
    bar: list[Any] = []

    with contextlib.ExitStack() as stack:

        def on_total(total: int) -> None:
            bar.append(stack.enter_context(progress(total, "validating")))

        def on_progress(count: int) -> None:
            if bar:
                bar[0](count)

        report = validate(
            target.filesystem(),
            start,
            end,
            on_total=on_total,
            on_progress=on_progress,
        )
    if as_json:
        echo_json(
            {
                "storage": target.shown,
                "checked": report.checked,
                "problems": [
                    {"path": p.path, "message": p.message} for p in report.problems
                ],
            }
        )
    else:
        click.echo(f"storage: {target.shown}")
        for problem in report.problems:
            click.echo(STATE.scrub(f"{problem.path}: {problem.message}"))
        paths = len({p.path for p in report.problems})
        click.echo(
            f"checked {report.checked} file(s): "
            + (
                f"{len(report.problems)} problem(s) in {paths} path(s)"
                if report.problems
                else "no problems"
            )
        )
    if report.problems:
        raise click.exceptions.Exit(1)
