"""The ``metering-fsspec`` command line."""

from __future__ import annotations

import sys

import click

from .errors import MeteringError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metering-fsspec")
def cli() -> None:
    """Write, read and explore usage-metering data on any fsspec storage."""


@cli.command()
@click.argument("storage", default="localfs://./metering-data")
@click.option(
    "--timestamp", type=int, default=None, help="Minute to write (default: now)."
)
def demo(storage: str, timestamp: int | None) -> None:
    """Write a minute of realistic metering and meta data to STORAGE (default
    ./metering-data), read it back and print a summary."""
    from .demo import run_demo

    click.echo(run_demo(storage, timestamp).render())


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="metering-fsspec", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except MeteringError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
