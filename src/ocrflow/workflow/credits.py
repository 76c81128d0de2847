"""Tenant credits, in pages: the workflow reserves a job's pages before submit, commits what was used (and
gives back the rest), or releases everything on failure.

`DynamoLedger` keeps them in the tenants table:
  TENANT#<id> / TENANT           credits: the balance (never below zero: every debit is conditional)
  TENANT#<id> / HOLD#<job id>    the job's reservation: pages, state held -> committed | released
  TENANT#<id> / USAGE#<period>#<provider>   pages, requests (period YYYY-MM and YYYY-MM-DD)
Each move of credits is one DynamoDB transaction with the reservation's state change, so a job is charged at
most once whatever retries or duplicate events happen, and concurrent jobs can never overspend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ocrflow.errors import InsufficientCreditsError


class CreditLedger(Protocol):
    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        """Hold `pages` for the job, or raise InsufficientCreditsError. Idempotent per job."""

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "") -> None:
        """Charge the pages actually processed, free the rest, count usage. Idempotent per job."""

    def release(self, tenant: str, job_id: str) -> None:
        """Free the whole reservation (failure or cancel). Idempotent per job."""


class FreeLedger:
    """No credits: every job may run, nothing is charged."""

    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        return None

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "") -> None:
        return None

    def release(self, tenant: str, job_id: str) -> None:
        return None


HELD, COMMITTED, RELEASED = "held", "committed", "released"


def tenant_key(tenant: str, sk: str = "TENANT") -> dict[str, str]:
    """The key of one of a tenant's items in the tenants table (its profile and balance by default)."""
    return {"pk": f"TENANT#{tenant}", "sk": sk}


class DynamoLedger:
    def __init__(self, table: Any, unmetered: frozenset[str] = frozenset({"default"}),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """`unmetered`: tenants that are never charged (the operator's own uploads, tenant `default`)."""
        self.table = table
        self.client = table.meta.client  # the resource's client: plain Python values, no type descriptors
        self.unmetered = unmetered
        self.now = now

    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        if tenant in self.unmetered:
            return
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": {**tenant_key(tenant, f"HOLD#{job_id}"), "pages": pages, "state": HELD,
                                  "created_at": self.now().isoformat()}}},
                {"Update": {"TableName": self.table.name, "Key": tenant_key(tenant, "TENANT"),
                            "UpdateExpression": "SET credits = credits - :pages",
                            "ConditionExpression": "credits >= :pages",
                            "ExpressionAttributeValues": {":pages": pages}}},
            ])
        except self.client.exceptions.TransactionCanceledException as exc:
            hold, balance = (reason.get("Code") for reason in exc.response.get("CancellationReasons", [{}, {}]))
            if hold == "ConditionalCheckFailed":
                return  # this job reserved before (a retried step, a duplicate event): nothing more to hold
            if balance == "ConditionalCheckFailed":
                raise InsufficientCreditsError(
                    f"tenant {tenant!r} has fewer than {pages} credits (pages) left; add credits and send the "
                    "document again", needed=pages) from None
            raise

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "") -> None:
        if tenant in self.unmetered:
            return
        hold = self._hold(tenant, job_id)
        if hold is None or hold["state"] != HELD:
            return  # committed or released before: charge once
        held = int(hold["pages"])
        used = max(0, min(pages, held))
        now = self.now()
        items = [self._settle(tenant, job_id, held, COMMITTED, used), self._refund(tenant, held - used)]
        for period in (now.strftime("%Y-%m"), now.strftime("%Y-%m-%d")):
            items.append({"Update": {
                "TableName": self.table.name, "Key": tenant_key(tenant, f"USAGE#{period}#{provider or 'unknown'}"),
                "UpdateExpression": "ADD pages :used, requests :one",
                "ExpressionAttributeValues": {":used": used, ":one": 1}}})
        self._settle_once(items)

    def release(self, tenant: str, job_id: str) -> None:
        if tenant in self.unmetered:
            return
        hold = self._hold(tenant, job_id)
        if hold is None or hold["state"] != HELD:
            return
        held = int(hold["pages"])
        self._settle_once([self._settle(tenant, job_id, held, RELEASED, 0), self._refund(tenant, held)])

    def _hold(self, tenant: str, job_id: str) -> dict[str, Any] | None:
        return self.table.get_item(Key=tenant_key(tenant, f"HOLD#{job_id}"), ConsistentRead=True).get("Item")

    def _settle(self, tenant: str, job_id: str, held: int, state: str, used: int) -> dict[str, Any]:
        """The reservation leaves `held` - only if it is still held with these pages (else the whole move is off)."""
        return {"Update": {
            "TableName": self.table.name, "Key": tenant_key(tenant, f"HOLD#{job_id}"),
            "UpdateExpression": "SET #state = :state, used = :used, settled_at = :at",
            "ConditionExpression": "#state = :held AND pages = :pages",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":state": state, ":used": used, ":held": HELD, ":pages": held,
                                          ":at": self.now().isoformat()}}}

    def _refund(self, tenant: str, pages: int) -> dict[str, Any]:
        return {"Update": {"TableName": self.table.name, "Key": tenant_key(tenant, "TENANT"),
                           "UpdateExpression": "ADD credits :pages", "ExpressionAttributeValues": {":pages": pages}}}

    def _settle_once(self, items: list[dict[str, Any]]) -> None:
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return  # a concurrent commit or release settled it first
            raise
