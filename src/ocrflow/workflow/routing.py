"""Quota-aware routing: which provider reads a job, and what happens when one cannot.

A job either names its provider (pinned: that provider or a typed failure) or asks for `auto`: then it goes
down an ordered route - the tenant's own list if the operator set one, else the deployment's `OCRFLOW_ROUTE` -
with the embedded engine as the last resort unless `OCRFLOW_EMBEDDED_FALLBACK=false`. Each entry carries the
operator's price per page (USD), which usage and cost reports add up.

The workflow's submit step takes the first entry that accepts the document (its language, its limits: type,
size, pages), is not marked exhausted, has quota left in every configured window, and answers; every entry
passed over is recorded on the job (`routing`: provider, skipped | failed | used, the error code and why).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ocrflow.errors import ConfigError, InputError, OcrflowError, ProviderError, ProviderNotAvailableError
from ocrflow.providers.names import ProviderName

AUTO = "auto"
_KNOWN = frozenset(p.value for p in ProviderName)


class RouteEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    cost_per_page: float = Field(default=0.0, ge=0, description="What a page costs the operator here, in USD")


_ENTRIES = TypeAdapter(list[RouteEntry | ProviderName])


def parse_route(text: str | None) -> list[RouteEntry]:
    """`OCRFLOW_ROUTE`: a JSON list (`[{"provider": "pdfmage", "cost_per_page": 0.01}, "ocrspace"]`) or a
    comma-separated one (`pdfmage:0.01,ocrspace`). Unknown providers are a ConfigError."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            raw: list[Any] = json.loads(text)
        else:
            raw = []
            for item in filter(None, (part.strip() for part in text.split(","))):
                name, _, cost = item.partition(":")
                raw.append({"provider": name.strip(), "cost_per_page": cost.strip() or 0})
        entries = [e if isinstance(e, RouteEntry) else RouteEntry(provider=e) for e in _ENTRIES.validate_python(raw)]
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"OCRFLOW_ROUTE is not a provider route ({_first_line(exc)}); "
                          f"known providers: {', '.join(sorted(_KNOWN))}") from None
    return _unique(entries)


class RouteAttempt(BaseModel):
    """One provider considered for a job, as the job record shows it."""

    provider: str
    outcome: Literal["used", "skipped", "failed"] = Field(
        description="skipped: passed over before anything was sent; failed: the provider was called and failed")
    code: str | None = Field(default=None, description="The error code that made routing move on")
    message: str | None = None
    at: datetime

    @classmethod
    def of_error(cls, entry: RouteEntry, exc: OcrflowError, sent: bool, at: datetime) -> RouteAttempt:
        return cls(provider=entry.provider.value, outcome="failed" if sent else "skipped", code=exc.code,
                   message=exc.message[:300], at=at)


def candidates(requested: str, tenant_route: list[ProviderName] | None, route: list[RouteEntry],
               embedded_fallback: bool, embedded_cost: float = 0.0) -> list[RouteEntry]:
    """The providers a job may go to, in order. A named provider is the only candidate; `auto` follows the
    tenant's list (priced as the deployment prices those providers) or the deployment's route, then the
    embedded engine unless it is disabled or already listed."""
    prices = {entry.provider: entry.cost_per_page for entry in route}
    prices.setdefault(ProviderName.TESSERACT, embedded_cost)
    if requested != AUTO:
        try:
            name = ProviderName(requested)
        except ValueError:
            raise ProviderNotAvailableError(f"{requested!r} is not a provider; use one of "
                                            f"{', '.join(sorted(_KNOWN))} or {AUTO!r}") from None
        return [RouteEntry(provider=name, cost_per_page=prices.get(name, 0.0))]
    chosen = ([RouteEntry(provider=name, cost_per_page=prices.get(name, 0.0)) for name in tenant_route]
              if tenant_route else list(route))
    if embedded_fallback and all(entry.provider is not ProviderName.TESSERACT for entry in chosen):
        chosen.append(RouteEntry(provider=ProviderName.TESSERACT, cost_per_page=prices[ProviderName.TESSERACT]))
    if not chosen:
        raise ConfigError("no provider to route to: set OCRFLOW_ROUTE or allow the embedded engine "
                          "(OCRFLOW_EMBEDDED_FALLBACK)")
    return _unique(chosen)


def moves_on(exc: OcrflowError) -> bool:
    """Whether routing tries the next provider after `exc`: provider failures (quota, outage, auth), what
    one provider cannot take (language, limits, not configured here). The document was already inspected
    and passed, so an input error now is about this provider. Credits and internal errors stop the job."""
    return isinstance(exc, (ProviderError, ConfigError, InputError))


def no_provider_error(attempts: list[RouteAttempt], last: OcrflowError) -> OcrflowError:
    """The error of a job no provider could take: the only candidate's own error, else a summary of all."""
    if len(attempts) == 1:
        return last
    reasons = "; ".join(f"{a.provider}: {a.code}" for a in attempts)
    retryable = any(a.code in ("quota_exhausted", "throttled", "provider_unavailable") for a in attempts)
    return NoProviderAvailableError(f"no provider could read the document ({reasons})", retryable=retryable)


class NoProviderAvailableError(ProviderError):
    """Every provider on the job's route was passed over or failed; the job's `routing` says why each."""

    code = "no_provider_available"


# --- the tenant's own route (tenants table) -----------------------------------------------------------------


def tenant_route(table: Any, tenant: str) -> list[ProviderName] | None:
    """The providers the operator set for this tenant (`ocrflow tenants route`), or None: the deployment's."""
    item = table.get_item(Key={"pk": f"TENANT#{tenant}", "sk": "TENANT"},
                          ProjectionExpression="providers").get("Item") or {}
    names = item.get("providers") or []
    return [ProviderName(name) for name in names if name in _KNOWN] or None


def set_tenant_route(table: Any, tenant: str, providers: list[ProviderName] | None) -> None:
    """Give the tenant its own route (None: back to the deployment's). The tenant must exist."""
    key = {"pk": f"TENANT#{tenant}", "sk": "TENANT"}
    if providers:
        table.update_item(Key=key, UpdateExpression="SET providers = :p", ConditionExpression="attribute_exists(pk)",
                          ExpressionAttributeValues={":p": [p.value for p in _unique_names(providers)]})
    else:
        table.update_item(Key=key, UpdateExpression="REMOVE providers", ConditionExpression="attribute_exists(pk)")


def _unique(entries: list[RouteEntry]) -> list[RouteEntry]:
    """Each provider once, where it is first named."""
    first: dict[ProviderName, RouteEntry] = {}
    for entry in entries:
        first.setdefault(entry.provider, entry)
    return list(first.values())


def _unique_names(names: list[ProviderName]) -> list[ProviderName]:
    return list(dict.fromkeys(names))


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
