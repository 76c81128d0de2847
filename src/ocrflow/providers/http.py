"""HTTP plumbing shared by the REST clients: one httpx client per provider with time-outs on every call,
bounded retries with exponential back-off and full jitter for transient errors only, and the mapping of
transport failures onto ocrflow's typed errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from ocrflow.errors import OcrflowError, ProviderUnavailableError, ThrottledError
from ocrflow.providers.settings import ProviderSettings

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


def make_client(settings: ProviderSettings, **kwargs) -> httpx.Client:
    timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
    # transport retries cover connection set-up only (nothing was sent yet), so they are always safe
    transport = httpx.HTTPTransport(retries=2)
    return httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                        headers={"User-Agent": "ocrflow/0.1"}, **kwargs)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header as seconds (delta-seconds or an HTTP date), if present and sane."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, 3600.0))


def transport_error(provider: str, exc: httpx.HTTPError, idempotent: bool = True) -> OcrflowError:
    """A transport failure as a typed error. A read time-out on a call that may have been charged is not
    retryable: the provider may have done (and billed) the work."""
    if isinstance(exc, httpx.TimeoutException):
        charged = not idempotent and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        return ProviderUnavailableError(f"{provider} did not answer in time ({type(exc).__name__})",
                                        provider=provider, retryable=not charged)
    return ProviderUnavailableError(f"cannot reach {provider}: {type(exc).__name__}", provider=provider)


def with_retries(call: Callable[[], T], settings: ProviderSettings, sleep: Sleep = time.sleep,
                 rng: random.Random | None = None, *, clock: Clock = time.monotonic,
                 deadline: float | None = None) -> T:
    """Run `call`; on a retryable OcrflowError wait and try again, at most `settings.max_attempts` times in all.

    The wait is exponential back-off with full jitter (capped at `backoff_cap_seconds`), but a provider's
    Retry-After wins, however far above the cap: asking again sooner only earns another refusal. Waits are
    bounded by `deadline` (a `clock()` time: the part's, job's or poll's): when one would end past it, the
    error is raised at once (still retryable: the job can be tried again later) instead of asking early.
    Without a deadline (a caller that cannot wait long, such as a Lambda step whose retries are scheduled
    outside it) a Retry-After above the cap is not waited here either: the throttled error is raised."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except OcrflowError as exc:
            if not exc.retryable or attempt >= settings.max_attempts:
                raise
            ceiling = min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
            delay = rng.uniform(0, ceiling)
            asked = exc.retry_after if isinstance(exc, ThrottledError) else None
            if asked is not None:
                delay = max(delay, asked)
            if deadline is None:
                if asked is not None and asked > settings.backoff_cap_seconds:
                    raise
            elif clock() + delay > deadline:
                raise
            sleep(delay)
