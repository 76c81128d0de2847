"""A busy tenant's credits spread over balance shards (moto, real threads, DynamoDB's write isolation): jobs
debit their home shard, gather from several when it runs short, never overspend, are charged once; the
operator spreads, removes and re-shards credits without losing a page."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocrflow.api.errors import TenantNotFoundError
from ocrflow.api.tenants import InvalidCreditShardsError, TenantDirectory
from ocrflow.errors import InsufficientCreditsError
from ocrflow.workflow.credits import DynamoLedger, read_balances, stable_slot
from tests.aws_resources import create_tenants_table
from tests.integration.credits.concurrency import granted_reservations


def shards(table, tenant="acme") -> dict[int, int]:
    return read_balances(table, tenant).credits


def holds(table, tenant="acme") -> list[dict]:
    items = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :hold)",
                        ExpressionAttributeValues={":pk": f"TENANT#{tenant}", ":hold": "HOLD#"})["Items"]
    return items


def job_on_shard(shard: int, count: int, prefix: str = "job") -> str:
    """A job id whose home is `shard` of `count`."""
    return next(f"{prefix}-{n}" for n in range(1000) if stable_slot(f"{prefix}-{n}", count) == shard)


def test_concurrent_reservations_on_eight_shards_never_overspend(table):
    TenantDirectory(table).create("acme", credits=10, credit_shards=8)
    assert shards(table) == {0: 3, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1}
    ledger = DynamoLedger(table)
    lowest, running = [0], threading.Event()

    def watch() -> None:
        while not running.is_set():
            lowest[0] = min(lowest[0], *shards(table).values())

    watcher = threading.Thread(target=watch)
    watcher.start()
    granted = granted_reservations(ledger, "acme", jobs=40, pages=3)
    running.set()
    watcher.join()
    assert granted == 3 and sum(shards(table).values()) == 1 and lowest == [0]
    gathered = [hold for hold in holds(table) if len(hold["shards"]) > 1]
    assert len(gathered) >= 2  # only shard 0 holds 3 pages alone: the others gathered from several shards
    assert all(sum(hold["shards"].values()) == 3 for hold in holds(table))


def test_duplicate_commits_and_releases_charge_once(table):
    TenantDirectory(table).create("acme", credits=16, credit_shards=8)  # 2 a shard
    ledger = DynamoLedger(table)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ledger.reserve("acme", "job-a", 5), range(8)))  # gathered from 3 shards
        list(pool.map(lambda _: ledger.reserve("acme", "job-b", 2), range(8)))
    assert sum(shards(table).values()) == 9
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: ledger.commit("acme", "job-a", 4, "ocrspace", cost=0.01), range(8)))
        list(pool.map(lambda _: ledger.release("acme", "job-b"), range(8)))
    ledger.release("acme", "job-a")
    ledger.commit("acme", "job-b", 2, "ocrspace")
    assert sum(shards(table).values()) == 12  # 16 - 4: job-a's unused page and all of job-b came back once
    assert [(u.pages, u.requests) for u in TenantDirectory(table).usage("acme")] == [(4, 1), (4, 1)]


def test_a_refund_to_a_shard_removed_meanwhile_goes_to_shard_zero(table):
    tenants = TenantDirectory(table)
    tenants.create("acme", credits=80, credit_shards=8)
    ledger = DynamoLedger(table)
    committed, released = job_on_shard(5, 8, "commit"), job_on_shard(6, 8, "release")
    ledger.reserve("acme", committed, 6)
    ledger.reserve("acme", released, 4)
    assert tenants.set_credit_shards("acme", 2).credits == 70
    ledger.commit("acme", committed, 1, "tesseract")
    ledger.release("acme", released)
    # the 70 left spread over two shards, then the refunds meant for shards 5 and 6 (5 and 4) on shard 0
    assert shards(table) == {0: 35 + 5 + 4, 1: 35} and tenants.get("acme").credits == 79
    # the ledger still believes in 8 shards: a home shard that is gone sends it to read them all
    ledger.reserve("acme", job_on_shard(7, 8, "late"), 20)
    assert shards(table) == {0: 24, 1: 35}  # all from the fullest shard


def test_credits_added_are_spread_and_removed_conditionally(table):
    tenants = TenantDirectory(table)
    tenants.create("acme", credits=10, credit_shards=4)
    assert shards(table) == {0: 4, 1: 2, 2: 2, 3: 2}
    assert tenants.credit("acme", 7) == 17 and shards(table) == {0: 8, 1: 3, 2: 3, 3: 3}
    assert tenants.credit("acme", -12) == 5 and min(shards(table).values()) >= 0
    with pytest.raises(InsufficientCreditsError, match="fewer than 6 credits"):
        tenants.credit("acme", -6)
    assert tenants.get("acme").credits == 5 and tenants.credit("acme", 0) == 5
    assert [(t.tenant_id, t.credits, t.credit_shards) for t in tenants.list()] == [("acme", 5, 4)]
    with pytest.raises(TenantNotFoundError):
        tenants.credit("nobody", 5)


def test_resharding_keeps_the_total_and_spreads_it(table):
    tenants = TenantDirectory(table)
    tenants.create("acme", credits=9)
    grown = tenants.set_credit_shards("acme", 4)  # the balance is spread at once: growing helps immediately
    assert (grown.credit_shards, grown.credits) == (4, 9) and shards(table) == {0: 3, 1: 2, 2: 2, 3: 2}
    tenants.credit("acme", 8)  # new credits go to every shard
    assert shards(table) == {0: 5, 1: 4, 2: 4, 3: 4}
    shrunk = tenants.set_credit_shards("acme", 2)
    assert (shrunk.credit_shards, shrunk.credits) == (2, 17) and shards(table) == {0: 9, 1: 8}
    assert tenants.set_credit_shards("acme", 2).credits == 17  # unchanged: nothing to do
    assert not [item for item in table.scan()["Items"] if item["sk"] in ("CREDITS#2", "CREDITS#3")]
    for wrong in (0, 33):
        with pytest.raises(InvalidCreditShardsError):
            tenants.set_credit_shards("acme", wrong)
    with pytest.raises(InvalidCreditShardsError):
        tenants.create("beta", credit_shards=40)


def test_a_busy_tenant_authenticates_with_its_whole_balance(table):
    tenants = TenantDirectory(table)
    key = tenants.create("acme", credits=1000, credit_shards=32).api_key
    assert tenants.authenticate(key).tenant.credits == 1000
    ledger = DynamoLedger(table)
    ledger.reserve("acme", "job-1", 999)  # 32 shards and the hold: one transaction
    assert len(holds(table)[0]["shards"]) == 32 and tenants.authenticate(key).tenant.credits == 1


@settings(max_examples=25, deadline=None)
@given(shard_count=st.sampled_from([1, 2, 3, 8, 32]), start=st.integers(0, 60),
       jobs=st.lists(st.tuples(st.integers(1, 15), st.integers(0, 15),
                               st.sampled_from(["commit", "release", "commit twice", "release, then commit"])),
                     max_size=8))
def test_the_total_is_start_minus_committed_pages(shard_count, start, jobs):
    """Whatever the shards, sizes and outcomes - reserved all at once, settled later, so refunds drift between
    shards: the total is the start minus the pages committed, and no shard goes below zero."""
    with mock_aws():
        table = create_tenants_table(boto3.resource("dynamodb", region_name="us-east-1"))
        TenantDirectory(table).create("acme", credits=start, credit_shards=shard_count)
        ledger = DynamoLedger(table)
        available, granted = start, []
        for index, (pages, used, outcome) in enumerate(jobs):
            try:
                ledger.reserve("acme", f"job-{index}", pages)
            except InsufficientCreditsError:
                assert pages > available
                continue
            available -= pages
            granted.append((f"job-{index}", pages, used, outcome))
            assert sum(shards(table).values()) == available
        committed = 0
        for job, pages, used, outcome in granted:
            if outcome.startswith("commit"):
                ledger.commit("acme", job, used, "tesseract")
                committed += min(used, pages)
            else:
                ledger.release("acme", job)
            if outcome.endswith("twice") or outcome.endswith("commit"):
                ledger.commit("acme", job, used, "tesseract")
        balances = shards(table)
        assert sum(balances.values()) == start - committed and min(balances.values()) >= 0
