"""Webhook delivery to a real receiver on 127.0.0.1 that checks every signature with `verify`: what is retried
and how long it waits, what is final, and that an SSRF refusal never reaches the receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from werkzeug.wrappers import Request, Response

from ocrflow.net.safe_http import UrlPolicy, safe_client
from ocrflow.webhooks import DeliveryReport, deliver, sign, verify
from tests.http_servers import serving, trickling

SECRET = "whsec_0123456789abcdef"
LOCAL = UrlPolicy(allow_http=True, allowed_hosts=frozenset({"127.0.0.1"}))
PAYLOAD = {"job_id": "job-42", "status": "succeeded", "pages": 3, "result": {"text_url": "s3://bucket/out.txt"}}


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    signature_valid: bool


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)


@contextmanager
def receiver(*answers: Response) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that verifies and records each delivery and gives `answers` in turn,
    then 200 to anything more."""
    pending = list(answers)
    deliveries: list[Delivery] = []

    @Request.application
    def app(request: Request) -> Response:
        body = request.get_data()
        valid = verify(SECRET, body, request.headers.get("X-Ocrflow-Signature", ""))
        deliveries.append(Delivery(body, dict(request.headers), valid))
        return pending.pop(0) if pending else Response("ok")

    with serving(app) as url:
        yield Receiver(url=f"{url}/hooks/ocr", deliveries=deliveries)


class CeilingRandom(random.Random):
    """Jitter that always picks the top of its range, so back-off delays are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


@dataclass
class RecordingSleep:
    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def described(report: DeliveryReport) -> tuple[bool, int, int | None]:
    return report.delivered, report.attempts, report.status_code


def send(url: str, sleep: RecordingSleep, policy: UrlPolicy = LOCAL, **kwargs: object) -> DeliveryReport:
    options: dict = {"event": "job.succeeded", "delivery_id": "dlv-1", "rng": CeilingRandom(), **kwargs}
    return deliver(url, PAYLOAD, SECRET, policy, sleep=sleep, **options)


def test_a_delivery_that_succeeds_first_time_is_signed_and_described() -> None:
    sleep = RecordingSleep()
    with receiver() as hook:
        report = send(hook.url, sleep)
    assert described(report) == (True, 1, 200) and report.error is None and 0 <= report.seconds < 10
    assert sleep.delays == []
    [delivery] = hook.deliveries
    assert delivery.signature_valid
    assert json.loads(delivery.body) == PAYLOAD
    assert delivery.body == json.dumps(PAYLOAD, sort_keys=True, separators=(",", ":")).encode()
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["User-Agent"] == "ocrflow-webhooks/1"
    assert delivery.headers["X-Ocrflow-Event"] == "job.succeeded"
    assert delivery.headers["X-Ocrflow-Delivery"] == "dlv-1"


def test_server_errors_are_retried_with_growing_back_off_and_a_fresh_signature_each_time() -> None:
    sleep = RecordingSleep()
    start = int(time.time())
    clock = iter([start, start + 2, start + 5])
    with receiver(Response("boom", status=500), Response("boom", status=500)) as hook:
        report = send(hook.url, sleep, now=lambda: next(clock))
    assert described(report) == (True, 3, 200)
    assert sleep.delays == [1.0, 2.0]
    assert [delivery.signature_valid for delivery in hook.deliveries] == [True, True, True]
    timestamps = [re.match(r"t=(\d+),", d.headers["X-Ocrflow-Signature"]).group(1) for d in hook.deliveries]
    assert timestamps == [str(start), str(start + 2), str(start + 5)]
    assert {d.headers["X-Ocrflow-Delivery"] for d in hook.deliveries} == {"dlv-1"}


def test_back_off_is_capped_and_attempts_are_bounded() -> None:
    sleep = RecordingSleep()
    with receiver(*[Response("down", status=503)] * 10) as hook:
        report = send(hook.url, sleep, max_attempts=6, backoff_base=1.0, backoff_cap=4.0)
    assert sleep.delays == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert report.delivered is False
    assert report.attempts == 6
    assert report.status_code == 503
    assert report.error_code == "url_unreachable"
    assert "503" in report.error
    assert len(hook.deliveries) == 6


def test_back_off_delays_are_jittered_below_the_ceiling() -> None:
    sleep = RecordingSleep()
    with receiver(*[Response("down", status=502)] * 10) as hook:
        send(hook.url, sleep, max_attempts=8, backoff_base=0.5, backoff_cap=8.0, rng=random.Random(1234))
    ceilings = [min(8.0, 0.5 * 2**attempt) for attempt in range(7)]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(sleep.delays, ceilings, strict=True))
    assert sleep.delays != ceilings


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_time_outs_throttling_and_server_errors_are_retried(status: int) -> None:
    sleep = RecordingSleep()
    with receiver(Response("later", status=status)) as hook:
        report = send(hook.url, sleep)
    assert described(report) == (True, 2, 200)
    assert len(sleep.delays) == 1
    assert len(hook.deliveries) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_final(status: int) -> None:
    sleep = RecordingSleep()
    with receiver(Response("no", status=status)) as hook:
        report = send(hook.url, sleep)
    assert report.delivered is False
    assert report.attempts == 1
    assert report.status_code == status
    assert sleep.delays == []
    assert len(hook.deliveries) == 1


def test_a_redirect_is_not_followed_since_the_post_would_lose_its_body() -> None:
    sleep = RecordingSleep()
    with receiver(Response(status=302, headers={"Location": "/elsewhere"})) as hook:
        report = send(hook.url, sleep)
    assert (report.delivered, report.attempts, report.status_code) == (False, 1, 302)
    assert len(hook.deliveries) == 1


@pytest.mark.parametrize(("retry_after", "cap", "expected_delay"), [("7", 30.0, 7.0), ("45", 30.0, 45.0)])
def test_retry_after_on_429_is_waited_out_even_above_the_cap(retry_after: str, cap: float,
                                                             expected_delay: float) -> None:
    sleep = RecordingSleep()
    with receiver(Response("slow down", status=429, headers={"Retry-After": retry_after})) as hook:
        report = send(hook.url, sleep, backoff_cap=cap)
    assert report.delivered is True
    assert sleep.delays == [expected_delay]


def test_a_retry_after_past_the_deadline_is_not_cut_short_but_reported() -> None:
    sleep = RecordingSleep()
    with receiver(*[Response("slow down", status=429, headers={"Retry-After": "3600"})] * 3) as hook:
        report = send(hook.url, sleep, backoff_cap=30.0, deadline_seconds=120.0)
    assert sleep.delays == []  # never re-posted after 30 s when the receiver asked for an hour
    assert (report.delivered, report.attempts, report.status_code) == (False, 1, 429)
    assert report.error_code == "deadline_exceeded"
    assert len(hook.deliveries) == 1


def test_a_receiver_that_cannot_be_reached_is_retried_then_reported() -> None:
    sleep = RecordingSleep()
    with receiver() as hook:
        closed = hook.url
    report = send(closed, sleep, max_attempts=3)
    assert report.delivered is False
    assert report.attempts == 3
    assert report.status_code is None
    assert report.error_code == "url_unreachable"
    assert len(sleep.delays) == 2


def test_loopback_without_the_exemption_is_refused_once_and_never_reached() -> None:
    sleep = RecordingSleep()
    with receiver() as hook:
        report = send(hook.url, sleep, policy=UrlPolicy(allow_http=True))
    assert report.delivered is False
    assert report.attempts == 0  # nothing was sent
    assert report.error_code == "url_not_allowed"
    assert "loopback" in report.error
    assert sleep.delays == []
    assert hook.deliveries == []


def test_a_name_resolving_to_loopback_is_refused_at_connect_time_and_not_retried() -> None:
    sleep = RecordingSleep()
    with receiver() as hook, safe_client(LOCAL, resolver=lambda host: ["127.0.0.1"]) as client:
        url = hook.url.replace("127.0.0.1", "hooks.customer.example")
        report = send(url, sleep, client=client)
    assert (report.delivered, report.attempts, report.error_code) == (False, 0, "url_not_allowed")
    assert "resolves to 127.0.0.1" in report.error
    assert sleep.delays == []
    assert hook.deliveries == []


# --- signatures, as a receiver checks them ---------------------------------------------------------------

BODY = b'{"job_id":"job-42","status":"succeeded"}'


def test_the_signature_is_an_hmac_of_timestamp_and_body_that_receivers_can_recompute() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET, BODY, header, now=1_700_000_000)


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert not verify(SECRET, BODY.replace(b"succeeded", b"failed"), header, now=1_700_000_000)
    assert not verify("whsec_other", BODY, header, now=1_700_000_000)


def test_the_timestamp_cannot_be_swapped_for_a_fresh_one() -> None:
    signature = sign(SECRET, BODY, 1_700_000_000).split(",")[1]
    assert not verify(SECRET, BODY, f"t=1700000600,{signature}", now=1_700_000_600)


@pytest.mark.parametrize(("age", "valid"), [(0, True), (299, True), (300, True), (301, False), (86_400, False),
                                            (-301, False)])
def test_old_and_future_timestamps_fail_verification(age: int, valid: bool) -> None:
    header = sign(SECRET, BODY, 1_700_000_000)
    assert verify(SECRET, BODY, header, tolerance_seconds=300, now=1_700_000_000 + age) is valid


@pytest.mark.parametrize("header", ["", "garbage", "v1=abc", "t=1700000000", "t=soon,v1=00", "t=1700000000,v1=é",
                                    "t=-1700000000,v1=00"])
def test_malformed_signature_headers_are_simply_invalid(header: str) -> None:
    assert verify(SECRET, BODY, header, now=1_700_000_000) is False


def test_a_receiver_trickling_its_answer_is_given_up_on_at_the_deadline_and_reported_exactly() -> None:
    """Each attempt's bytes come well inside the per-read time-out; the delivery's deadline ends it, and the
    report counts the POSTs the receiver really got."""
    with trickling("headers", interval=0.05, for_seconds=8.0) as slow:
        started = time.monotonic()
        report = deliver(f"{slow.url}/hooks/ocr", PAYLOAD, SECRET, LOCAL, event="job.succeeded", delivery_id="d",
                         deadline_seconds=1.5, backoff_base=0.1, backoff_cap=0.1, rng=CeilingRandom())
        took = time.monotonic() - started
        received = slow.requests
    assert 1.4 <= took < 4.0, took  # the deadline with generous slack; the receiver trickles for 8 s per POST
    assert (report.delivered, report.status_code, report.error_code) == (False, None, "deadline_exceeded")
    assert report.attempts == received == 1
    assert "1.5 s" in report.error and 1.4 <= report.seconds < 4.0


def test_no_retry_starts_that_would_wait_past_the_deadline() -> None:
    sleep = RecordingSleep()
    with receiver(*[Response("down", status=503)] * 10) as hook:
        report = send(hook.url, sleep, deadline_seconds=5.0, backoff_base=4.0, backoff_cap=30.0)
    assert sleep.delays == [4.0]  # then 8 s would pass the 5 s
    assert (report.delivered, report.attempts, report.status_code) == (False, 2, 503)
    assert report.error_code == "deadline_exceeded" and "503" in report.error
    assert len(hook.deliveries) == 2
