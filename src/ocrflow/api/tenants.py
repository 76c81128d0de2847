"""Tenants and their API keys in DynamoDB (the tenants table, pk/sk).

Items:
  TENANT#<id>  / TENANT        name, status, credits (pages), webhook_secret, rate_limit_per_minute
  TENANT#<id>  / KEY#<key id>  one key of the tenant: its hash, created_at, revoked_at
  APIKEY#<sha256 of the key> / APIKEY   tenant id, key id, revoked: the lookup a request makes
  TENANT#<id>  / USAGE#<YYYY-MM or YYYY-MM-DD>#<provider>   pages, requests, cost
  RATE#<key id>#<minute> / RATE   requests in that minute (throttling.py; expires by TTL)

Keys are 256 random bits shown once; only their SHA-256 is stored (a slow password hash buys nothing for a
random 256-bit secret and would cost every request). The key id inside the key names it in lists and logs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from ocrflow.api.errors import TenantNotFoundError, UnauthorizedError
from ocrflow.api.models import UsagePeriod
from ocrflow.errors import InsufficientCreditsError, OcrflowError
from ocrflow.workflow.credits import tenant_key
from ocrflow.workflow.jobs import plain

KEY_PREFIX = "ofk"
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_KEY_SHAPE = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{43}}$")


class InvalidTenantIdError(OcrflowError):
    code = "invalid_tenant_id"


class TenantExistsError(OcrflowError):
    code = "tenant_exists"


class Tenant(BaseModel):
    tenant_id: str
    name: str = ""
    status: str = "active"
    credits: int = 0
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


class TenantDirectory:
    def __init__(self, table: Any) -> None:
        self.table = table
        self._conditional_failed = table.meta.client.exceptions.ConditionalCheckFailedException

    # --- admin -------------------------------------------------------------------------------------------

    def create(self, tenant_id: str, name: str = "", credits: int = 0,
               rate_limit_per_minute: int | None = None) -> NewTenant:
        if not TENANT_ID.match(tenant_id):
            raise InvalidTenantIdError(f"tenant id {tenant_id!r} must be 1-40 of a-z, 0-9 and '-', starting with a "
                                       "letter or digit")
        tenant = Tenant(tenant_id=tenant_id, name=name or tenant_id, credits=credits, created_at=_now(),
                        rate_limit_per_minute=rate_limit_per_minute, webhook_secret=secrets.token_urlsafe(32))
        item = {**tenant_key(tenant_id), **tenant.model_dump(exclude_none=True)}
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self._conditional_failed:
            raise TenantExistsError(f"tenant {tenant_id!r} already exists") from None
        return NewTenant(tenant=tenant, api_key=self.add_key(tenant_id))

    def add_key(self, tenant_id: str) -> str:
        self.get(tenant_id)
        key_id, api_key = new_api_key()
        created = _now()
        digest = key_hash(api_key)
        self.table.meta.client.transact_write_items(TransactItems=[  # the resource's client: plain values
            {"Put": {"TableName": self.table.name, "ConditionExpression": "attribute_not_exists(pk)",
                     "Item": {"pk": f"APIKEY#{digest}", "sk": "APIKEY", "tenant_id": tenant_id, "key_id": key_id}}},
            {"Put": {"TableName": self.table.name,
                     "Item": {**tenant_key(tenant_id, f"KEY#{key_id}"), "key_id": key_id,
                              "tenant_id": tenant_id, "key_hash": digest, "created_at": created}}},
        ])
        return api_key

    def get(self, tenant_id: str) -> Tenant:
        item = self.table.get_item(Key=tenant_key(tenant_id)).get("Item")
        if item is None:
            raise TenantNotFoundError(f"no tenant {tenant_id!r}")
        return Tenant.model_validate(plain(item))

    def list(self) -> list[Tenant]:
        tenants = []
        kwargs: dict[str, Any] = {"FilterExpression": "sk = :sk", "ExpressionAttributeValues": {":sk": "TENANT"}}
        while True:
            page = self.table.scan(**kwargs)
            tenants += [Tenant.model_validate(plain(item)) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(tenants, key=lambda t: t.tenant_id)
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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
        """Add (or, negative, remove) credits in pages; the balance never goes below zero. The new balance."""
        try:
            item = self.table.update_item(
                Key=tenant_key(tenant_id), UpdateExpression="ADD credits :n",
                ConditionExpression="attribute_exists(pk) AND (credits >= :floor OR :n >= :zero)",
                ExpressionAttributeValues={":n": pages, ":floor": -pages, ":zero": 0},
                ReturnValues="UPDATED_NEW")
        except self._conditional_failed:
            self.get(tenant_id)  # raises for an unknown tenant
            raise InsufficientCreditsError(f"tenant {tenant_id!r} has fewer than {-pages} credits") from None
        return int(item["Attributes"]["credits"])

    def usage(self, tenant_id: str) -> list[UsagePeriod]:
        """Pages, requests and cost per period (month and day) and provider, as the workflow counted them."""
        items = self.table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :usage)",
                                 ExpressionAttributeValues={":pk": tenant_key(tenant_id)["pk"], ":usage": "USAGE#"})
        periods = []
        for item in items.get("Items", []):
            _, period, provider = item["sk"].split("#", 2)
            periods.append(UsagePeriod(period=period, provider=provider, pages=int(item.get("pages", 0)),
                                       requests=int(item.get("requests", 0)), cost=float(item.get("cost", 0))))
        return periods

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
