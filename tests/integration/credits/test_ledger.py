"""Tenant credits in DynamoDB (moto) under real concurrency: reservations fired at once never overspend, a job
is charged once whatever is repeated, failures give everything back, usage is counted per period."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import InsufficientCreditsError
from ocrflow.workflow.credits import DynamoLedger
from tests.aws_resources import create_tenants_table
from tests.integration.credits.concurrency import granted_reservations

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)



def balance(table, tenant="acme") -> int:
    return int(table.get_item(Key={"pk": f"TENANT#{tenant}", "sk": "TENANT"})["Item"]["credits"])


def test_many_reservations_at_once_never_overspend(table):
    TenantDirectory(table).create("acme", credits=10)
    granted = granted_reservations(DynamoLedger(table), "acme", jobs=40, pages=3)
    assert granted == 3 and balance(table) == 1  # 3 x 3 pages held, 1 left, never below zero


def test_a_job_is_reserved_and_charged_once_whatever_is_repeated(table):
    TenantDirectory(table).create("acme", credits=20)
    ledger = DynamoLedger(table, now=lambda: NOW)
    with ThreadPoolExecutor(max_workers=8) as pool:  # duplicate events, retried steps
        list(pool.map(lambda _: ledger.reserve("acme", "job-1", 5), range(8)))
    assert balance(table) == 15
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ledger.commit("acme", "job-1", 4, "tesseract"), range(8)))
    assert balance(table) == 16  # 4 charged, 1 given back, once
    ledger.release("acme", "job-1")  # a late failure path changes nothing
    ledger.reserve("acme", "job-1", 5)  # nor does a replayed reservation
    assert balance(table) == 16
    usage = {(item["pk"], item["sk"].rsplit("#", 1)[0]): (int(item["pages"]), int(item["requests"]))
             for item in table.scan()["Items"] if item["sk"].startswith("USAGE#")}
    assert usage == {("TENANT#acme", "USAGE#2026-11#tesseract"): (4, 1),
                     ("TENANT#acme", "USAGE#2026-11-21#tesseract"): (4, 1),
                     ("PROVIDER#tesseract", "USAGE#2026-11"): (4, 1),
                     ("PROVIDER#tesseract", "USAGE#2026-11-21"): (4, 1)}


def test_failed_jobs_release_everything_once(table):
    TenantDirectory(table).create("acme", credits=9)
    ledger = DynamoLedger(table)
    ledger.reserve("acme", "job-1", 7)
    with pytest.raises(InsufficientCreditsError):
        ledger.reserve("acme", "job-2", 7)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ledger.release("acme", "job-1"), range(8)))
    assert balance(table) == 9
    ledger.commit("acme", "job-1", 7, "tesseract")  # committing a released job charges nothing
    assert balance(table) == 9
    ledger.reserve("acme", "job-2", 7)
    assert balance(table) == 2


def test_the_operators_own_uploads_are_not_metered_but_counted_once(table):
    ledger = DynamoLedger(table, now=lambda: NOW)
    ledger.reserve("default", "job-1", 500)
    assert table.scan()["Items"] == []  # nothing held: there is no balance
    with ThreadPoolExecutor(max_workers=8) as pool:  # a retried finalize step, duplicate events
        list(pool.map(lambda _: ledger.commit("default", "job-1", 500, "tesseract", cost=0.25), range(8)))
    ledger.release("default", "job-1")
    usage = TenantDirectory(table).usage("default")
    assert [(u.period, u.pages, u.requests, u.cost) for u in usage] == [("2026-11", 500, 1, 0.25),
                                                                        ("2026-11-21", 500, 1, 0.25)]
    assert not any(item["sk"] == "TENANT" or item["sk"].startswith("CREDITS#") for item in table.scan()["Items"])


def test_an_unknown_tenant_cannot_reserve(table):
    with pytest.raises(InsufficientCreditsError):
        DynamoLedger(table).reserve("nobody", "job-1", 1)


@settings(max_examples=30, deadline=None)
@given(start=st.integers(0, 50), jobs=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 12),
                                                         st.sampled_from(["commit", "release"])), max_size=8))
def test_credits_arithmetic_balances(start, jobs):
    """Whatever the sizes and outcomes: balance = start - pages committed, and never below zero."""
    with mock_aws():
        table = create_tenants_table(boto3.resource("dynamodb", region_name="us-east-1"))
        TenantDirectory(table).create("acme", credits=start)
        ledger = DynamoLedger(table)
        expected = start
        for index, (pages, used, outcome) in enumerate(jobs):
            try:
                ledger.reserve("acme", f"job-{index}", pages)
            except InsufficientCreditsError:
                assert pages > expected
                continue
            assert balance(table) == expected - pages >= 0
            if outcome == "commit":
                ledger.commit("acme", f"job-{index}", used, "tesseract")
                expected -= min(used, pages)
            else:
                ledger.release("acme", f"job-{index}")
            assert balance(table) == expected
