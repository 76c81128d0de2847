"""Provider quota windows that hold across concurrent Lambdas (Order 5).

Windows come from configuration (`OCRFLOW_QUOTAS`, JSON: provider -> list of windows), for example
OCR.space free: 500 requests a day and 25,000 a month; Adobe free: 500 transactions a month; Yandex: 1 request
a second. Each window is a counter item in the tenants table, keyed by its start, expiring by TTL:
  PROVIDER#<name> / WINDOW#<period>#<window start, unix s>   requests, pages, expires_at
Taking quota for a call is one transaction over all the provider's windows - all of them count it or none does -
so concurrent workers can never go beyond a limit, and a full window names when it frees up.

What the providers themselves report is kept beside the windows, in one status item per provider:
  PROVIDER#<name> / STATUS   balance, balance_unit, balance_at (pdfocr.org's "available pages", pdfmage's
                             X-Credits-Remaining), exhausted_until, exhausted_reason (a 402 / INSUFFICIENT_QUOTA)
A provider marked exhausted is skipped until its window ends (when the provider names one), until a later
answer reports a balance again, or until `recheck` seconds have passed - then one job tries it again.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from ocrflow.errors import ConfigError, QuotaExhaustedError, ThrottledError
from ocrflow.workflow.transactions import transact_contended

Period = Literal["second", "minute", "hour", "day", "month"]
_FIXED = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


class QuotaWindow(BaseModel):
    per: Period
    requests: int | None = Field(default=None, gt=0, description="Most requests in one window")
    pages: int | None = Field(default=None, gt=0, description="Most pages in one window")

    @model_validator(mode="after")
    def _limits_something(self) -> QuotaWindow:
        if self.requests is None and self.pages is None:
            raise ValueError("a quota window limits requests, pages or both")
        return self


QUOTAS = TypeAdapter(dict[str, list[QuotaWindow]])


def quotas_from_json(text: str | None) -> dict[str, list[QuotaWindow]]:
    """`OCRFLOW_QUOTAS`, e.g. {"ocrspace": [{"per": "day", "requests": 500}, {"per": "month", "requests": 25000}]}."""
    if not text:
        return {}
    try:
        return QUOTAS.validate_python(json.loads(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"OCRFLOW_QUOTAS is not a set of quota windows: {where}: {first['msg']}") from None
    except ValueError as exc:
        raise ConfigError(f"OCRFLOW_QUOTAS is not JSON: {exc}") from None


def window_bounds(per: Period, now: float) -> tuple[int, int]:
    """(start, end) in unix seconds of the window containing `now`; months are calendar months (UTC)."""
    if per in _FIXED:
        size = _FIXED[per]
        start = int(now // size) * size
        return start, start + size
    moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    days = calendar.monthrange(moment.year, moment.month)[1]
    return int(start.timestamp()), int(start.timestamp()) + days * 86400


class ProviderStatus(BaseModel):
    """What a provider last reported about its own account, and whether it is marked exhausted."""

    provider: str
    balance: float | None = Field(default=None, description="Last reported balance (pages, usd, ...)")
    balance_unit: str | None = None
    balance_at: float | None = Field(default=None, description="When it was reported (unix s)")
    exhausted_until: float | None = Field(default=None, description="Skipped by routing until then (unix s)")
    exhausted_reason: str | None = None

    def refusal(self, now: float, pages: int, cost_per_page: float = 0.0) -> str | None:
        """Why this provider should not be sent `pages` pages now, or None."""
        if self.exhausted_until is not None and self.exhausted_until > now:
            return (f"{self.provider} is marked exhausted for {self.exhausted_until - now:.0f} s more"
                    + (f" ({self.exhausted_reason})" if self.exhausted_reason else ""))
        if self.balance is None:
            return None
        needed = pages if self.balance_unit == "pages" else pages * cost_per_page if self.balance_unit == "usd" else 0
        if self.balance <= 0 or self.balance < needed:
            return f"{self.provider} reported a balance of {self.balance:g} {self.balance_unit or ''}".rstrip() + (
                f", {needed:g} needed" if needed else "")
        return None


class QuotaBook(Protocol):
    """What routing asks of provider quotas (`ProviderQuotas` in DynamoDB, `NoQuotas` without a table)."""

    def take(self, provider: str, requests: int = 1, pages: int = 0) -> None: ...
    def status(self, provider: str) -> ProviderStatus: ...
    def record_balance(self, provider: str, remaining: float, unit: str) -> None: ...
    def mark_exhausted(self, provider: str, seconds: float, reason: str) -> None: ...


class NoQuotas:
    """No quota table: nothing is limited or remembered."""

    def take(self, provider: str, requests: int = 1, pages: int = 0) -> None:
        return None

    def status(self, provider: str) -> ProviderStatus:
        return ProviderStatus(provider=provider)

    def record_balance(self, provider: str, remaining: float, unit: str) -> None:
        return None

    def mark_exhausted(self, provider: str, seconds: float, reason: str) -> None:
        return None


class ProviderQuotas:
    def __init__(self, table: Any, windows: dict[str, list[QuotaWindow]],
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.table = table
        self.client = table.meta.client
        self.windows = windows
        self.clock = clock
        self.sleep = sleep

    def take(self, provider: str, requests: int = 1, pages: int = 0) -> None:
        """Count one call (`requests`, `pages`) in every window of `provider`, or raise QuotaExhaustedError
        (retry_after: when the fullest window ends) and count nothing."""
        windows = self.windows.get(provider, [])
        if not windows:
            return
        now = self.clock()
        items, ends = [], []
        for window in windows:
            start, end = window_bounds(window.per, now)
            ends.append(end)
            conditions, values = [], {":r": requests, ":p": pages, ":expires": end + 86400}
            for unit, limit, amount in (("requests", window.requests, requests), ("pages", window.pages, pages)):
                if limit is not None:
                    if amount > limit:
                        raise QuotaExhaustedError(f"{provider}: {amount} {unit} exceed its limit of {limit} a "
                                                  f"{window.per}", provider=provider, retryable=False)
                    conditions.append(f"(attribute_not_exists({unit}) OR {unit} <= :{unit}_left)")
                    values[f":{unit}_left"] = limit - amount
            items.append({"Update": {
                "TableName": self.table.name,
                "Key": {"pk": f"PROVIDER#{provider}", "sk": f"WINDOW#{window.per}#{start}"},
                "UpdateExpression": "ADD requests :r, pages :p SET expires_at = if_not_exists(expires_at, :expires)",
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeValues": values}})
        full = transact_contended(
            self.client, items, what=f"the quota transaction of {provider!r}", sleep=self.sleep,
            busy=lambda: ThrottledError("provider quota counters are busy (concurrent updates); try again",
                                        retry_after=1.0, provider=provider))
        if full:
            window, end = max(((windows[i], ends[i]) for i in full), key=lambda pair: pair[1])
            wait = max(1.0, end - now)
            raise QuotaExhaustedError(f"{provider}'s quota of this {window.per} is used up; it frees in "
                                      f"{wait:.0f} s", provider=provider, retry_after=wait) from None

    def status(self, provider: str) -> ProviderStatus:
        item = self.table.get_item(Key=_status_key(provider), ConsistentRead=True).get("Item", {})
        return ProviderStatus(provider=provider, **{
            name: (float(item[name]) if isinstance(item[name], Decimal) else item[name])
            for name in ("balance", "balance_unit", "balance_at", "exhausted_until", "exhausted_reason")
            if name in item})

    def record_balance(self, provider: str, remaining: float, unit: str) -> None:
        """The balance a provider reported with an answer. A balance above zero lifts an exhausted mark: it
        changed (a top-up) or the mark was from a window that has passed."""
        values: dict[str, Any] = {":balance": Decimal(str(remaining)), ":unit": unit.lower(),
                                  ":at": int(self.clock())}
        update = "SET balance = :balance, balance_unit = :unit, balance_at = :at"
        if remaining > 0:
            update += " REMOVE exhausted_until, exhausted_reason"
        self.table.update_item(Key=_status_key(provider), UpdateExpression=update,
                               ExpressionAttributeValues=values)

    def mark_exhausted(self, provider: str, seconds: float, reason: str) -> None:
        """The provider refused for want of quota or balance (402, INSUFFICIENT_QUOTA): skip it for `seconds`."""
        self.table.update_item(Key=_status_key(provider),
                               UpdateExpression="SET exhausted_until = :until, exhausted_reason = :reason",
                               ExpressionAttributeValues={":until": int(self.clock() + seconds),
                                                          ":reason": reason[:300]})

    def used(self, provider: str) -> dict[str, dict[str, int]]:
        """The current window's counts per period: {"day": {"requests": .., "pages": ..}, ...}."""
        now = self.clock()
        counts = {}
        for window in self.windows.get(provider, []):
            start, _ = window_bounds(window.per, now)
            item = self.table.get_item(Key={"pk": f"PROVIDER#{provider}", "sk": f"WINDOW#{window.per}#{start}"},
                                       ConsistentRead=True).get("Item", {})
            counts[window.per] = {"requests": int(item.get("requests", 0)), "pages": int(item.get("pages", 0))}
        return counts


def _status_key(provider: str) -> dict[str, str]:
    return {"pk": f"PROVIDER#{provider}", "sk": "STATUS"}
