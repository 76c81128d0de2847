"""Tenants and their API keys in DynamoDB (the tenants table, pk/sk).

Items:
  TENANT#<id>  / TENANT        name, status, credits (pages: balance shard 0), credit_shards, webhook_secret,
                               rate_limit_per_minute
  TENANT#<id>  / CREDITS#<k>   credits: balance shard k (1 <= k < credit_shards)
  TENANT#<id>  / KEY#<key id>  one key of the tenant: its hash, created_at, revoked_at
  APIKEY#<sha256 of the key> / APIKEY   tenant id, key id, revoked: the lookup a request makes
  TENANT#<id>  / USAGE#<YYYY-MM or YYYY-MM-DD>#<provider>#<shard>   pages, requests, cost
  RATE#<key id>#<minute> / RATE   requests in that minute (throttling.py; expires by TTL)
A tenant's balance is the sum of its shards (`workflow/credits.py` says why a busy tenant wants several):
reading a tenant costs one GetItem, and one Query more only when it has more than one shard. Credits added by
the operator are spread evenly over the shards; credits removed come from the fullest shards, each debit
conditional, so no shard and no balance goes below zero.

Keys are 256 random bits shown once; only their SHA-256 is stored (a slow password hash buys nothing for a
random 256-bit secret and would cost every request). The key id inside the key names it in lists and logs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from ocrflow.api.errors import TenantNotFoundError, UnauthorizedError
from ocrflow.api.models import UsagePeriod
from ocrflow.errors import InsufficientCreditsError, LedgerBusyError, OcrflowError
from ocrflow.workflow.credits import (
    MAX_CREDIT_SHARDS,
    REREAD_TRIES,
    Balances,
    credit_update,
    debit_update,
    plan_debit,
    read_balances,
    shard_key,
    spread,
    tenant_key,
    transact,
)
from ocrflow.workflow.jobs import plain
from ocrflow.workflow.usage import tenant_usage

KEY_PREFIX = "ofk"
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_KEY_SHAPE = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{43}}$")


class InvalidTenantIdError(OcrflowError):
    code = "invalid_tenant_id"


class TenantExistsError(OcrflowError):
    code = "tenant_exists"


class InvalidCreditShardsError(OcrflowError):
    code = "invalid_credit_shards"


class Tenant(BaseModel):
    tenant_id: str
    name: str = ""
    status: str = "active"
    credits: int = Field(default=0, description="Balance in pages: the sum of every shard")
    credit_shards: int = 1
    rate_limit_per_minute: int | None = None
    webhook_secret: str = Field(default="", repr=False)
    created_at: str = ""


class ApiKeyInfo(BaseModel):
    key_id: str
    tenant_id: str
    created_at: str
    revoked_at: str | None = None


class Caller(BaseModel):
    """Who is calling: the tenant behind a valid key."""

    tenant: Tenant
    key_id: str


class NewTenant(BaseModel):
    tenant: Tenant
    api_key: str = Field(repr=False)


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """(key id, key): `ofk_<12 hex key id>_<43 chars = 256 random bits>`."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _check_shard_count(shards: int) -> None:
    if not 1 <= shards <= MAX_CREDIT_SHARDS:
        raise InvalidCreditShardsError(f"a tenant has 1 to {MAX_CREDIT_SHARDS} credit shards, not {shards}")


class TenantDirectory:
    def __init__(self, table: Any) -> None:
        self.table = table
        self.client = table.meta.client  # the resource's client: plain values

    # --- admin -------------------------------------------------------------------------------------------

    def create(self, tenant_id: str, name: str = "", credits: int = 0,
               rate_limit_per_minute: int | None = None, credit_shards: int = 1) -> NewTenant:
        """A new tenant with `credits` spread over `credit_shards` balance items, and one API key."""
        if not TENANT_ID.match(tenant_id):
            raise InvalidTenantIdError(f"tenant id {tenant_id!r} must be 1-40 of a-z, 0-9 and '-', starting with a "
                                       "letter or digit")
        _check_shard_count(credit_shards)
        tenant = Tenant(tenant_id=tenant_id, name=name or tenant_id, credits=credits, created_at=_now(),
                        credit_shards=credit_shards, rate_limit_per_minute=rate_limit_per_minute,
                        webhook_secret=secrets.token_urlsafe(32))
        shares = spread(credits, credit_shards)
        profile = {**tenant_key(tenant_id), **tenant.model_dump(exclude_none=True), "credits": shares[0]}
        items = [{"Put": {"TableName": self.table.name, "Item": profile,
                          "ConditionExpression": "attribute_not_exists(pk)"}},
                 *({"Put": {"TableName": self.table.name, "Item": {**shard_key(tenant_id, shard), "credits": pages}}}
                   for shard, pages in shares.items() if shard)]
        if transact(self.client, items, tenant_id):
            raise TenantExistsError(f"tenant {tenant_id!r} already exists")
        return NewTenant(tenant=tenant, api_key=self.add_key(tenant_id))

    def add_key(self, tenant_id: str) -> str:
        self.get(tenant_id)
        key_id, api_key = new_api_key()
        created = _now()
        digest = key_hash(api_key)
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {"pk": f"APIKEY#{digest}", "sk": "APIKEY", "tenant_id": tenant_id, "key_id": key_id}}},
            {"Put": {"TableName": self.table.name,
                     "Item": {**tenant_key(tenant_id, f"KEY#{key_id}"), "key_id": key_id,
                              "tenant_id": tenant_id, "key_hash": digest, "created_at": created}}},
        ])
        return api_key

    def get(self, tenant_id: str, consistent: bool = False) -> Tenant:
        """The tenant with its balance summed over its shards."""
        item = self.table.get_item(Key=tenant_key(tenant_id), ConsistentRead=consistent).get("Item")
        if item is None:
            raise TenantNotFoundError(f"no tenant {tenant_id!r}")
        balances = read_balances(self.table, tenant_id, profile=item, consistent=consistent)
        return Tenant.model_validate({**plain(item), "credits": balances.total})

    def list(self) -> list[Tenant]:
        """Every tenant, balances summed: one Scan reads the profiles and the balance shards together."""
        profiles, shards = [], Counter[str]()
        kwargs: dict[str, Any] = {"FilterExpression": "sk = :profile OR begins_with(sk, :shard)",
                                  "ExpressionAttributeValues": {":profile": "TENANT", ":shard": "CREDITS#"}}
        while True:
            page = self.table.scan(**kwargs)
            for item in page.get("Items", []):
                if item["sk"] == "TENANT":
                    profiles.append(item)
                else:
                    shards[item["pk"]] += int(item.get("credits", 0))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        tenants = [Tenant.model_validate({**plain(item), "credits": int(item.get("credits", 0)) + shards[item["pk"]]})
                   for item in profiles]
        return sorted(tenants, key=lambda t: t.tenant_id)

    def keys(self, tenant_id: str) -> list[ApiKeyInfo]:
        items = self.table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :key)",
                                 ExpressionAttributeValues={":pk": tenant_key(tenant_id)["pk"], ":key": "KEY#"})
        return [ApiKeyInfo.model_validate(item) for item in items["Items"]]

    def revoke_key(self, key_id: str) -> ApiKeyInfo:
        """Revoke one key by its id, at once: the next request with it is refused."""
        items = self.table.scan(FilterExpression="key_id = :id AND begins_with(sk, :key)",
                                ExpressionAttributeValues={":id": key_id, ":key": "KEY#"}).get("Items", [])
        if not items:
            raise TenantNotFoundError(f"no API key {key_id!r}")
        item, revoked = items[0], _now()
        self.table.update_item(Key={"pk": f"APIKEY#{item['key_hash']}", "sk": "APIKEY"},
                               UpdateExpression="SET revoked = :t", ExpressionAttributeValues={":t": True})
        self.table.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="SET revoked_at = :at",
                               ExpressionAttributeValues={":at": revoked})
        return ApiKeyInfo.model_validate({**item, "revoked_at": revoked})

    def revoke_tenant(self, tenant_id: str) -> list[ApiKeyInfo]:
        """Suspend the tenant and revoke every key it has."""
        self.get(tenant_id)
        self.table.update_item(Key=tenant_key(tenant_id),
                               UpdateExpression="SET #status = :s", ExpressionAttributeNames={"#status": "status"},
                               ExpressionAttributeValues={":s": "suspended"})
        return [self.revoke_key(key.key_id) for key in self.keys(tenant_id) if key.revoked_at is None]

    def credit(self, tenant_id: str, pages: int) -> int:
        """Add (or, negative, remove) credits in pages; the new balance. Added credits are spread evenly over the
        shards; removed ones come from the fullest shards, each only if it holds its part, so the balance never
        goes below zero. Jobs spending meanwhile make a removal read again (a few times)."""
        for _ in range(REREAD_TRIES):
            balances = self._balances(tenant_id)
            if balances.total < -pages:
                raise InsufficientCreditsError(f"tenant {tenant_id!r} has fewer than {-pages} credits")
            items = (self._adding(tenant_id, balances, pages) if pages >= 0
                     else self._removing(tenant_id, balances, -pages))
            if not items or not transact(self.client, items, tenant_id):
                return self._balances(tenant_id).total
        raise LedgerBusyError(f"tenant {tenant_id!r}: its credits keep moving under running jobs; try again",
                              tenant=tenant_id)

    def set_credit_shards(self, tenant_id: str, shards: int) -> Tenant:
        """Change how many balance items the tenant has, in one transaction that spreads the balance evenly over
        them (the remainder on shard 0). The total is kept; running jobs' refunds still find their shards."""
        _check_shard_count(shards)
        for _ in range(REREAD_TRIES):
            balances = self._balances(tenant_id)
            if balances.shards != shards and transact(self.client, self._resharding(tenant_id, balances, shards),
                                                      tenant_id):
                continue  # jobs moved credits (or someone resharded) meanwhile: read again
            return self.get(tenant_id, consistent=True)
        raise LedgerBusyError(f"tenant {tenant_id!r}: its credits keep moving under running jobs; try again",
                              tenant=tenant_id)

    def usage(self, tenant_id: str) -> list[UsagePeriod]:
        """Pages, requests and cost per period (month and day) and provider, as the workflow counted them."""
        return [UsagePeriod(**period.model_dump()) for period in tenant_usage(self.table, tenant_id)]

    def _balances(self, tenant_id: str) -> Balances:
        item = self.table.get_item(Key=tenant_key(tenant_id), ConsistentRead=True).get("Item")
        if item is None:
            raise TenantNotFoundError(f"no tenant {tenant_id!r}")
        return read_balances(self.table, tenant_id, profile=item)

    def _adding(self, tenant_id: str, balances: Balances, pages: int) -> list[dict[str, Any]]:
        return [credit_update(self.table.name, tenant_id, shard, share)
                for shard, share in spread(pages, balances.shards).items() if share]

    def _removing(self, tenant_id: str, balances: Balances, pages: int) -> list[dict[str, Any]]:
        return [debit_update(self.table.name, tenant_id, shard, part)
                for shard, part in plan_debit(balances.credits, pages).items()]

    def _resharding(self, tenant_id: str, balances: Balances, shards: int) -> list[dict[str, Any]]:
        """One transaction that spreads the whole balance evenly over the new shards (so growing helps at once):
        every shard is set to its share only if it still holds what was read, removed shards are deleted on
        the same condition, and the profile's count changes only if nobody changed it meanwhile."""
        shares = spread(balances.total, shards)
        profile = {"Update": {
            "TableName": self.table.name, "Key": tenant_key(tenant_id),
            "UpdateExpression": "SET credit_shards = :shards, credits = :share",
            "ConditionExpression": "(attribute_not_exists(credit_shards) OR credit_shards = :was) AND credits = :seen",
            "ExpressionAttributeValues": {":shards": shards, ":share": shares[0], ":was": balances.shards,
                                          ":seen": balances.credits.get(0, 0)}}}
        items: list[dict[str, Any]] = [profile]
        for shard in range(1, max(shards, balances.shards)):
            seen = balances.credits.get(shard)
            condition = "attribute_not_exists(pk)" if seen is None else "credits = :seen"
            values = {} if seen is None else {":seen": seen}
            if shard < shards:
                items.append({"Update": {
                    "TableName": self.table.name, "Key": shard_key(tenant_id, shard),
                    "UpdateExpression": "SET credits = :share", "ConditionExpression": condition,
                    "ExpressionAttributeValues": {":share": shares[shard], **values}}})
            else:
                items.append({"Delete": {"TableName": self.table.name, "Key": shard_key(tenant_id, shard),
                                         "ConditionExpression": condition, **(
                                             {"ExpressionAttributeValues": values} if values else {})}})
        return items

    # --- per request -------------------------------------------------------------------------------------

    def authenticate(self, api_key: str | None) -> Caller:
        """The caller behind an API key, or UnauthorizedError (one message for every failure: a caller learns
        nothing about which keys or tenants exist)."""
        refused = UnauthorizedError("a valid API key is required in the X-Api-Key header")
        match = _KEY_SHAPE.match(api_key or "")
        if not match:
            raise refused
        item = self.table.get_item(Key={"pk": f"APIKEY#{key_hash(api_key or '')}", "sk": "APIKEY"}).get("Item")
        if item is None or item.get("revoked"):
            raise refused
        try:
            tenant = self.get(item["tenant_id"])
        except TenantNotFoundError:
            raise refused from None
        if tenant.status != "active":
            raise refused
        return Caller(tenant=tenant, key_id=item["key_id"])
