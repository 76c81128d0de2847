"""Tenant credits, in pages: the workflow reserves a job's pages before submit, commits what was used (and
gives back the rest), or releases everything on failure; every commit counts the tenant's and the provider's
usage (pages, requests, cost in USD).

`DynamoLedger` keeps them in the tenants table:
  TENANT#<id> / TENANT        credits: balance shard 0; credit_shards: N, the tenant's shard count (default 1)
  TENANT#<id> / CREDITS#<k>   credits: balance shard k, 1 <= k < N (exists exactly while k < N)
  TENANT#<id> / HOLD#<job id> the job's reservation: pages, shards {"k": pages taken from shard k},
                              state held -> committed | released (used, cost, provider when settled)
  TENANT#<id> / USAGE#<period>#<provider>#<s>    pages, requests, cost  (counter shard s of USAGE_SHARDS)
  PROVIDER#<name> / USAGE#<period>#<s>           pages, requests, cost  (period: YYYY-MM and YYYY-MM-DD)
A tenant's balance is the sum of its shards. Every balance item is a DynamoDB item that concurrent
transactions fight over, so a busy tenant gets several (`ocrflow tenants shards`): a job debits its home shard
(a stable hash of the job id) and only reads every shard when that one runs short. Usage counters are sharded
the same way by job id. Each move of credits is one transaction with the reservation's state change, so a job
is charged at most once whatever retries or duplicate events happen, and concurrent jobs can never overspend.
Readers of usage sum the shards: `ocrflow.workflow.usage`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from ocrflow.errors import InsufficientCreditsError, LedgerBusyError
from ocrflow.workflow.transactions import transact_contended

MAX_CREDIT_SHARDS = 32  # 32 debits + the hold fit one transaction (DynamoDB allows 100 items)
USAGE_SHARDS = 8  # counter items per tenant (and per provider), period and provider
REREAD_TRIES = 5  # read-all-shards-then-write attempts while concurrent spending moves the balances
SHARD_COUNT_TTL_SECONDS = 60.0  # how long a ledger trusts a tenant's shard count it read


class CreditLedger(Protocol):
    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        """Hold `pages` for the job, or raise InsufficientCreditsError. Idempotent per job."""

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "", cost: float = 0.0) -> None:
        """Charge the pages actually processed, free the rest, count usage and the provider's `cost` (USD).
        Idempotent per job."""

    def release(self, tenant: str, job_id: str) -> None:
        """Free the whole reservation (failure or cancel). Idempotent per job."""


class FreeLedger:
    """No credits: every job may run, nothing is charged."""

    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        return None

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "", cost: float = 0.0) -> None:
        return None

    def release(self, tenant: str, job_id: str) -> None:
        return None


HELD, COMMITTED, RELEASED = "held", "committed", "released"


def tenant_key(tenant: str, sk: str = "TENANT") -> dict[str, str]:
    """The key of one of a tenant's items in the tenants table (its profile and balance by default)."""
    return {"pk": f"TENANT#{tenant}", "sk": sk}


def shard_key(tenant: str, shard: int) -> dict[str, str]:
    """Balance shard 0 is the profile itself, so a one-shard tenant has the layout (and reads) of old."""
    return tenant_key(tenant) if shard == 0 else tenant_key(tenant, f"CREDITS#{shard}")


def stable_slot(job_id: str, slots: int) -> int:
    """The job's slot among `slots`, the same in every process (Python's hash() is salted per process)."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16) % slots


def usd(cost: float) -> Decimal:
    """A cost as DynamoDB stores it: a Decimal of at most 6 places (floats are not accepted)."""
    return Decimal(str(cost)).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class Balances:
    """A tenant's balance per existing shard (shard 0: the profile's `credits`) and its shard count."""

    shards: int
    credits: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.credits.values())


def read_balances(table: Any, tenant: str, profile: dict[str, Any] | None = None,
                  consistent: bool = True) -> Balances:
    """Every shard of the tenant: the profile (`profile` when the caller read it already) and, for more than
    one shard, one Query of its CREDITS# items (at most 31 small items: one page). No tenant: no credits."""
    if profile is None:
        profile = table.get_item(Key=tenant_key(tenant), ConsistentRead=consistent).get("Item") or {}
    shards = int(profile.get("credit_shards", 1))
    credits = {0: int(profile.get("credits", 0))} if profile else {}
    if shards > 1:
        items = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :shard)", ConsistentRead=consistent,
                            ExpressionAttributeValues={":pk": tenant_key(tenant)["pk"], ":shard": "CREDITS#"})
        credits.update({int(item["sk"].split("#")[1]): int(item.get("credits", 0)) for item in items["Items"]})
    return Balances(shards=shards, credits=credits)


def plan_debit(credits: dict[int, int], pages: int) -> dict[int, int]:
    """Which shards give how many of `pages` (their total must cover it): the fullest first, so a debit
    touches as few items as it can."""
    parts: dict[int, int] = {}
    for shard, balance in sorted(credits.items(), key=lambda pair: (-pair[1], pair[0])):
        take = min(balance, pages - sum(parts.values()))
        if take > 0:
            parts[shard] = take
    return parts


def spread(pages: int, shards: int) -> dict[int, int]:
    """`pages` split evenly over the shards, the remainder on shard 0."""
    share, remainder = divmod(pages, shards)
    return {shard: share + (remainder if shard == 0 else 0) for shard in range(shards)}


def debit_update(table_name: str, tenant: str, shard: int, pages: int) -> dict[str, Any]:
    """Take `pages` from a shard only if it holds them (a removed shard holds nothing)."""
    return {"Update": {"TableName": table_name, "Key": shard_key(tenant, shard),
                       "UpdateExpression": "SET credits = credits - :pages", "ConditionExpression": "credits >= :pages",
                       "ExpressionAttributeValues": {":pages": pages}}}


def credit_update(table_name: str, tenant: str, shard: int, pages: int) -> dict[str, Any]:
    """Give `pages` to a shard. Shards above 0 must still exist: ADD on a shard removed by a concurrent
    `set_credit_shards` would bring it back beyond the tenant's shard count, where a one-shard tenant's reads
    never look (the ledger then gives those pages to shard 0)."""
    update: dict[str, Any] = {"TableName": table_name, "Key": shard_key(tenant, shard),
                              "UpdateExpression": "ADD credits :pages", "ExpressionAttributeValues": {":pages": pages}}
    if shard:
        update["ConditionExpression"] = "attribute_exists(pk)"
    return {"Update": update}


def transact(client: Any, items: list[dict[str, Any]], tenant: str,
             sleep: Callable[[float], None] = time.sleep) -> frozenset[int]:
    """A credits transaction of `tenant` (`transactions.transact_contended`): the positions of the items whose
    condition failed, or an empty set; persistent conflicts on a busy tenant's balance are LedgerBusyError."""
    return transact_contended(client, items, what=f"the credits transaction of tenant {tenant!r}", sleep=sleep,
                              busy=lambda: LedgerBusyError(
                                  f"tenant {tenant!r}: too many concurrent updates of its credits right now; "
                                  "try again in a moment (more credit shards help a tenant this busy)",
                                  tenant=tenant))


def usage_counters(table_name: str, tenant: str, provider: str, job_id: str, pages: int, cost: Decimal,
                   now: datetime) -> list[dict[str, Any]]:
    """The job's counts in the tenant's and the provider's usage of this month and day: one counter shard
    of each, picked by job id, so concurrent commits spread over USAGE_SHARDS items."""
    slot = stable_slot(job_id, USAGE_SHARDS)
    provider = provider or "unknown"
    keys = []
    for period in (now.strftime("%Y-%m"), now.strftime("%Y-%m-%d")):
        keys += [tenant_key(tenant, f"USAGE#{period}#{provider}#{slot}"),
                 {"pk": f"PROVIDER#{provider}", "sk": f"USAGE#{period}#{slot}"}]
    return [{"Update": {"TableName": table_name, "Key": key,
                        "UpdateExpression": "ADD pages :pages, requests :one, cost :cost",
                        "ExpressionAttributeValues": {":pages": pages, ":one": 1, ":cost": cost}}} for key in keys]


def _insufficient(tenant: str, pages: int) -> InsufficientCreditsError:
    return InsufficientCreditsError(f"tenant {tenant!r} has fewer than {pages} credits (pages) left; add credits "
                                    "and send the document again", needed=pages)


class DynamoLedger:
    def __init__(self, table: Any, unmetered: frozenset[str] = frozenset({"default"}),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`unmetered`: tenants that are never charged (the operator's own uploads, tenant `default`); their
        usage is still counted. `sleep`: the back-off between conflicting transactions."""
        self.table = table
        self.client = table.meta.client  # the resource's client: plain Python values, no type descriptors
        self.unmetered = unmetered
        self.now = now
        self.sleep = sleep
        self._shard_counts: dict[str, tuple[int, float]] = {}

    # --- reserve -----------------------------------------------------------------------------------------

    def reserve(self, tenant: str, job_id: str, pages: int) -> None:
        """One transaction in the common case: the hold and the debit of the job's home shard."""
        if tenant in self.unmetered:
            return
        home = stable_slot(job_id, self._shard_count(tenant))
        failed = self._write(tenant, [self._hold(tenant, job_id, pages, {home: pages}),
                                      debit_update(self.table.name, tenant, home, pages)])
        if not failed or 0 in failed:
            return  # reserved now, or before (a retried step, a duplicate event): nothing more to hold
        self._reserve_across_shards(tenant, job_id, pages)

    def _reserve_across_shards(self, tenant: str, job_id: str, pages: int) -> None:
        """The home shard is short: read every shard and debit several in one transaction, each only if it
        still holds its part. Concurrent jobs spending meanwhile fail that condition: read again, a few times."""
        for attempt in range(REREAD_TRIES + 1):
            balances = read_balances(self.table, tenant)
            self._remember(tenant, balances.shards)
            if balances.total < pages:
                raise _insufficient(tenant, pages)
            if attempt == REREAD_TRIES:
                break
            parts = plan_debit(balances.credits, pages)
            failed = self._write(tenant, [self._hold(tenant, job_id, pages, parts),
                                          *(debit_update(self.table.name, tenant, k, n) for k, n in parts.items())])
            if not failed or 0 in failed:
                return
        raise LedgerBusyError(f"tenant {tenant!r}: its credits keep moving under concurrent jobs; try again in a "
                              "moment", tenant=tenant)

    def _hold(self, tenant: str, job_id: str, pages: int, parts: dict[int, int]) -> dict[str, Any]:
        return {"Put": {"TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
                        "Item": {**tenant_key(tenant, f"HOLD#{job_id}"), "pages": pages, "state": HELD,
                                 "shards": {str(k): n for k, n in parts.items()},
                                 "created_at": self.now().isoformat()}}}

    def _shard_count(self, tenant: str) -> int:
        """The tenant's shard count, read at most once a minute per ledger (a warm Lambda keeps its ledger).
        A stale count is safe: a debit of a shard that is gone fails its condition and takes the path that
        reads every shard; a count that grew meanwhile just leaves the new shards to that path for a while."""
        cached = self._shard_counts.get(tenant)
        if cached and time.monotonic() - cached[1] < SHARD_COUNT_TTL_SECONDS:
            return cached[0]
        item = self.table.get_item(Key=tenant_key(tenant), ProjectionExpression="credit_shards").get("Item") or {}
        return self._remember(tenant, int(item.get("credit_shards", 1)))

    def _remember(self, tenant: str, shards: int) -> int:
        self._shard_counts[tenant] = (shards, time.monotonic())
        return shards

    # --- commit and release ------------------------------------------------------------------------------

    def commit(self, tenant: str, job_id: str, pages: int, provider: str = "", cost: float = 0.0) -> None:
        now, dollars = self.now(), usd(cost)
        if tenant in self.unmetered:
            self._count_unmetered(tenant, job_id, pages, provider, dollars, now)
            return
        hold = self._read_hold(tenant, job_id)
        if hold is None or hold["state"] != HELD:
            return  # committed or released before: charge once
        held = int(hold["pages"])
        used = max(0, min(pages, held))
        refunds = {_home(hold): held - used} if held > used else {}
        self._settle(tenant, job_id, held, refunds, COMMITTED, {"used": used, "cost": dollars, "provider": provider},
                     usage_counters(self.table.name, tenant, provider, job_id, used, dollars, now))

    def release(self, tenant: str, job_id: str) -> None:
        """Every page goes back to the shard it came from."""
        if tenant in self.unmetered:
            return
        hold = self._read_hold(tenant, job_id)
        if hold is None or hold["state"] != HELD:
            return
        refunds = {shard: pages for shard, pages in _parts(hold).items() if pages}
        self._settle(tenant, job_id, int(hold["pages"]), refunds, RELEASED, {"used": 0}, [])

    def _count_unmetered(self, tenant: str, job_id: str, pages: int, provider: str, cost: Decimal,
                         now: datetime) -> None:
        """No balance, but usage counted once per job: the committed hold is created with the counts."""
        settled = {"pages": pages, "used": pages, "cost": cost, "provider": provider, "state": COMMITTED,
                   "created_at": now.isoformat(), "settled_at": now.isoformat()}
        self._write(tenant, [
            {"Put": {"TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {**tenant_key(tenant, f"HOLD#{job_id}"), **settled}}},
            *usage_counters(self.table.name, tenant, provider, job_id, pages, cost, now)])

    def _read_hold(self, tenant: str, job_id: str) -> dict[str, Any] | None:
        return self.table.get_item(Key=tenant_key(tenant, f"HOLD#{job_id}"), ConsistentRead=True).get("Item")

    def _settle(self, tenant: str, job_id: str, held: int, refunds: dict[int, int], state: str,
                fields: dict[str, Any], counters: list[dict[str, Any]]) -> None:
        """One transaction: the reservation leaves `held` (only if it is still held with these pages, else a
        concurrent commit or release settled it and nothing happens), the refunds, the usage counters. A refund
        to a shard removed meanwhile goes to shard 0 instead."""
        while True:
            shards = list(refunds)
            failed = self._write(tenant, [self._settled(tenant, job_id, held, state, fields),
                                          *(credit_update(self.table.name, tenant, k, n) for k, n in refunds.items()),
                                          *counters])
            if not failed or 0 in failed:
                return
            gone = {shards[index - 1] for index in failed}  # only shards above 0 have a condition: this ends
            refunds = {0: sum(refunds.pop(k) for k in gone) + refunds.pop(0, 0), **refunds}

    def _settled(self, tenant: str, job_id: str, held: int, state: str, fields: dict[str, Any]) -> dict[str, Any]:
        names = {f"#{name}": name for name in ("state", *fields)}
        values = {f":{name}": value for name, value in fields.items()}
        assignments = ", ".join(f"#{name} = :{name}" for name in ("state", *fields))
        return {"Update": {
            "TableName": self.table.name, "Key": tenant_key(tenant, f"HOLD#{job_id}"),
            "UpdateExpression": f"SET {assignments}, settled_at = :at",
            "ConditionExpression": "#state = :held AND pages = :pages",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**values, ":state": state, ":held": HELD, ":pages": held,
                                          ":at": self.now().isoformat()}}}

    def _write(self, tenant: str, items: list[dict[str, Any]]) -> frozenset[int]:
        return transact(self.client, items, tenant, self.sleep)


def _parts(hold: dict[str, Any]) -> dict[int, int]:
    """Which shards gave the hold's pages (a hold made before shards: all from shard 0)."""
    shards = hold.get("shards") or {"0": hold["pages"]}
    return {int(k): int(n) for k, n in shards.items()}


def _home(hold: dict[str, Any]) -> int:
    """Where a commit gives back the unused pages: the shard that gave the most (the home shard, unless the
    reservation had to gather from several). Totals stay exact; shards may drift, which the reads of every
    shard in `_reserve_across_shards` absorb."""
    parts = _parts(hold)
    return max(parts, key=lambda shard: (parts[shard], -shard))
