"""`ocrflow tenants ...`: the operator's commands for tenants, their API keys and credits. They work on the
tenants table named by --table or OCRFLOW_TENANTS_TABLE, with the usual AWS credentials (and AWS_ENDPOINT_URL
for the local stack: `ocrflow api` prints the exports)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from ocrflow.errors import ConfigError
from ocrflow.providers.names import ProviderName

if TYPE_CHECKING:
    from ocrflow.api.tenants import TenantDirectory


def add_parser(commands: Any) -> None:
    tenants = commands.add_parser("tenants", help="create, list, revoke and credit tenants (API keys, credits)")
    tenants.add_argument("--table", default=os.environ.get("OCRFLOW_TENANTS_TABLE"),
                         help="the tenants table (default: $OCRFLOW_TENANTS_TABLE; stack output TenantsTable)")
    actions = tenants.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new tenant with one API key (shown once) and its webhook secret")
    create.add_argument("tenant")
    create.add_argument("--name", default="")
    create.add_argument("--credits", type=int, default=0, help="starting balance, in pages")
    create.add_argument("--rate-limit", type=int, default=None, help="requests per minute per key")
    create.add_argument("--credit-shards", type=int, default=1, metavar="N",
                        help="balance items the credits are spread over (1-32): more for tenants that send many "
                             "jobs at once")
    actions.add_parser("list", help="every tenant with its balance and keys")
    revoke = actions.add_parser("revoke", help="revoke one API key (--key) or a whole tenant (all its keys)")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("tenant", nargs="?")
    target.add_argument("--key", metavar="KEY_ID", help="the key id (the 12 hex digits after ofk_)")
    credit = actions.add_parser("credit", help="add (or, negative, remove) credits in pages")
    credit.add_argument("tenant")
    credit.add_argument("pages", type=int)
    key = actions.add_parser("add-key", help="one more API key for a tenant (shown once)")
    key.add_argument("tenant")
    shards = actions.add_parser("shards", help="change how many balance items a tenant's credits are spread over")
    shards.add_argument("tenant")
    shards.add_argument("shards", type=int, metavar="N", help="1-32; the balance is spread evenly over them")
    route = actions.add_parser("route", help="the tenant's own providers, in order, for jobs that name none "
                               "(none given: back to the deployment's route)")
    route.add_argument("tenant")
    route.add_argument("providers", nargs="*", metavar="PROVIDER",
                       help=f"any of {', '.join(p.value for p in ProviderName)}, e.g. ocrspace pdfmage")
    usage = actions.add_parser("usage", help="balance, and pages, requests and cost per period and provider "
                               "(`ocrflow usage` adds each provider's totals)")
    usage.add_argument("tenant", nargs="?", help="one tenant (default: all)")


def directory(table: str | None) -> TenantDirectory:
    if not table:
        raise ConfigError("no tenants table: pass --table or set OCRFLOW_TENANTS_TABLE (stack output TenantsTable)")
    import boto3

    from ocrflow.api.tenants import TenantDirectory

    return TenantDirectory(boto3.resource("dynamodb").Table(table))


def run(args: argparse.Namespace) -> int:
    tenants = directory(args.table)
    if args.action == "create":
        made = tenants.create(args.tenant, name=args.name, credits=args.credits,
                              rate_limit_per_minute=args.rate_limit, credit_shards=args.credit_shards)
        print(f"tenant:         {made.tenant.tenant_id}")
        print(f"credits:        {made.tenant.credits} pages")
        print(f"api key:        {made.api_key}   (shown once; only its hash is stored)")
        print(f"webhook secret: {made.tenant.webhook_secret}   (verifies X-Ocrflow-Signature)")
    elif args.action == "list":
        print(f"{'tenant':<24} {'status':<10} {'credits':>9}  keys (active/all)")
        for tenant in tenants.list():
            keys = tenants.keys(tenant.tenant_id)
            active = sum(1 for k in keys if k.revoked_at is None)
            print(f"{tenant.tenant_id:<24} {tenant.status:<10} {tenant.credits:>9}  {active}/{len(keys)}")
    elif args.action == "revoke":
        revoked = [tenants.revoke_key(args.key)] if args.key else tenants.revoke_tenant(args.tenant)
        for key in revoked:
            print(f"revoked key {key.key_id} of {key.tenant_id}")
        if not args.key:
            print(f"tenant {args.tenant} suspended")
    elif args.action == "credit":
        print(f"{args.tenant}: {tenants.credit(args.tenant, args.pages)} pages")
    elif args.action == "shards":
        tenant = tenants.set_credit_shards(args.tenant, args.shards)
        print(f"{tenant.tenant_id}: {tenant.credit_shards} credit shards, {tenant.credits} pages")
    elif args.action == "usage":
        from ocrflow.cli.usage import tenant_usage_lines

        print("\n".join(tenant_usage_lines(tenants.table, tenant=args.tenant)))
    elif args.action == "route":
        from ocrflow.workflow.routing import parse_route, set_tenant_route

        route = parse_route(",".join(args.providers))  # a typed error for an unknown provider
        tenants.get(args.tenant)  # and for an unknown tenant
        set_tenant_route(tenants.table, args.tenant, [entry.provider for entry in route] or None)
        print(f"{args.tenant}: " + (f"route {', '.join(args.providers)} (then the embedded engine, unless the "
                                    "deployment disables it)" if args.providers else "the deployment's route"))
    elif args.action == "add-key":
        print(f"api key: {tenants.add_key(args.tenant)}   (shown once; only its hash is stored)")
    return 0
