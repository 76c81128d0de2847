"""Usage as the credit ledger counts it (`credits.usage_counters`), read back: the counters of a tenant or a
provider are sharded (USAGE#<period>#...#<shard>) so busy commits do not queue on one item, and every reader
here sums the shards into one row per period and provider."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from ocrflow.workflow.credits import tenant_key


class ProviderUsagePeriod(BaseModel):
    """What one provider did in one period - for a tenant, or for everyone."""

    period: str = Field(description="YYYY-MM or YYYY-MM-DD (UTC)")
    provider: str
    pages: int = 0
    requests: int = 0
    cost: float = Field(default=0, description="USD, as the provider's price list gave it")


def tenant_usage(table: Any, tenant: str) -> list[ProviderUsagePeriod]:
    """A tenant's pages, requests and cost per period and provider. Sort keys USAGE#<period>#<provider>#<shard>
    (counters written before the shards had no #<shard>: summed alike)."""
    items = _query(table, tenant_key(tenant)["pk"], "USAGE#")
    return _summed(((item["sk"].split("#")[1], item["sk"].split("#")[2]), item) for item in items)


def provider_usage(table: Any, provider: str) -> list[ProviderUsagePeriod]:
    """One provider's pages, requests and cost per period, over every tenant."""
    items = _query(table, f"PROVIDER#{provider}", "USAGE#")
    return _summed(((item["sk"].split("#")[1], provider), item) for item in items)


def all_provider_usage(table: Any) -> list[ProviderUsagePeriod]:
    """Every provider's usage. A Scan of the whole table (filtered to PROVIDER#*/USAGE#*): the providers are not
    listed anywhere else, and this is for an operator's report, not for a request path."""
    items = every_page(table.scan, FilterExpression="begins_with(pk, :provider) AND begins_with(sk, :usage)",
                        ExpressionAttributeValues={":provider": "PROVIDER#", ":usage": "USAGE#"})
    return _summed(((item["sk"].split("#")[1], item["pk"].split("#", 1)[1]), item) for item in items)


def _query(table: Any, pk: str, prefix: str) -> list[dict[str, Any]]:
    """Every item of `pk` whose sort key starts with `prefix`."""
    return every_page(table.query, KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                       ExpressionAttributeValues={":pk": pk, ":prefix": prefix})


def every_page(read: Callable[..., dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    """The items of a Query or Scan, page after page."""
    items: list[dict[str, Any]] = []
    while True:
        page = read(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _summed(counters: Iterable[tuple[tuple[str, str], dict[str, Any]]]) -> list[ProviderUsagePeriod]:
    """One row per (period, provider), the counter shards added up (cost exactly, as Decimals)."""
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for key, item in counters:
        row = totals.setdefault(key, [Decimal(0)] * 3)
        for index, name in enumerate(("pages", "requests", "cost")):
            row[index] += Decimal(item.get(name, 0))
    return [ProviderUsagePeriod(period=period, provider=provider, pages=int(pages), requests=int(requests),
                                cost=float(cost))
            for (period, provider), (pages, requests, cost) in sorted(totals.items())]
