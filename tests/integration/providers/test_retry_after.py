"""A provider's Retry-After is waited out in full - even far above the back-off cap - and only within the
part's deadline: the client never asks again before the provider said it may, and when the deadline does not
leave that long it ends the part as throttled (retryable) at once. Real clients against their fakes over
HTTP; the clock is a fake one that the injected sleep moves, so nothing here really waits."""

from __future__ import annotations

import pytest

from ocrflow.errors import ThrottledError
from ocrflow.fakes.adobe import AdobeFake
from ocrflow.fakes.pdfmage import OCR_PATH, PdfMageFake
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.adobe import AdobeProvider, AdobeSettings
from ocrflow.providers.base import OcrRequest
from ocrflow.providers.pdfmage import PdfMageProvider, PdfMageSettings
from ocrflow.providers.runner import run_provider
from ocrflow.quality import word_recall
from tests.conftest import sample_bytes, truth_text

#: a back-off cap far below the Retry-After the fakes send
QUICK = {"backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.05, "max_attempts": 3}


class FakeClock:
    """Time that passes only when the client sleeps; each sleep is recorded with the requests made so far."""

    def __init__(self, fake) -> None:
        self.now = 1000.0
        self.fake = fake
        self.sleeps: list[tuple[int, float]] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((len(self.fake.requests), seconds))
        self.now += seconds


def ocr_letter(provider, settings, clock: FakeClock):
    data = sample_bytes("letter.pdf")
    try:
        return run_provider(provider, settings, data, inspect_document(data), "letter.pdf", OcrRequest(),
                            sleep=clock.sleep, clock=clock.time)
    finally:
        provider.close()


@pytest.fixture(scope="module")
def pdfmage():
    with PdfMageFake() as server:
        yield server


@pytest.fixture(scope="module")
def adobe():
    with AdobeFake() as server:
        yield server


def pdfmage_posts(fake) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == OCR_PATH)


def pdfmage_client(fake, **overrides) -> tuple[PdfMageProvider, PdfMageSettings]:
    settings = PdfMageSettings(endpoint=fake.base_url, api_key="pk_live_fake", **{**QUICK, **overrides})
    return PdfMageProvider(settings), settings


def test_retry_after_above_the_backoff_cap_is_waited_in_full(pdfmage):
    pdfmage.requests.clear()
    pdfmage.retry_after = "30"
    pdfmage.faults.inject("throttle", times=1)
    clock = FakeClock(pdfmage)
    outcome = ocr_letter(*pdfmage_client(pdfmage), clock)
    assert word_recall(truth_text("letter.pdf"), "\n".join(p.text for p in outcome.pages)) >= 0.9
    # one refused POST, then the 30 s the fake asked for (not the 0.05 s cap), then the POST that worked
    assert clock.sleeps == [(1, 30.0)]
    assert pdfmage_posts(pdfmage) == 2


def test_retry_after_past_the_deadline_ends_as_throttled_without_asking_early(pdfmage):
    pdfmage.requests.clear()
    pdfmage.retry_after = "1200"
    pdfmage.faults.inject("throttle", times=None)
    clock = FakeClock(pdfmage)
    try:
        with pytest.raises(ThrottledError) as caught:
            ocr_letter(*pdfmage_client(pdfmage, poll_deadline_seconds=900), clock)
    finally:
        pdfmage.faults.clear()
    assert caught.value.retryable and caught.value.retry_after == 1200.0
    assert clock.sleeps == [] and pdfmage_posts(pdfmage) == 1


def test_an_async_poll_refused_with_retry_after_waits_it_out(adobe):
    adobe.requests.clear()
    adobe.in_progress_polls, adobe.retry_after = 1, "2"
    adobe.fault_steps = {"status"}
    adobe.throttle_retry_after = "45"
    adobe.faults.inject("throttle", times=1)
    settings = AdobeSettings(endpoint=adobe.base_url, client_id="fake-client-id",
                             client_secret="fake-client-secret", poll_fallback_seconds=0, **QUICK)
    clock = FakeClock(adobe)
    outcome = ocr_letter(AdobeProvider(settings), settings, clock)
    assert outcome.searchable_pdf is not None
    statuses = sum(1 for r in adobe.requests if r.path.endswith("/status"))
    # the first poll at once (the submit sent no retry-after), refused: the 45 s it asked for, not the cap;
    # then "in progress" with retry-after 2, then done
    assert [seconds for _, seconds in clock.sleeps] == [0.0, 45.0, 2.0] and statuses == 3
