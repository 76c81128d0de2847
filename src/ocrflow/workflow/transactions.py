"""DynamoDB transactions that concurrent writers contend for - a busy tenant's balance, a provider's quota
window. Concurrent transactions touching the same item cancel each other (TransactionConflict) instead of
queueing; they are tried again after a full-jitter exponential back-off, and when the contention persists the
caller's own retryable error is raised, never a raw botocore one."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from ocrflow.errors import OcrflowError

CONFLICT_TRIES = 8  # transaction attempts while DynamoDB reports conflicts
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.02, 1.0
_RETRIED_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                            "RequestLimitExceeded"})


def transact_contended(client: Any, items: list[dict[str, Any]], *, what: str, busy: Callable[[], OcrflowError],
                       sleep: Callable[[float], None] = time.sleep) -> frozenset[int]:
    """Write `items` in one transaction: the positions of the items whose condition failed (nothing written),
    or an empty set (all written). `what` names the transaction in the error of an unexpected refusal; `busy`
    makes the error raised when conflicts outlast the retries."""
    for attempt in range(CONFLICT_TRIES):
        if attempt:
            sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))))
        try:
            client.transact_write_items(TransactItems=items)
            return frozenset()
        except client.exceptions.TransactionCanceledException as exc:
            codes = [reason.get("Code") or "None" for reason in exc.response.get("CancellationReasons", [])]
        failed = frozenset(index for index, code in enumerate(codes) if code == "ConditionalCheckFailed")
        if failed:
            return failed
        unexpected = set(codes) - _RETRIED_CODES - {"None"}
        if unexpected or not codes:
            raise OcrflowError(f"{what} was refused ({', '.join(sorted(unexpected)) or 'no reason given'})")
    raise busy()
