"""RetryPolicy: which errors are retried, how long it waits, when it gives up."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from metering_fsspec import (
    Config,
    CorruptFileError,
    MeteringData,
    MeteringFileExistsError,
    MeteringFileNotFoundError,
    MeteringReader,
    MeteringWriter,
    RetriesExhaustedError,
    RetryPolicy,
    StorageError,
    ValidationError,
    open_storage,
)
from metering_fsspec.retry import is_transient
from tests.faulty import (
    Fault,
    FaultyFileSystem,
    connection_reset,
    http_error,
    internal_error,
    io_error,
    permission_denied,
    service_unavailable,
    timeout,
)

FAST = RetryPolicy(initial_delay=0.0005, max_delay=0.002)


class Flaky:
    """A callable failing with ``errors`` in turn, then returning ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def recording_policy(**changes: Any) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    return attrs.evolve(RetryPolicy(), sleep=slept.append, **changes), slept


# -- classification -------------------------------------------------------------

TRANSIENT_ERRORS: list[Callable[[str], BaseException]] = [
    service_unavailable,
    internal_error,
    http_error(502, "BadGateway"),
    http_error(429, "TooManyRequests"),
    timeout,
    connection_reset,
    lambda p: ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
    lambda p: BrokenPipeError(errno.EPIPE, "broken pipe"),
    lambda p: OSError(errno.EBUSY, "busy"),
]


@pytest.mark.parametrize("make", TRANSIENT_ERRORS)
def test_transient_errors_are_recognised(make: Callable[[str], BaseException]) -> None:
    assert is_transient(make("metering/x"))


def test_transient_errors_of_http_clients() -> None:
    import aiohttp
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    assert is_transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert is_transient(ReadTimeoutError(endpoint_url="http://127.0.0.1:1"))
    assert is_transient(aiohttp.ServerDisconnectedError())


PERMANENT_ERRORS: list[BaseException] = [
    ValidationError("self_id", "must not contain '-'"),
    CorruptFileError("metering/x", "not a gzip file"),
    MeteringFileExistsError("metering/x"),
    MeteringFileNotFoundError("metering/x"),
    FileExistsError("x"),
    FileNotFoundError("x"),
    permission_denied("x"),
    IsADirectoryError("x"),
    io_error("x"),  # says nothing about being transient: not guessed
    http_error(403, "AccessDenied")("x"),
    http_error(404, "NoSuchKey")("x"),
    http_error(412, "PreconditionFailed")("x"),
    KeyError("x"),
    RetriesExhaustedError("write x", 4, TimeoutError()),
    StorageError("x"),  # no transient cause
]


@pytest.mark.parametrize("error", PERMANENT_ERRORS, ids=lambda e: type(e).__name__)
def test_permanent_errors_are_not_retried(error: BaseException) -> None:
    assert not is_transient(error)
    policy, slept = recording_policy()
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        policy.call(flaky, target="op")
    assert flaky.calls == 1
    assert slept == []


def test_cause_chain_decides_for_wrappers() -> None:
    inner = TimeoutError("read timed out")
    outer = StorageError("cannot write metering/x")
    outer.__cause__ = inner
    assert is_transient(outer)
    denied = PermissionError("denied")
    denied.__cause__ = inner  # a permanent outer error wins over its cause
    assert not is_transient(denied)


# -- backoff --------------------------------------------------------------------


def test_default_policy_is_on_and_bounded() -> None:
    policy = Config().retry
    assert policy == RetryPolicy()
    assert policy.attempts == 4
    waits = list(attrs.evolve(policy, jitter=0).delays())
    assert waits == pytest.approx([0.1, 0.2, 0.4])
    assert sum(policy.delays()) <= 0.7 + 1e-9


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(
        attempts=8, initial_delay=0.5, multiplier=3, max_delay=4, jitter=0.25
    )
    exact = [0.5, 1.5, 4, 4, 4, 4, 4]
    for _ in range(50):
        waits = list(policy.delays())
        assert len(waits) == 7
        for wait, top in zip(waits, exact, strict=True):
            assert top * 0.75 <= wait <= top


def test_retries_until_success_and_waits_between() -> None:
    policy, slept = recording_policy(jitter=0)
    flaky = Flaky(timeout("p"), service_unavailable("p"), connection_reset("p"))
    assert policy.call(flaky, target="op") == "ok"
    assert flaky.calls == 4
    assert slept == pytest.approx([0.1, 0.2, 0.4])


def test_gives_up_after_the_last_attempt_naming_the_target() -> None:
    policy, slept = recording_policy(attempts=3)
    errors = [service_unavailable("p") for _ in range(5)]
    flaky = Flaky(*errors)
    with pytest.raises(RetriesExhaustedError) as info:
        policy.call(flaky, target="write metering/ru/60/a/b/c-0.json.gz")
    assert flaky.calls == 3
    assert len(slept) == 2
    assert "write metering/ru/60/a/b/c-0.json.gz" in str(info.value)
    assert "3 attempt" in str(info.value)
    assert info.value.__cause__ is errors[2]
    assert isinstance(info.value, OSError)


def test_disabled_policy_makes_one_attempt() -> None:
    policy = attrs.evolve(RetryPolicy.disabled(), sleep=lambda _: pytest.fail("slept"))
    flaky = Flaky(timeout("p"))
    with pytest.raises(RetriesExhaustedError):
        policy.call(flaky, target="op")
    assert flaky.calls == 1


def test_custom_classifier() -> None:
    policy, _ = recording_policy(transient=lambda exc: isinstance(exc, KeyError))
    flaky = Flaky(KeyError("x"), KeyError("y"))
    assert policy.call(flaky, target="op") == "ok"


def test_invalid_settings_are_refused() -> None:
    for bad in ({"attempts": 0}, {"initial_delay": -1}, {"jitter": 2}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)  # type: ignore[arg-type]


# -- through the writer and reader ---------------------------------------------------


def _doc(self_id: str = "c1") -> MeteringData:
    return MeteringData(
        timestamp=1_700_000_040,
        category="tidb",
        self_id=self_id,
        shared_pool_id="pool",
        data=[{"ru": {"value": 7, "unit": "RU"}}],
    )


def test_writer_and_reader_use_the_config_policy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fs = FaultyFileSystem(
        open_storage("memory://retry"),
        [
            Fault("pipe_file", nth=1, times=2, error=timeout),
            Fault("cat_file", nth=1, times=3, error=service_unavailable),
            Fault("find", nth=1, error=connection_reset),
        ],
    )
    config = Config(retry=FAST)
    [path] = MeteringWriter(fs, config).write(_doc())
    assert fs.stored[path] == 1
    reader = MeteringReader(fs, config)
    assert reader.list_files_by_timestamp(1_700_000_040).files == {"tidb": [path]}
    assert reader.read_file(path) == _doc()
    assert fs.faults_injected == 6
    assert "retry 1 of 3" in caplog.text
    assert path in caplog.text


def test_retries_off_fails_at_once() -> None:
    fs = FaultyFileSystem(open_storage("memory://retry"), [Fault("pipe_file")])
    writer = MeteringWriter(fs, Config(retry=RetryPolicy.disabled()))
    with pytest.raises(RetriesExhaustedError, match="c1-0.json.gz"):
        writer.write(_doc())
    assert fs.calls["pipe_file"] == 1
    assert not fs.stored
