"""Provider quota windows that hold across concurrent Lambdas (Order 5).

Windows come from configuration (`OCRFLOW_QUOTAS`, JSON: provider -> list of windows), for example
OCR.space free: 500 requests a day and 25,000 a month; Adobe free: 500 transactions a month; Yandex: 1 request
a second. Each window is a counter item in the tenants table, keyed by its start, expiring by TTL:
  PROVIDER#<name> / WINDOW#<period>#<window start, unix s>   requests, pages, expires_at
Taking quota for a call is one transaction over all the provider's windows - all of them count it or none does -
so concurrent workers can never go beyond a limit, and a full window names when it frees up.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from ocrflow.errors import QuotaExhaustedError

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
    return QUOTAS.validate_python(json.loads(text)) if text else {}


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


class ProviderQuotas:
    def __init__(self, table: Any, windows: dict[str, list[QuotaWindow]],
                 clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.client = table.meta.client
        self.windows = windows
        self.clock = clock

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
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            full = [(window, end) for window, end, reason in zip(windows, ends, reasons, strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"]
            if not full:
                raise
            window, end = max(full, key=lambda pair: pair[1])
            wait = max(1.0, end - now)
            raise QuotaExhaustedError(f"{provider}'s quota of this {window.per} is used up; it frees in "
                                      f"{wait:.0f} s", provider=provider, retry_after=wait) from None

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
