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
from pydantic import BaseModel

from ocrflow.errors import OcrflowError
from ocrflow.net.safe_http import (
    UrlNotAllowedError,
    UrlPolicy,
    check_url,
    error_for_status,
    error_for_transport,
    safe_client,
)
from ocrflow.providers.http import retry_after_seconds

USER_AGENT = "ocrflow-webhooks/1"


class DeliveryReport(BaseModel):
    delivered: bool
    attempts: int
    #: The receiver's last HTTP status; None when it never answered.
    status_code: int | None = None
    error: str | None = None
    #: Stable code of the last failure (url_not_allowed, url_unreachable), for programs.
    error_code: str | None = None


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
) -> DeliveryReport:
    """POST `payload` as signed JSON to `url`, retrying what may pass later, and report the outcome.

    Retried, with exponential back-off and full jitter (at least Retry-After, up to `backoff_cap`): connection
    failures, time-outs, 408, 429 and 5xx. Final: other statuses and URLs the policy refuses. Redirects are not
    followed, since a redirected POST turns into a GET without the body. `client`, if given, must come from
    `safe_client`; by default one is made from `policy`. Delivery failures are reported, never raised.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    rng = rng or random.Random()
    try:
        target = check_url(url, policy)
    except UrlNotAllowedError as exc:
        return _undelivered(1, None, exc)
    with nullcontext(client) if client is not None else safe_client(policy) as http:
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
                        return DeliveryReport(delivered=True, attempts=attempt, status_code=status_code)
                    failure = error_for_status(response)
                    retry_after = retry_after_seconds(response)
            except UrlNotAllowedError as exc:  # the connect-time guard refused what the name resolves to
                failure = exc
            except httpx.HTTPError as exc:
                failure = error_for_transport(exc, target)
            if not failure.retryable or attempt >= max_attempts:
                return _undelivered(attempt, status_code, failure)
            sleep(_backoff_delay(attempt, backoff_base, backoff_cap, rng, retry_after))


def _headers(event: str, delivery_id: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Ocrflow-Event": event,
        "X-Ocrflow-Delivery": delivery_id,
        "X-Ocrflow-Signature": signature,
    }


def _undelivered(attempts: int, status_code: int | None, failure: OcrflowError) -> DeliveryReport:
    return DeliveryReport(delivered=False, attempts=attempts, status_code=status_code, error=failure.message,
                          error_code=failure.code)


def _backoff_delay(attempt: int, base: float, cap: float, rng: random.Random, retry_after: float | None) -> float:
    """Full jitter below an exponentially growing ceiling; never earlier than the receiver asked for."""
    delay = rng.uniform(0, min(cap, base * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
