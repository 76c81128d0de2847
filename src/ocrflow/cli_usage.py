"""`ocrflow usage`: what each tenant has left and used, and what each provider did (pages, requests, cost in
USD) per month and day, from the tenants table named by --table or OCRFLOW_TENANTS_TABLE. The report is built as
text lines (`usage_report`) so other places (the demo) print the same table."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocrflow.workflow.usage import ProviderUsagePeriod

TENANT_HEADER = (f"{'tenant':<24} {'credits':>9}  {'period':<10} {'provider':<10} {'pages':>7} {'requests':>8} "
                 f"{'cost USD':>12}")
PROVIDER_HEADER = f"{'provider':<24} {'period':<10} {'pages':>7} {'requests':>8} {'cost USD':>12}"


def add_parser(commands: Any) -> None:
    usage = commands.add_parser("usage", help="each tenant's balance and usage, then each provider's pages, "
                                "requests and cost, per month and day")
    usage.add_argument("--table", default=os.environ.get("OCRFLOW_TENANTS_TABLE"),
                       help="the tenants table (default: $OCRFLOW_TENANTS_TABLE; stack output TenantsTable)")
    usage.add_argument("--tenant", help="only this tenant (default: all)")
    usage.add_argument("--provider", help="only this provider (default: all)")


def run(args: argparse.Namespace) -> int:
    from ocrflow.cli_tenants import directory

    print("\n".join(usage_report(directory(args.table).table, tenant=args.tenant, provider=args.provider)))
    return 0


def usage_report(table: Any, tenant: str | None = None, provider: str | None = None) -> list[str]:
    """The tenants' table, a blank line, the providers' table."""
    return [*tenant_usage_lines(table, tenant, provider), "", *provider_usage_lines(table, provider)]


def tenant_usage_lines(table: Any, tenant: str | None = None, provider: str | None = None) -> list[str]:
    """One line per tenant, period and provider (a tenant without usage: one line with its balance)."""
    from ocrflow.api.tenants import TenantDirectory
    from ocrflow.workflow.usage import tenant_usage

    tenants = TenantDirectory(table)
    lines = [TENANT_HEADER]
    for chosen in [tenants.get(tenant)] if tenant else tenants.list():
        periods = [p for p in tenant_usage(table, chosen.tenant_id) if provider in (None, p.provider)]
        lines += [f"{chosen.tenant_id:<24} {chosen.credits:>9}  {_counts(p)}" for p in periods] or [
            f"{chosen.tenant_id:<24} {chosen.credits:>9}  -"]
    return lines


def provider_usage_lines(table: Any, provider: str | None = None) -> list[str]:
    """One line per provider and period, over every tenant."""
    from ocrflow.workflow.usage import all_provider_usage, provider_usage

    periods = provider_usage(table, provider) if provider else all_provider_usage(table)
    rows = sorted(periods, key=lambda p: (p.provider, p.period))
    return [PROVIDER_HEADER, *(f"{p.provider:<24} {p.period:<10} {p.pages:>7} {p.requests:>8} {p.cost:>12.6f}"
                               for p in rows)]


def _counts(period: ProviderUsagePeriod) -> str:
    return f"{period.period:<10} {period.provider:<10} {period.pages:>7} {period.requests:>8} {period.cost:>12.6f}"
