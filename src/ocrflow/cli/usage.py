"""`ocrflow usage`: what each tenant has left and used, and what each provider did (pages, requests, cost in
USD) per month and day, from the tenants table named by --table or OCRFLOW_TENANTS_TABLE. The report is built as
text lines (`usage_report`) so other places (the demo) print the same table."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocrflow.workflow.usage import ProviderUsagePeriod

#: the tables are 80 columns wide at most (the demo prints them too); only the routing column is open-ended
TENANT_HEADER = (f"{'tenant':<19} {'credits':>9}  {'period':<10} {'provider':<10} {'pages':>7} {'requests':>8} "
                 f"{'cost USD':>10}")
#: the tenant of files put straight into the uploads bucket (not a tenant of the directory; never charged)
UNMETERED = "default"
PROVIDER_HEADER = f"{'provider':<24} {'period':<10} {'pages':>7} {'requests':>8} {'cost USD':>12}"


def add_parser(commands: Any) -> None:
    usage = commands.add_parser("usage", help="each tenant's balance and usage, then each provider's pages, "
                                "requests and cost, per month and day")
    usage.add_argument("--table", default=os.environ.get("OCRFLOW_TENANTS_TABLE"),
                       help="the tenants table (default: $OCRFLOW_TENANTS_TABLE; stack output TenantsTable)")
    usage.add_argument("--tenant", help="only this tenant (default: all)")
    usage.add_argument("--provider", help="only this provider (default: all)")


def run(args: argparse.Namespace) -> int:
    from ocrflow.cli.tenants import directory

    print("\n".join(usage_report(directory(args.table).table, tenant=args.tenant, provider=args.provider)))
    return 0


def usage_report(table: Any, tenant: str | None = None, provider: str | None = None) -> list[str]:
    """The tenants' table, a blank line, the providers' table, a blank line, what routing knows of each
    provider (reported balance, exhausted mark, quota windows used)."""
    return [*tenant_usage_lines(table, tenant, provider), "", *provider_usage_lines(table, provider), "",
            *provider_status_lines(table, provider)]


def tenant_usage_lines(table: Any, tenant: str | None = None, provider: str | None = None) -> list[str]:
    """One line per tenant, period and provider (a tenant without usage: one line with its balance)."""
    from ocrflow.api.tenants import TenantDirectory
    from ocrflow.workflow.usage import tenant_usage

    tenants = TenantDirectory(table)
    lines = [TENANT_HEADER]
    for chosen in [tenants.get(tenant)] if tenant not in (None, UNMETERED) else tenants.list():
        periods = [p for p in tenant_usage(table, chosen.tenant_id) if provider in (None, p.provider)]
        lines += [f"{chosen.tenant_id:<19} {chosen.credits:>9}  {_counts(p)}" for p in periods] or [
            f"{chosen.tenant_id:<19} {chosen.credits:>9}  -"]
    if tenant in (None, UNMETERED):  # the operator's own uploads: no balance, their usage counted all the same
        periods = [p for p in tenant_usage(table, UNMETERED) if provider in (None, p.provider)]
        lines += [f"{UNMETERED + ' (unmetered)':<19} {'-':>9}  {_counts(p)}" for p in periods]
    return lines


def provider_usage_lines(table: Any, provider: str | None = None) -> list[str]:
    """One line per provider and period, over every tenant."""
    from ocrflow.workflow.usage import all_provider_usage, provider_usage

    periods = provider_usage(table, provider) if provider else all_provider_usage(table)
    rows = sorted(periods, key=lambda p: (p.provider, p.period))
    return [PROVIDER_HEADER, *(f"{p.provider:<24} {p.period:<10} {p.pages:>7} {p.requests:>8} {p.cost:>12.6f}"
                               for p in rows)]


def _counts(period: ProviderUsagePeriod) -> str:
    return f"{period.period:<10} {period.provider:<10} {period.pages:>7} {period.requests:>8} {period.cost:>10.6f}"


STATUS_HEADER = f"{'provider':<12} {'balance':<12} {'quota windows used':<28} routing"


def provider_status_lines(table: Any, provider: str | None = None, quotas: str | None = None) -> list[str]:
    """Per provider known to routing: its last reported balance, whether it is marked exhausted (and until
    when, why), and its current quota windows (`quotas`: the OCRFLOW_QUOTAS JSON, default the environment's)."""
    import time

    from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json

    windows = quotas_from_json(os.environ.get("OCRFLOW_QUOTAS") if quotas is None else quotas)
    book = ProviderQuotas(table, windows)
    known = set(windows) | _providers_with_status(table)
    lines = [STATUS_HEADER]
    for name in sorted(p for p in known if provider in (None, p)):
        status = book.status(name)
        balance = "-" if status.balance is None else f"{status.balance:g} {status.balance_unit or ''}".strip()
        left = (status.exhausted_until or 0) - time.time()
        routing = f"exhausted {left:.0f} s more" if left > 0 else "available"
        if left > 0 and status.exhausted_reason:
            routing += f": {status.exhausted_reason}"  # last on the line, whole
        used = ", ".join(f"{counts['requests']} req/{counts['pages']} p this {per}"
                         for per, counts in book.used(name).items()) or "-"
        lines.append(f"{name:<12} {balance:<12} {used:<28} {routing}")
    return lines


def _providers_with_status(table: Any) -> set[str]:
    """Providers with a status item (a reported balance or an exhausted mark). An admin Scan, as above."""
    from ocrflow.workflow.usage import every_page

    items = every_page(table.scan, FilterExpression="begins_with(pk, :provider) AND sk = :status",
                        ExpressionAttributeValues={":provider": "PROVIDER#", ":status": "STATUS"},
                        ProjectionExpression="pk")
    return {item["pk"].split("#", 1)[1] for item in items}
