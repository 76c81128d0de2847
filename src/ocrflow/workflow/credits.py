"""The credits seam: the workflow reserves pages before submit, commits what was used, releases on
failure. Order 5 puts the DynamoDB ledger behind this interface; until then nothing is charged."""

from __future__ import annotations

from typing import Protocol


class CreditLedger(Protocol):
    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        """Hold `pages` for the job, or raise QuotaExhaustedError. Idempotent per job."""

    def commit(self, tenant: str, job_id: str, pages: int) -> None:
        """Charge the pages actually processed and free the rest. Idempotent per job."""

    def release(self, tenant: str, job_id: str) -> None:
        """Free the whole reservation (failure or cancel). Idempotent per job."""


class FreeLedger:
    """No credits: every job may run, nothing is charged."""

    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        return None

    def commit(self, tenant: str, job_id: str, pages: int) -> None:
        return None

    def release(self, tenant: str, job_id: str) -> None:
        return None
