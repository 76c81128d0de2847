"""Provider quota windows in DynamoDB (moto), with real threads: limits hold under concurrency, a full window
counts nothing and says when it frees, windows roll over."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from ocrflow.errors import ConfigError, QuotaExhaustedError
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json, window_bounds

CONFIG = quotas_from_json('{"ocrspace": [{"per": "day", "requests": 5}, {"per": "month", "requests": 8}],'
                          ' "pdfmage": [{"per": "minute", "pages": 10}]}')
NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()



def taken(quotas: ProviderQuotas, provider: str, attempts: int, **amounts) -> int:
    """How many of `attempts` concurrent calls got quota."""

    def take(_: int) -> bool:
        try:
            quotas.take(provider, **amounts)
        except QuotaExhaustedError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=12) as pool:
        return sum(pool.map(take, range(attempts)))


def test_concurrent_calls_never_pass_a_window(table):
    quotas = ProviderQuotas(table, CONFIG, clock=lambda: NOON)
    assert taken(quotas, "ocrspace", 30) == 5
    assert quotas.used("ocrspace") == {"day": {"requests": 5, "pages": 0}, "month": {"requests": 5, "pages": 0}}
    with pytest.raises(QuotaExhaustedError) as full:
        quotas.take("ocrspace")
    assert full.value.details["retry_after"] == 12 * 3600  # the day ends at midnight UTC
    assert quotas.used("ocrspace")["month"]["requests"] == 5  # a refused call counts in no window


def test_windows_roll_over_and_the_longer_one_still_binds(table):
    clock = [NOON]
    quotas = ProviderQuotas(table, CONFIG, clock=lambda: clock[0])
    assert taken(quotas, "ocrspace", 6) == 5
    clock[0] = NOON + 86400  # the next day: a fresh daily window, the month keeps counting
    assert taken(quotas, "ocrspace", 6) == 3  # the month's 8 are used up first
    with pytest.raises(QuotaExhaustedError) as full:
        quotas.take("ocrspace")
    assert "month" in str(full.value)
    clock[0] = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert taken(quotas, "ocrspace", 2) == 2


def test_pages_windows_and_unlimited_providers(table):
    quotas = ProviderQuotas(table, CONFIG, clock=lambda: NOON)
    assert taken(quotas, "pdfmage", 8, pages=3) == 3  # 9 of 10 pages a minute
    with pytest.raises(QuotaExhaustedError):
        quotas.take("pdfmage", pages=11)  # never fits
    quotas.take("tesseract", pages=10_000)  # no windows configured: nothing counted
    assert quotas.used("tesseract") == {}


def test_window_bounds():
    assert window_bounds("minute", 125.5) == (120, 180)
    start, end = window_bounds("month", datetime(2028, 2, 10, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(start, UTC) == datetime(2028, 2, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(end, UTC) == datetime(2028, 3, 1, tzinfo=UTC)  # a leap February


def test_a_window_must_limit_something():
    with pytest.raises(ConfigError, match="OCRFLOW_QUOTAS.*limits requests, pages or both"):
        quotas_from_json('{"adobe": [{"per": "month"}]}')
