"""Retries of transient storage errors with bounded exponential backoff.

The default :class:`RetryPolicy` (``Config().retry``) makes at most 4 attempts
(3 retries) and waits about 0.1 s, 0.2 s and 0.4 s between them (doubling,
capped at 2 s, each shortened by up to 20 % at random), so a failing call
gives up within about a second. ``RetryPolicy.disabled()`` makes one attempt.

Only transient errors are retried (:func:`is_transient`): timeouts,
connection errors, and server-side failures such as HTTP 429/500/502/503/504
(s3fs reports 503 ``SlowDown`` as ``OSError(EBUSY)`` and 500 as
``OSError(EREMOTEIO)``). Validation errors, corrupt files, ``FileExistsError``,
``FileNotFoundError``, permission errors and anything unrecognised fail at
once. When the last attempt fails transiently, :class:`RetriesExhaustedError`
names the target and chains the last error.
"""

from __future__ import annotations

import errno
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs

from .errors import RetriesExhaustedError

__all__ = ["RetryPolicy", "is_transient"]

T = TypeVar("T")

# Errors that a retry cannot fix, whatever they wrap.
_PERMANENT: tuple[type[BaseException], ...] = (
    ValueError,
    FileExistsError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    NotImplementedError,
    RetriesExhaustedError,
)
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ECONNREFUSED,
        errno.EPIPE,
        errno.EAGAIN,
        errno.EBUSY,  # s3fs: 503 SlowDown / ServiceUnavailable
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        getattr(errno, "EREMOTEIO", 121),  # s3fs: 500 InternalError
    }
)
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "RequestLimitExceeded",
        "ServerBusy",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "OperationTimedOut",
    }
)
# Network errors of HTTP client libraries that are not builtin OSErrors.
_TRANSIENT_CLASS_NAMES = frozenset(
    {
        "ClientConnectionError",
        "ClientPayloadError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "HTTPClientError",
        "IncompleteRead",
        "ReadTimeoutError",
        "ServerDisconnectedError",
        "ServiceRequestError",
        "ServiceResponseError",
    }
)


def _status_of(exc: BaseException) -> int | None:
    for name in ("status", "status_code", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _transient_here(exc: BaseException) -> bool | None:
    """True / False when ``exc`` itself decides, None to look at its cause."""
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    if _status_of(exc) in _TRANSIENT_STATUS:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = response.get("Error", {}).get("Code")
        if status in _TRANSIENT_STATUS or code in _TRANSIENT_CODES:
            return True
    if any(cls.__name__ in _TRANSIENT_CLASS_NAMES for cls in type(exc).__mro__):
        return True
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed where ``exc`` failed.

    Looks at ``exc`` and the errors it was raised from (``__cause__``), as
    s3fs chains the botocore error that carries the HTTP status.
    """
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        verdict = _transient_here(current)
        if verdict is not None:
            return verdict
        current = current.__cause__
        seen += 1
    return False


@attrs.frozen
class RetryPolicy:
    """How storage calls are retried. Change with ``attrs.evolve``.

    Parameters
    ----------
    attempts:
        Tries in all, the first included (4; 1 disables retries).
    initial_delay:
        Seconds to wait before the first retry (0.1).
    multiplier:
        Each wait is this many times the previous one (2.0).
    max_delay:
        Upper bound of one wait in seconds (2.0).
    jitter:
        Each wait is shortened by up to this fraction at random (0.2), so
        clients that failed together do not retry together.
    transient:
        Decides which errors are retried (:func:`is_transient`).
    sleep:
        Waits between attempts (``time.sleep``; replaceable in tests).
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    initial_delay: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    max_delay: float = attrs.field(default=2.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.2, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    transient: Callable[[BaseException], bool] = is_transient
    sleep: Callable[[float], Any] = attrs.field(
        default=time.sleep, eq=False, repr=False
    )

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt: transient errors fail at once."""
        return cls(attempts=1)

    def delays(self) -> Iterator[float]:
        """The waits before attempts 2..n (``attempts - 1`` values)."""
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            capped = min(delay, self.max_delay)
            yield capped * (1 - self.jitter * random.random())
            delay *= self.multiplier

    def call(
        self,
        fn: Callable[[], T],
        *,
        target: str,
        log: logging.Logger | None = None,
        on_transient: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Run ``fn``, retrying it while it fails transiently.

        Parameters
        ----------
        target:
            What is being done, for log lines and errors (``"write PATH"``).
        on_transient:
            Called with each transient error before the next attempt.

        Raises
        ------
        RetriesExhaustedError
            The last attempt failed transiently (chained to that error).
        """
        waits = self.delays()
        attempt = 1
        while True:
            try:
                return fn()
            except Exception as exc:
                if not self.transient(exc):
                    raise
                if on_transient is not None:
                    on_transient(exc)
                wait = next(waits, None)
                if wait is None:
                    raise RetriesExhaustedError(target, attempt, exc) from exc
                if log is not None:
                    log.warning(
                        "%s failed (%s: %s); retry %d of %d in %.2f s",
                        target,
                        type(exc).__name__,
                        exc,
                        attempt,
                        self.attempts - 1,
                        wait,
                    )
                self.sleep(wait)
                attempt += 1
