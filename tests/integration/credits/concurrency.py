"""Reservations fired at once from real threads, as concurrent Lambdas would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ocrflow.errors import InsufficientCreditsError
from ocrflow.workflow.credits import DynamoLedger


def granted_reservations(ledger: DynamoLedger, tenant: str, jobs: int, pages: int, threads: int = 16) -> int:
    """How many of `jobs` concurrent reservations of `pages` each the ledger granted."""

    def reserve(job: int) -> bool:
        try:
            ledger.reserve(tenant, f"job-{job}", pages)
        except InsufficientCreditsError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(reserve, range(jobs)))
