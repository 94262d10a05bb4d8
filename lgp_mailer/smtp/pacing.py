"""Pacing, quota and retries: when a message may go, and how often to try.

The transport (``transport.py``) sends one message and says what happened;
this module decides *when*: ``RateLimiter`` spaces messages at the slowest
configured pace, ``DailyQuota`` stops at the provider's rolling 24-hour limit,
and ``send_with_retry`` retries ``deferred`` results with exponential backoff
and jitter (never ``unknown`` ones: those may have been delivered).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lgp_mailer.smtp.settings import Rate
from lgp_mailer.smtp.transport import SendResult, Transport


class RateLimiter:
    """Spaces messages evenly at the slowest configured pace; one instance is
    shared by all sessions of a run (thread-safe).  Per-day rates are quotas
    (``DailyQuota``), not paces."""

    def __init__(
        self,
        rates: Iterable[Rate],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        paces = [r.interval for r in rates if not r.is_quota]
        self.interval = max(paces, default=0.0)
        self.clock = clock
        self.sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        if self.interval <= 0:
            return 0.0
        with self._lock:  # reserve a slot, then wait outside the lock
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            self.sleep(wait)
        return wait


class DailyQuota:
    """Messages left in the rolling 24 hours; ``used`` comes from the ledger
    (``Ledger.sent_since(now - 24h)``), so the quota holds across runs."""

    def __init__(self, quota: int | None, used: int) -> None:
        self.quota = quota
        self.used = used
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.used)

    def take(self) -> bool:
        """Count one message; False when the quota is used up."""
        with self._lock:
            if self.quota is not None and self.used >= self.quota:
                return False
            self.used += 1
            return True


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, for deferred results
    base: float = 2.0  # seconds before the first retry (before jitter)
    cap: float = 60.0

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        doubling: int = 2 ** (retry - 1)  # typed: int ** int is Any to mypy
        full = min(self.cap, self.base * doubling)
        return full / 2 + rng() * full / 2


def send_with_retry(
    transport: Transport,
    msg: bytes,
    envelope_from: str,
    rcpt: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    limiter: RateLimiter | None = None,
    sleep: Callable[[float], object] = time.sleep,
    rng: Callable[[], float] = random.random,
    should_stop: Callable[[], bool] = lambda: False,
) -> SendResult:
    """Send, retrying ``deferred`` results; the last one is returned as is.

    Only ``deferred`` is retried: ``unknown`` must never be resent silently.
    Pass ``sleep=stop_event.wait, should_stop=stop_event.is_set`` so that
    Ctrl-C cuts a backoff short (the message then stays ``deferred``).
    """
    result = SendResult("deferred", reply="not attempted")
    for attempt in range(1, max(1, policy.attempts) + 1):
        if attempt > 1:
            sleep(policy.delay(attempt - 1, rng))
            if should_stop():
                break
        if limiter is not None:
            limiter.acquire()
        result = transport.send(msg, envelope_from, rcpt)
        if result.status != "deferred":
            break
    return result
