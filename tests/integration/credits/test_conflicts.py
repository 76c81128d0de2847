"""DynamoDB cancels concurrent transactions on one item with TransactionConflict (moto never does: injected
here). The ledger tries again with full-jitter back-off and, when the conflicts persist, raises the retryable
LedgerBusyError - never a raw botocore error."""

from __future__ import annotations

import pytest

from ocrflow.api.tenants import TenantDirectory
from ocrflow.errors import LedgerBusyError, OcrflowError, ThrottledError
from ocrflow.workflow.credits import REREAD_TRIES, DynamoLedger
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json
from ocrflow.workflow.transactions import BACKOFF_BASE_SECONDS, CONFLICT_TRIES


class Cancelling:
    """Wraps the table's client: the next `times` transactions are cancelled with `code` on item `position`."""

    def __init__(self, table, times: int, code: str = "TransactionConflict", position: int = 1,
                 when=lambda items: True) -> None:
        self.client, self.times, self.code, self.position, self.when = table.meta.client, times, code, position, when
        self.real, self.cancelled = self.client.transact_write_items, 0
        self.client.transact_write_items = self

    def __call__(self, **kwargs):
        items = kwargs["TransactItems"]
        if self.cancelled < self.times and self.when(items):
            self.cancelled += 1
            reasons = [{"Code": self.code if index == self.position else "None"} for index in range(len(items))]
            raise self.client.exceptions.TransactionCanceledException(
                {"Error": {"Code": "TransactionCanceledException", "Message": f"Transaction cancelled [{self.code}]"},
                 "CancellationReasons": reasons}, "TransactWriteItems")
        return self.real(**kwargs)


@pytest.fixture
def waits() -> list[float]:
    """The back-off waits the ledger asked for (none is really slept)."""
    return []


@pytest.fixture
def ledger(table, waits):
    TenantDirectory(table).create("acme", credits=10)
    return DynamoLedger(table, sleep=waits.append)


def credits(table) -> int:
    return TenantDirectory(table).get("acme", consistent=True).credits


def test_conflicts_are_retried_with_growing_jittered_waits(table, ledger, waits):
    conflicts = Cancelling(table, times=5)
    ledger.reserve("acme", "job-1", 4)
    assert conflicts.cancelled == 5 and credits(table) == 6 and len(waits) == 5
    assert all(0 <= wait <= BACKOFF_BASE_SECONDS * 2 ** attempt for attempt, wait in enumerate(waits))
    Cancelling(table, times=3)
    ledger.commit("acme", "job-1", 3, "tesseract")
    Cancelling(table, times=3)
    ledger.commit("acme", "job-1", 3, "tesseract")  # a repeat after conflicts still charges once
    assert credits(table) == 7


@pytest.mark.parametrize("step", ["reserve", "commit", "release"])
def test_persistent_conflicts_become_ledger_busy(table, ledger, step):
    if step != "reserve":
        ledger.reserve("acme", "job-1", 4)
    conflicts = Cancelling(table, times=1000)
    with pytest.raises(LedgerBusyError) as busy:
        if step == "reserve":
            ledger.reserve("acme", "job-1", 4)
        elif step == "commit":
            ledger.commit("acme", "job-1", 2, "tesseract")
        else:
            ledger.release("acme", "job-1")
    assert conflicts.cancelled == CONFLICT_TRIES and busy.value.retryable
    assert busy.value.to_record()["code"] == "ledger_busy" and "acme" in str(busy.value)
    conflicts.times = 0  # the state machine's retry, later: it goes through, once
    {"reserve": lambda: ledger.reserve("acme", "job-1", 4),
     "commit": lambda: ledger.commit("acme", "job-1", 2, "tesseract"),
     "release": lambda: ledger.release("acme", "job-1")}[step]()
    assert credits(table) == {"reserve": 6, "commit": 8, "release": 10}[step]


def test_spending_that_keeps_moving_the_shards_is_busy_not_insufficient(table):
    TenantDirectory(table).create("multi", credits=8, credit_shards=8)  # 1 a shard: 3 pages need several
    ledger = DynamoLedger(table, sleep=lambda _: None)
    gathering = Cancelling(table, times=1000, code="ConditionalCheckFailed", when=lambda items: len(items) > 2)
    with pytest.raises(LedgerBusyError):
        ledger.reserve("multi", "job-1", 3)
    assert gathering.cancelled == REREAD_TRIES
    assert TenantDirectory(table).get("multi").credits == 8


def test_other_cancellations_are_typed_errors(table, ledger):
    Cancelling(table, times=1, code="ValidationError", position=0)
    with pytest.raises(OcrflowError, match="ValidationError") as refused:
        ledger.reserve("acme", "job-1", 4)
    assert type(refused.value) is OcrflowError and not refused.value.retryable


def test_quota_takes_share_the_conflict_retries_and_end_throttled(table):
    """Provider quota windows go through the same contended-transaction path: conflicts are retried, then
    the take is throttled (retryable) and counts nothing; other refusals are typed, never raw botocore."""
    quotas = ProviderQuotas(table, quotas_from_json('{"ocrspace": [{"per": "day", "requests": 5}]}'),
                            clock=lambda: 1_800_000_000.0, sleep=lambda _: None)
    conflicts = Cancelling(table, times=3, position=0)
    quotas.take("ocrspace")
    assert conflicts.cancelled == 3 and quotas.used("ocrspace")["day"]["requests"] == 1
    Cancelling(table, times=1000, position=0)
    with pytest.raises(ThrottledError) as busy:
        quotas.take("ocrspace")
    assert busy.value.retryable and busy.value.details["provider"] == "ocrspace"
    Cancelling(table, times=1, code="ValidationError", position=0)
    with pytest.raises(OcrflowError, match="quota transaction of 'ocrspace' was refused"):
        quotas.take("ocrspace")
