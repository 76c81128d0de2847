"""Sending parts, waiting on jobs, retrying what is transient and merging in page order - with an in-memory
provider, so only the runner's own behaviour is under test (the clients are tested against their fakes)."""

import random
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocrflow.document import Credits, Page
from ocrflow.errors import DamagedPdfError, ProviderUnavailableError, ThrottledError
from ocrflow.inputs.inspection import inspect_document
from ocrflow.providers.base import JobHandle, OcrRequest, Provider, ProviderLimits, ProviderResult
from ocrflow.providers.http import with_retries
from ocrflow.providers.runner import run_provider, wait_for
from ocrflow.providers.settings import ProviderSettings
from ocrflow.samples import build_sample, scan_set

SETTINGS = ProviderSettings(endpoint="http://127.0.0.1:9", max_attempts=3, backoff_base_seconds=0.01,
                            backoff_cap_seconds=0.05, poll_deadline_seconds=30)


class MemoryProvider(Provider):
    name = "memory"
    limits = ProviderLimits(media_types=frozenset({"application/pdf"}), max_pages=2, max_concurrency=3,
                            cost_unit="page")
    settings_class = ProviderSettings

    def __init__(self, failures=None, async_polls=0):
        super().__init__(SETTINGS)
        self.failures = list(failures or [])
        self.async_polls = async_polls
        self.calls = 0
        self.lock = threading.Lock()

    def _page(self, global_index: int) -> Page:
        return Page(index=0, width=612, height=792, text=f"page {global_index}")

    def submit(self, part, request):
        with self.lock:
            self.calls += 1
            if self.failures:
                raise self.failures.pop(0)
        time.sleep(random.uniform(0, 0.02))  # parts finish out of order
        result = ProviderResult(pages=[self._page(part.first_page + i) for i in range(part.page_count)],
                                credits=Credits(used=part.page_count, remaining=100 - part.first_page))
        if self.async_polls:
            return JobHandle(provider=self.name, state={"first": part.first_page, "count": part.page_count,
                                                        "left": self.async_polls}, wait_seconds=1.5)
        return result

    def poll(self, handle):
        left = handle.state["left"] - 1
        if left > 0:
            return handle.model_copy(update={"state": {**handle.state, "left": left}, "polls": handle.polls + 1})
        first, count = handle.state["first"], handle.state["count"]
        return ProviderResult(pages=[self._page(first + i) for i in range(count)])


@pytest.fixture(scope="module")
def scan7():
    data = build_sample(scan_set(7))
    return data, inspect_document(data)


def test_parts_run_concurrently_and_merge_in_page_order(scan7):
    data, info = scan7
    outcome = run_provider(MemoryProvider(), SETTINGS, data, info, "scan.pdf", OcrRequest(), sleep=lambda s: None)
    assert [p.index for p in outcome.pages] == list(range(7))
    assert [p.text for p in outcome.pages] == [f"page {i}" for i in range(7)]
    assert outcome.parts == 4
    assert outcome.credits.used == 7 and outcome.credits.remaining == 94  # the lowest balance reported


def test_jobs_are_polled_after_the_suggested_wait(scan7):
    data, info = scan7
    waits = []
    outcome = run_provider(MemoryProvider(async_polls=2), SETTINGS, data, info, "scan.pdf", OcrRequest(),
                           sleep=waits.append)
    assert len(outcome.pages) == 7
    assert waits.count(1.5) == 4 * 2  # every part: two polls, each after the provider's wait


def test_transient_errors_are_retried_then_succeed(scan7):
    data, info = scan7
    provider = MemoryProvider(failures=[ThrottledError("slow down", retry_after=0.01), ProviderUnavailableError("503")])
    outcome = run_provider(provider, SETTINGS, data, info, "scan.pdf", OcrRequest(), sleep=lambda s: None)
    assert len(outcome.pages) == 7 and provider.calls == 4 + 2


def test_retries_are_bounded():
    calls = []

    def always_down():
        calls.append(1)
        raise ProviderUnavailableError("down")

    with pytest.raises(ProviderUnavailableError):
        with_retries(always_down, SETTINGS, sleep=lambda s: None)
    assert len(calls) == SETTINGS.max_attempts


def test_bad_input_is_never_retried():
    calls = []

    def bad():
        calls.append(1)
        raise DamagedPdfError("corrupt")

    with pytest.raises(DamagedPdfError):
        with_retries(bad, SETTINGS, sleep=lambda s: None)
    assert calls == [1]


def test_throttle_waits_at_least_retry_after():
    waits, attempts = [], iter([ThrottledError("429", retry_after=0.04), None])

    def call():
        error = next(attempts)
        if error:
            raise error
        return "ok"

    assert with_retries(call, SETTINGS, sleep=waits.append) == "ok"
    assert waits == [0.04]


def test_without_a_deadline_a_retry_after_above_the_cap_is_handed_back_not_waited_or_cut():
    """A Lambda step calls with no deadline: it must neither sleep 30 s nor ask again after the 0.05 s cap."""
    waits, calls = [], []

    def call():
        calls.append(1)
        raise ThrottledError("429", retry_after=30)

    with pytest.raises(ThrottledError) as caught:
        with_retries(call, SETTINGS, sleep=waits.append)
    assert caught.value.retryable and waits == [] and calls == [1]


@given(st.integers(min_value=1, max_value=8), st.floats(min_value=0, max_value=5), st.floats(min_value=0, max_value=60))
def test_backoff_never_exceeds_its_cap(attempt, base, cap):
    settings = SETTINGS.model_copy(update={"max_attempts": attempt + 1, "backoff_base_seconds": base,
                                           "backoff_cap_seconds": cap})
    waits = []
    failures = iter(range(attempt))

    def call():
        if next(failures, None) is not None:
            raise ProviderUnavailableError("x")
        return 1

    with_retries(call, settings, sleep=waits.append, rng=random.Random(attempt))
    assert len(waits) == attempt and all(0 <= w <= cap for w in waits)


def test_a_job_that_never_finishes_hits_the_deadline():
    provider = MemoryProvider(async_polls=10**9)
    clock = iter(range(0, 10**6, 10))
    handle = JobHandle(provider="memory", state={"first": 0, "count": 1, "left": 10**9}, wait_seconds=10)
    settings = SETTINGS.model_copy(update={"poll_deadline_seconds": 60})
    with pytest.raises(ProviderUnavailableError, match="did not finish") as caught:
        wait_for(provider, handle, settings, sleep=lambda s: None, clock=lambda: next(clock))
    assert caught.value.retryable is False


def test_handle_survives_a_json_round_trip():
    handle = JobHandle(provider="memory", state={"location": "https://x/status", "n": [1, 2]}, wait_seconds=3)
    assert JobHandle.model_validate_json(handle.model_dump_json()) == handle


def _blank_pdf(pages: int) -> bytes:
    import io

    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


class PdfMakingProvider(MemoryProvider):
    def __init__(self, skip_first: int | None = None):
        super().__init__()
        self.skip_first = skip_first

    def submit(self, part, request):
        result = super().submit(part, request)
        if part.first_page != self.skip_first:
            result.searchable_pdf = _blank_pdf(part.page_count)
        return result


def test_provider_pdfs_of_all_parts_are_concatenated(scan7):
    import io

    import pikepdf

    data, info = scan7
    outcome = run_provider(PdfMakingProvider(), SETTINGS, data, info, "scan.pdf", OcrRequest(), sleep=lambda s: None)
    with pikepdf.open(io.BytesIO(outcome.searchable_pdf)) as pdf:
        assert len(pdf.pages) == 7


def test_one_part_without_a_provider_pdf_means_ocrflow_builds_its_own(scan7):
    data, info = scan7
    outcome = run_provider(PdfMakingProvider(skip_first=2), SETTINGS, data, info, "scan.pdf", OcrRequest(),
                           sleep=lambda s: None)
    assert outcome.searchable_pdf is None
