"""The ``metering-fsspec`` command line.

Exit codes: 0 success, 1 data problems (invalid, missing or unreadable data,
a refused overwrite), 2 usage errors. Errors print as one line on stderr;
``--debug`` shows the traceback and debug logs.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import click
import msgspec

from . import codec, layout
from .cli_format import (
    TIMESTAMP,
    SecretScrubber,
    describe_storage,
    echo_json,
    format_ts,
    progress,
)
from .config import LOGGER_NAME, Config, MeteringConfig
from .errors import MeteringError, ValidationError

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    """Process-wide settings of one invocation, read by :func:`main`."""

    def __init__(self) -> None:
        self.debug = False
        self.scrub = SecretScrubber()


_STATE = _State()


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value and not _STATE.debug:
        _STATE.debug = True
        logging.getLogger(LOGGER_NAME).setLevel(logging.DEBUG)
    return value


class _ScrubbingFormatter(logging.Formatter):
    """``warning: message`` lines; log records from storage SDKs pass the
    secret scrubber too."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if _STATE.debug:
            text = f"{text} [{record.name}]"
        if record.exc_info and _STATE.debug:
            text += "\n" + self.formatException(record.exc_info)
        return _STATE.scrub(text)


def _setup_logging() -> None:
    """Warnings (and with --debug, this library's debug logs) on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(_ScrubbingFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


_debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show tracebacks and debug logs.",
)


# -- storage arguments ----------------------------------------------------------


def storage_options(func: F) -> F:
    """The ``URI`` argument, ``--config FILE`` and ``--debug`` of every command."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(exists=True, dir_okay=False),
        help="Storage config file (.yaml, .yml, .json, .toml) instead of URI.",
    )(func)
    func = _debug_option(func)
    return click.argument("uri", metavar="URI", required=False)(func)


class Target:
    """The resolved storage of a command: what to open and what to print."""

    def __init__(self, storage: str | MeteringConfig) -> None:
        self.storage = storage
        self.shown = describe_storage(storage)
        self.shared_pool_id = (
            storage.shared_pool_id
            if isinstance(storage, MeteringConfig)
            else _uri_pool(storage)
        )
        from .storage import open_storage

        # Opening connects to nothing yet; it only checks the URI or config.
        self.fs = open_storage(storage)

    def filesystem(self) -> Any:
        return self.fs


def _uri_pool(uri: str) -> str:
    try:
        return MeteringConfig.from_uri(uri).shared_pool_id
    except ValueError:
        return ""  # an fsspec URL: no Go-style parameters


def resolve(
    uri: str | None,
    config_file: str | None,
    rest: list[str | None],
    names: list[str],
    required: int,
) -> tuple[Target, list[str | None]]:
    """The storage and the remaining positional arguments.

    With ``--config`` there is no URI, so the positional values shift left:
    ``cat --config c.yaml PATH`` puts PATH where the URI would be.
    """
    if config_file is not None:
        values = [uri, *rest]
        if values and values[-1] is not None:
            raise click.UsageError("give either URI or --config FILE, not both")
        rest = values[:-1] if values else []
        try:
            config = MeteringConfig.load(config_file)
        except (ValueError, OSError) as exc:
            raise click.BadParameter(str(exc), param_hint="'--config'") from None
        _STATE.scrub.add_config(config)
        storage: str | MeteringConfig = config
    else:
        if uri is None:
            raise click.UsageError("missing argument 'URI' (or give --config FILE)")
        _STATE.scrub.add_uri(uri)
        storage = uri
    for index in range(required):
        if rest[index] is None:
            raise click.UsageError(f"missing argument '{names[index]}'")
    try:
        target = Target(storage)
    except (ValueError, ImportError, NotImplementedError) as exc:
        hint = "'--config'" if config_file is not None else "'URI'"
        raise click.BadParameter(_message(exc), param_hint=hint) from None
    return target, rest


@contextlib.contextmanager
def _reported_warnings() -> Iterator[None]:
    """Print warnings as one ``warning:`` line each.

    Files skipped by the readers are already reported through logging, so
    their :class:`MeteringWarning` is not printed a second time.
    """
    from .reader import MeteringWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for warning in caught:
        message = str(warning.message)
        if issubclass(warning.category, MeteringWarning) or message in seen:
            continue
        seen.add(message)
        click.echo(_STATE.scrub(f"warning: {message}"), err=True)


def _range(
    at: int | None, start: int | None, end: int | None
) -> tuple[int | None, int | None]:
    if at is not None:
        if start is not None or end is not None:
            raise click.UsageError("--at cannot be combined with --from/--to")
        return at, at + 1
    if start is not None and end is not None and end <= start:
        raise click.UsageError(f"--to ({end}) must be after --from ({start})")
    return start, end


# -- commands -------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metering-fsspec")
@_debug_option
def cli() -> None:
    """Write, read and explore usage-metering data on any fsspec storage.

    URI is a storage URI as the Go metering SDK takes it (s3://bucket/prefix?
    region-id=..., localfs:///path, azure://..., oss://...) or any fsspec URL.
    Credentials in it are never printed.
    """


@cli.command()
@click.argument("storage", default="localfs://./metering-data")
@click.option(
    "--timestamp", type=int, default=None, help="Minute to write (default: now)."
)
def demo(storage: str, timestamp: int | None) -> None:
    """Write a minute of realistic metering and meta data to STORAGE (default
    ./metering-data), read it back and print a summary."""
    from .demo import run_demo

    _STATE.scrub.add_uri(storage)
    click.echo(run_demo(storage, timestamp).render())


@cli.command(name="ls")
@storage_options
@click.option("--at", type=TIMESTAMP, help="One minute.")
@click.option("--from", "start", type=TIMESTAMP, help="First minute (inclusive).")
@click.option("--to", "end", type=TIMESTAMP, help="End of the range (exclusive).")
@click.option("--category", help="Only this category.")
@click.option("--pool", help="Only this shared pool id.")
@click.option("--long", "-l", "long_", is_flag=True, help="Add size and part.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_command(
    uri: str | None,
    config_file: str | None,
    at: int | None,
    start: int | None,
    end: int | None,
    category: str | None,
    pool: str | None,
    long_: bool,
    as_json: bool,
) -> None:
    """List minutes, categories and metering files.

    Without --at or --from/--to every minute is listed. Times are unix seconds
    or ISO-8601 (UTC unless a zone is given).
    """
    from .reader import MeteringReader

    target, _ = resolve(uri, config_file, [], [], 0)
    first, stop = _range(at, start, end)
    fs = target.filesystem()
    reader = MeteringReader(fs)
    with _reported_warnings():
        minutes = reader.timestamps(first or 0, stop)
        rows: list[dict[str, Any]] = []
        with progress(len(minutes), "listing") as advance:
            for minute in minutes:
                sizes = _sizes(fs, layout.timestamp_dir(minute)) if long_ else {}
                for info in reader.scan_files(
                    minute, minute + 1, category=category, shared_pool_id=pool
                ):
                    row: dict[str, Any] = {
                        "timestamp": info.timestamp,
                        "category": info.category,
                        "shared_pool_id": info.shared_pool_id,
                        "self_id": info.self_id,
                        "part": info.part,
                        "path": info.path,
                    }
                    if long_:
                        row["size"] = sizes.get(info.path)
                    rows.append(row)
                advance(1)
    if as_json:
        echo_json({"storage": target.shown, "files": rows})
        return
    click.echo(f"storage: {target.shown}")
    if not rows:
        click.echo("no metering files found")
        return
    counts = Counter((r["timestamp"], r["category"]) for r in rows)
    shown: tuple[int, str] | None = None
    for row in rows:
        key = (row["timestamp"], row["category"])
        if shown is None or key[0] != shown[0]:
            click.echo(f"{key[0]}  {format_ts(key[0])}")
        if key != shown:
            count = counts[key]
            click.echo(f"  {key[1]}  ({count} file{'s' * (count != 1)})")
            shown = key
        if long_:
            size = "?" if row["size"] is None else str(row["size"])
            click.echo(f"    {size:>10}  part {row['part']:<3} {row['path']}")
        else:
            click.echo(f"    {row['path']}")
    minutes_shown = len({r["timestamp"] for r in rows})
    click.echo(f"{len(rows)} file(s) in {minutes_shown} minute(s)")


def _sizes(fs: Any, folder: str) -> dict[str, int]:
    try:
        found = fs.find(folder, detail=True)
    except FileNotFoundError:
        return {}
    return {path: entry.get("size") for path, entry in found.items()}


@cli.command(name="cat")
@storage_options
@click.argument("path", metavar="PATH", required=False)
@click.option("--raw", is_flag=True, help="The exact JSON bytes stored.")
def cat_command(
    uri: str | None, config_file: str | None, path: str | None, raw: bool
) -> None:
    """Print one metering or meta file as JSON.

    PATH is relative to the metering root, as `ls` prints it.
    """
    target, rest = resolve(uri, config_file, [path], ["PATH"], 1)
    path = str(rest[0]).lstrip("/")
    fs = target.filesystem()
    try:
        blob = fs.cat_file(path)
    except FileNotFoundError:
        raise _data_error(f"file not found: {path}") from None
    except IsADirectoryError:
        raise _data_error(f"not a file: {path}") from None
    data = codec.decompress(blob, Config().max_decompressed_bytes, path)
    try:
        msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise _data_error(f"{path}: not valid JSON: {exc}") from None
    if raw:
        out: IO[bytes] = sys.stdout.buffer
        out.write(data)
        out.flush()
        return
    click.echo(msgspec.json.format(data, indent=2).decode("utf-8", "replace"))


@cli.command(name="meta")
@storage_options
@click.argument("cluster", metavar="CLUSTER", required=False)
@click.option(
    "--type",
    "meta_type",
    type=click.Choice(["logic", "sharedpool"]),
    help="Only this meta type (default: newest of any type, legacy included).",
)
@click.option("--category", default="", help="Category of the meta files.")
@click.option("--at", type=TIMESTAMP, help="Point in time (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def meta_command(
    uri: str | None,
    config_file: str | None,
    cluster: str | None,
    meta_type: str | None,
    category: str,
    at: int | None,
    as_json: bool,
) -> None:
    """Print the metadata in force for CLUSTER at a point in time."""
    from .reader import MetaReader

    target, rest = resolve(uri, config_file, [cluster], ["CLUSTER"], 1)
    cluster_id = str(rest[0])
    when = int(time.time()) if at is None else at
    try:
        layout.check_segment("cluster_id", cluster_id)
        if category:
            layout.check_segment("category", category)
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    with MetaReader(target.filesystem()) as reader:
        if meta_type is None:
            meta = reader.read(cluster_id, when, category=category)
        else:
            meta = reader.read_by_type(cluster_id, meta_type, when, category=category)
    doc = {
        "cluster_id": meta.cluster_id,
        "type": meta.type.value if meta.type is not None else None,
        "category": meta.category,
        "modify_ts": meta.modify_ts,
        "metadata": meta.metadata,
    }
    if as_json:
        echo_json(doc)
        return
    click.echo(f"storage:   {target.shown}")
    click.echo(f"cluster:   {meta.cluster_id}")
    click.echo(f"type:      {doc['type'] or '(legacy, none)'}")
    click.echo(f"category:  {meta.category or '(none)'}")
    click.echo(f"modify_ts: {meta.modify_ts}  {format_ts(meta.modify_ts)}")
    click.echo(f"in force at {when}  {format_ts(when)}")
    click.echo("metadata:")
    formatted = msgspec.json.format(msgspec.json.encode(meta.metadata), indent=2)
    click.echo("  " + formatted.decode().replace("\n", "\n  "))


@cli.command(name="write")
@storage_options
@click.argument("file", metavar="[FILE|-]", required=False)
@click.option("--meta", is_flag=True, help="The lines are meta documents.")
@click.option(
    "--page-size",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Split each document into files of at most N bytes of JSON (0: one file).",
)
@click.option("--pool", help="Shared pool id for documents without one.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
def write_command(
    uri: str | None,
    config_file: str | None,
    file: str | None,
    meta: bool,
    page_size: int,
    pool: str | None,
    overwrite: bool,
) -> None:
    """Write metering (or --meta) documents from JSON Lines.

    Reads FILE, or stdin when FILE is - or missing. Every line is checked
    before anything is written; the written paths are printed.
    """
    from .schema import DEFAULT_SHARED_POOL_ID, MetaData, MeteringData
    from .writer import MetaWriter, MeteringWriter

    target, rest = resolve(uri, config_file, [file], ["FILE"], 0)
    source = rest[0] or "-"
    if source != "-":
        try:
            with open(source, "rb") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {source}: {exc.strerror or exc}", param_hint="'FILE'"
            ) from None
    else:
        lines = sys.stdin.buffer.read().splitlines()

    config = Config(overwrite_existing=overwrite, page_size_bytes=page_size)
    fs = target.filesystem()
    writer: MeteringWriter | MetaWriter
    if meta:
        writer = MetaWriter(fs, config)
    else:
        writer = MeteringWriter(
            fs,
            config,
            shared_pool_id=pool or target.shared_pool_id or DEFAULT_SHARED_POOL_ID,
        )
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
        MetaData if meta else MeteringData
    )
    documents: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = decoder.decode(line)
            writer.prepare(document)  # every check a write makes, writing nothing
        except (msgspec.DecodeError, ValueError) as exc:
            raise _data_error(f"{source}:{number}: {_message(exc)}") from None
        documents.append((number, document))

    written: list[str] = []
    with writer, progress(len(documents), "writing") as advance:
        for number, document in documents:
            try:
                if isinstance(writer, MetaWriter):
                    written.append(writer.write(document))
                else:
                    written.extend(writer.write(document))
            except MeteringError as exc:
                if written:
                    click.echo(
                        f"{len(written)} file(s) were written before line {number}:",
                        err=True,
                    )
                    for path in written:
                        click.echo(f"  {path}", err=True)
                raise _data_error(f"{source}:{number}: {_message(exc)}") from None
            advance(1)
    for path in written:
        click.echo(path)
    noun = "meta" if meta else "metering"
    click.echo(
        f"wrote {len(written)} {noun} file(s) from {len(documents)} document(s)"
        f" to {target.shown}",
        err=True,
    )


@cli.command(name="validate")
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
    from .cli_validate import validate

    target, _ = resolve(uri, config_file, [], [], 0)
    start, end = _range(None, start, end)
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
            click.echo(_STATE.scrub(f"{problem.path}: {problem.message}"))
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


@cli.command(name="export")
@storage_options
@click.option("--from", "start", type=TIMESTAMP, required=True, help="First minute.")
@click.option("--to", "end", type=TIMESTAMP, required=True, help="End (exclusive).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv", "jsonl"]),
    required=True,
    help="Output format.",
)
@click.option(
    "--out",
    required=True,
    metavar="TARGET",
    help="Output folder: a local path, storage URI or fsspec URL.",
)
@click.option(
    "--partition-by",
    default="day,category",
    show_default=True,
    help="Folders to split the output into: day, category, both, or none (one file).",
)
@click.option("--category", help="Only this category.")
@click.option("--pool", help="Only this shared pool id.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def export_command(
    uri: str | None,
    config_file: str | None,
    start: int,
    end: int,
    fmt: str,
    out: str,
    partition_by: str,
    category: str | None,
    pool: str | None,
    overwrite: bool,
) -> None:
    """Export the usage table of a time range.

    Writes the rows of the minutes in [--from, --to) as Parquet, CSV or JSON
    Lines under TARGET, in hive-style folders (day=YYYY-MM-DD/category=NAME/)
    unless --partition-by none. The written paths are printed.
    """
    from .frames import export

    target, _ = resolve(uri, config_file, [], [], 0)
    _range(None, start, end)
    parts = [p.strip() for p in partition_by.split(",") if p.strip()]
    if parts == ["none"]:
        parts = []
    if set(parts) - {"day", "category"}:
        raise click.BadParameter(
            f"expected day, category, day,category or none, got {partition_by!r}",
            param_hint="'--partition-by'",
        )
    _STATE.scrub.add_uri(out)
    with _reported_warnings():
        written = export(
            target.filesystem(),
            start,
            end,
            out,
            format=fmt,  # type: ignore[arg-type]
            partition_by=parts,  # type: ignore[arg-type]
            category=category,
            shared_pool_id=pool,
            overwrite=overwrite,
        )
    for path in written:
        click.echo(path)
    click.echo(
        f"exported [{start}, {end}) from {target.shown} to {describe_storage(out)}:"
        f" {len(written)} {fmt} file(s)",
        err=True,
    )


# -- entry point ------------------------------------------------------------------


class _DataError(click.ClickException):
    """A problem with the stored or given data: exit code 1."""

    exit_code = 1


def _data_error(message: str) -> _DataError:
    return _DataError(message)


def _message(exc: BaseException) -> str:
    """The message of ``exc`` as raised (OSError's str adds errno decoration)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        return _STATE.scrub(exc.args[0])
    return _STATE.scrub(str(exc) or type(exc).__name__)


def _fail(message: str, code: int) -> None:
    click.echo(_STATE.scrub(message), err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exit with 0, 1 (data problems) or 2 (usage)."""
    _setup_logging()
    try:
        code = cli.main(args=argv, prog_name="metering-fsspec", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.UsageError as exc:
        hint = exc.ctx.get_usage() + "\n" if exc.ctx is not None else ""
        _fail(f"{hint}error: {exc.format_message()}", 2)
    except click.ClickException as exc:
        if _STATE.debug:
            click.echo(_STATE.scrub(traceback.format_exc()), err=True)
        _fail(f"error: {exc.format_message()}", exc.exit_code)
    except BrokenPipeError:
        # A consumer such as `head` closed the pipe: not an error.
        sys.stderr.close()
        sys.exit(0)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # one clear line instead of a traceback
        if _STATE.debug:
            click.echo(_STATE.scrub(traceback.format_exc()), err=True)
        message = _message(exc)
        if not isinstance(exc, MeteringError | OSError | ValueError):
            message = f"{type(exc).__name__}: {message}"
        _fail(f"error: {message}", 1)
    else:
        sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
