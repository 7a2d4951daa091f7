"""Retrying remote reads: one backoff policy for every remote backend (HTTP, fsspec).

A backend raises :class:`TransientError` for a failure worth retrying; a :class:`Retrier` per
operation sleeps with exponential backoff, bounded by the attempt count and the total time, and
raises :class:`~bioformats_ext.errors.RemoteError` when the budget is spent. The clock and the
sleep come from the backend (``clock`` / ``sleep`` attributes), so tests can run retries
without waiting and count them instead of timing them.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Protocol

from ..errors import RemoteError

__all__ = ["TransientError", "Retrier", "RetryPolicy", "RetrySettings", "remote_error"]


#: Defaults for backends (instance attributes may replace them, e.g. in tests).
DEFAULT_CLOCK: Callable[[], float] = time.monotonic
DEFAULT_SLEEP: Callable[[float], None] = time.sleep


class TransientError(Exception):
    """A failure worth retrying; ``partial`` holds correct bytes received before it happened."""

    def __init__(self, message: str, partial: bytes = b""):
        super().__init__(message)
        self.partial = partial


class RetryPolicy(Protocol):
    """What a :class:`Retrier` reads from its backend."""

    name: str
    retries: int
    backoff: float
    max_backoff: float
    max_retry_time: float
    stats: Any
    clock: Callable[[], float]
    sleep: Callable[[float], None]


class RetrySettings:
    """The retry budget a remote backend carries (see :class:`RetryPolicy`)."""

    name: str
    stats: Any

    def init_retries(self, retries: int, backoff: float, max_backoff: float,
                     max_retry_time: float, clock: Callable[[], float] | None = None,
                     sleep: Callable[[float], None] | None = None) -> None:
        """``clock``/``sleep`` (default ``time.monotonic``/``time.sleep``) time the retries;
        tests pass fakes to check the backoff without waiting."""
        if retries < 0 or backoff < 0 or max_retry_time < 0:
            raise ValueError("retries, backoff and max_retry_time must be >= 0")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_time = max_retry_time
        self.clock: Callable[[], float] = clock or DEFAULT_CLOCK
        self.sleep: Callable[[float], None] = sleep or DEFAULT_SLEEP


def remote_error(message: str, status: int | None = None) -> RemoteError:
    """A :class:`RemoteError` carrying the HTTP ``status`` (404 lets callers probe for indexes)."""
    error = RemoteError(message)
    error.status = status
    return error


class Retrier:
    """Exponential backoff bounded by attempt count and total time, for one operation."""

    def __init__(self, policy: RetryPolicy, what: str):
        self.policy = policy
        self.what = what
        self.attempts = 0
        self.delay = policy.backoff
        self.deadline = policy.clock() + policy.max_retry_time

    def failed(self, exc: TransientError, retry_after: float | None = None) -> None:
        """Sleep before the next attempt, or raise :class:`RemoteError` when out of budget."""
        policy = self.policy
        self.attempts += 1
        delay = self.delay if retry_after is None else max(self.delay, retry_after)
        delay = min(delay, policy.max_backoff)
        if self.attempts > policy.retries or policy.clock() + delay > self.deadline:
            raise remote_error(
                f"{policy.name}: {self.what} failed after {self.attempts} attempt(s): {exc}"
            ) from exc
        policy.stats.retries += 1
        policy.sleep(delay)
        self.delay = min(self.delay * 2, policy.max_backoff)
