"""Signed webhook delivery: ocrflow POSTs job events to a URL the user registered, signed so the receiver can
tell them from forgeries.

The signature header follows Stripe's scheme, ``X-Ocrflow-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``,
computed over ``"<t>." + body`` with the shared secret. Signing the timestamp lets receivers refuse old
requests (`verify` does, after five minutes), so a captured request cannot be replayed later. Delivery is
at least once - an answer lost on the way back means the event is sent again - so receivers should also
ignore an ``X-Ocrflow-Delivery`` id they have already handled.

A receiver checks a request like this::

    if not verify(secret, request_body_bytes, request.headers["X-Ocrflow-Signature"]):
        return 400
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import httpx
from pydantic import BaseModel, Field

from ocrflow.errors import OcrflowError
from ocrflow.net.safe_http import (
    Deadline,
    UrlNotAllowedError,
    UrlPolicy,
    check_url,
    error_for_status,
    error_for_transport,
    safe_client,
)
from ocrflow.providers.http import retry_after_seconds

USER_AGENT = "ocrflow-webhooks/1"
#: a receiver gets this long to answer one POST
ATTEMPT_SECONDS = 10.0


class DeliveryDeadlineError(OcrflowError):
    """The delivery's time ran out before the receiver accepted it."""

    code = "deadline_exceeded"
    retryable = False


class DeliveryReport(BaseModel):
    delivered: bool = Field(description="The receiver answered 2xx")
    attempts: int = Field(description="POSTs sent (0: the URL was refused before any)")
    status_code: int | None = Field(default=None, description="The receiver's last HTTP status; null when it "
                                    "never answered")
    error: str | None = Field(default=None, description="Why the last attempt failed")
    error_code: str | None = Field(default=None, description="Stable code of the last failure (url_not_allowed, "
                                   "url_unreachable, deadline_exceeded), for programs")
    seconds: float | None = Field(default=None, description="Time the delivery took, every attempt and wait")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Ocrflow-Signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, tolerance_seconds: float = 300, now: float | None = None) -> bool:
    """True when `header` is a valid signature of `body` made with `secret` no more than `tolerance_seconds`
    from `now` (default: the current time). Malformed headers are simply not valid."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = _digest(secret, body, timestamp).encode()
    # bytes, not str: compare_digest refuses non-ASCII strings, and the header is attacker-controlled
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in signatures)


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def deliver(
    url: str,
    payload: dict[str, Any],
    secret: str,
    policy: UrlPolicy,
    *,
    event: str,
    delivery_id: str,
    max_attempts: int = 6,
    backoff_base: float = 1.0,
    backoff_cap: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
    now: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    deadline_seconds: float = 120.0,
) -> DeliveryReport:
    """POST `payload` as signed JSON to `url`, retrying what may pass later, and report the outcome.

    Retried, with exponential back-off and full jitter up to `backoff_cap` (a receiver's Retry-After waited out
    in full, even above the cap): connection
    failures, time-outs, 408, 429 and 5xx. Final: other statuses and URLs the policy refuses. Redirects are not
    followed, since a redirected POST turns into a GET without the body. Everything - every attempt and every
    wait - ends within `deadline_seconds` (a receiver trickling its answer included; no retry starts that
    would wait past it), so the report is written well inside the calling function's time-out. `client`, if
    given, must come from `safe_client` (then only the waits and each attempt's start are bounded); by default
    one is made from `policy`. Delivery failures are reported, never raised.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    rng = rng or random.Random()
    deadline = Deadline(deadline_seconds)
    report = _Reporter(deadline)
    try:
        target = check_url(url, policy)
    except UrlNotAllowedError as exc:
        return report.undelivered(0, None, exc)
    timeout = min(ATTEMPT_SECONDS, deadline_seconds)
    with nullcontext(client) if client is not None else safe_client(policy, timeout, deadline=deadline) as http:
        attempt = 0
        while True:
            attempt += 1
            status_code: int | None = None
            retry_after: float | None = None
            failure: OcrflowError
            # signed afresh each attempt: a retry must not arrive with a timestamp the receiver finds stale
            headers = _headers(event, delivery_id, sign(secret, body, int(now())))
            try:
                with http.stream("POST", target, content=body, headers=headers, follow_redirects=False) as response:
                    status_code = response.status_code
                    if response.is_success:
                        return report.delivered(attempt, status_code)
                    failure = error_for_status(response)
                    retry_after = retry_after_seconds(response)
            except UrlNotAllowedError as exc:  # the connect-time guard refused what the name resolves to: nothing sent
                return report.undelivered(attempt - 1, None, exc)
            except httpx.HTTPError as exc:
                failure = error_for_transport(exc, target)
                if deadline.passed:
                    failure = DeliveryDeadlineError(f"{failure.message}; gave up when the {deadline_seconds:g} s "
                                                    "for the delivery had passed")
            if not failure.retryable or attempt >= max_attempts:
                return report.undelivered(attempt, status_code, failure)
            delay = _backoff_delay(attempt, backoff_base, backoff_cap, rng, retry_after)
            if delay >= deadline.remaining():
                late = DeliveryDeadlineError(f"{failure.message}; not retried: the next attempt would start after "
                                             f"the {deadline_seconds:g} s for the delivery")
                return report.undelivered(attempt, status_code, late)
            sleep(delay)


def _headers(event: str, delivery_id: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Ocrflow-Event": event,
        "X-Ocrflow-Delivery": delivery_id,
        "X-Ocrflow-Signature": signature,
    }


class _Reporter:
    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def _seconds(self) -> float:
        return round(self._deadline.elapsed(), 3)

    def delivered(self, attempts: int, status_code: int) -> DeliveryReport:
        return DeliveryReport(delivered=True, attempts=attempts, status_code=status_code, seconds=self._seconds())

    def undelivered(self, attempts: int, status_code: int | None, failure: OcrflowError) -> DeliveryReport:
        return DeliveryReport(delivered=False, attempts=attempts, status_code=status_code, error=failure.message,
                              error_code=failure.code, seconds=self._seconds())


def _backoff_delay(attempt: int, base: float, cap: float, rng: random.Random, retry_after: float | None) -> float:
    """Full jitter below an exponentially growing ceiling; never earlier than the receiver asked for: a
    Retry-After wins over the cap (the delivery's deadline bounds it: a wait past it is not started)."""
    delay = rng.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
