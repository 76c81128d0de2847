"""Usage counted by commits in sharded counters, read back summed: per tenant and per provider, per month and
day, with cost; and the operator's `ocrflow usage` report."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ocrflow.api.tenants import TenantDirectory
from ocrflow.cli import main
from ocrflow.cli.usage import provider_status_lines, usage_report
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.credits import USAGE_SHARDS, DynamoLedger
from ocrflow.workflow.quotas import ProviderQuotas, quotas_from_json
from ocrflow.workflow.routing import tenant_route
from ocrflow.workflow.usage import ProviderUsagePeriod, all_provider_usage, provider_usage
from tests.aws_resources import TENANTS_TABLE

QUOTAS = '{"ocrspace": [{"per": "day", "requests": 500}]}'
DAY_ONE, DAY_TWO = datetime(2026, 11, 21, 9, 30, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def run_jobs(table, tenant: str, provider: str, jobs: int, pages: int, cost: float, when: datetime) -> None:
    ledger = DynamoLedger(table, now=lambda: when)
    for index in range(jobs):
        job = f"{tenant}-{provider}-{when:%d}-{index}"
        ledger.reserve(tenant, job, pages)
        ledger.commit(tenant, job, pages, provider, cost=cost)


def test_provider_usage_is_summed_over_shards_days_and_tenants(table):
    tenants = TenantDirectory(table)
    tenants.create("acme", credits=1000, credit_shards=4)
    tenants.create("beta", credits=1000)
    run_jobs(table, "acme", "ocrspace", 12, 2, 0.0015, DAY_ONE)
    run_jobs(table, "beta", "ocrspace", 4, 3, 0.1234567, DAY_ONE)  # stored to 6 places: 0.123457
    run_jobs(table, "acme", "ocrspace", 3, 1, 0.5, DAY_TWO)
    run_jobs(table, "acme", "adobe", 1, 5, 0.06, DAY_TWO)
    counters = [item for item in table.scan()["Items"] if item["pk"] == "PROVIDER#ocrspace"
                and item["sk"].startswith("USAGE#2026-11#")]
    assert 1 < len(counters) <= USAGE_SHARDS  # commits spread over the counter shards
    assert provider_usage(table, "ocrspace") == [
        ProviderUsagePeriod(period="2026-11", provider="ocrspace", pages=39, requests=19, cost=2.011828),
        ProviderUsagePeriod(period="2026-11-21", provider="ocrspace", pages=36, requests=16, cost=0.511828),
        ProviderUsagePeriod(period="2026-11-22", provider="ocrspace", pages=3, requests=3, cost=1.5)]
    assert sorted((u.provider, u.period, u.pages) for u in all_provider_usage(table)) == [
        ("adobe", "2026-11", 5), ("adobe", "2026-11-22", 5), ("ocrspace", "2026-11", 39),
        ("ocrspace", "2026-11-21", 36), ("ocrspace", "2026-11-22", 3)]
    acme = {(u.period, u.provider): (u.pages, u.requests, u.cost) for u in tenants.usage("acme")}
    assert acme == {("2026-11", "adobe"): (5, 1, 0.06), ("2026-11", "ocrspace"): (27, 15, 1.518),
                    ("2026-11-21", "ocrspace"): (24, 12, 0.018), ("2026-11-22", "adobe"): (5, 1, 0.06),
                    ("2026-11-22", "ocrspace"): (3, 3, 1.5)}


def test_the_usage_report_and_command(table, capsys):
    tenants = TenantDirectory(table)
    tenants.create("acme", credits=100, credit_shards=8)
    tenants.create("idle", credits=5)
    run_jobs(table, "acme", "ocrspace", 2, 3, 0.0125, DAY_ONE)
    run_jobs(table, "default", "tesseract", 1, 7, 0, DAY_ONE)  # the operator's own upload: counted, not charged
    lines = usage_report(table)
    assert lines[0].split() == ["tenant", "credits", "period", "provider", "pages", "requests", "cost", "USD"]
    assert [line.split() for line in lines[1:4]] == [
        ["acme", "94", "2026-11", "ocrspace", "6", "2", "0.025000"],
        ["acme", "94", "2026-11-21", "ocrspace", "6", "2", "0.025000"],
        ["idle", "5", "-"]]
    assert [line.split() for line in lines[4:6]] == [
        ["default", "(unmetered)", "-", "2026-11", "tesseract", "7", "1", "0.000000"],
        ["default", "(unmetered)", "-", "2026-11-21", "tesseract", "7", "1", "0.000000"]]
    first_blank = lines.index("")
    providers = lines[first_blank + 1:lines.index("", first_blank + 1)]
    assert [line.split() for line in providers[1:]] == [
        ["ocrspace", "2026-11", "6", "2", "0.025000"], ["ocrspace", "2026-11-21", "6", "2", "0.025000"],
        ["tesseract", "2026-11", "7", "1", "0.000000"], ["tesseract", "2026-11-21", "7", "1", "0.000000"]]

    assert main(["usage", "--table", TENANTS_TABLE, "--tenant", "acme", "--provider", "tesseract"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^acme\s+94\s+-$", out, re.MULTILINE)  # no tesseract usage of its own
    assert re.search(r"^tesseract\s+2026-11\s+7\s+1\s+0\.000000$", out, re.MULTILINE)
    assert "ocrspace" not in out and "idle" not in out
    assert main(["usage", "--table", TENANTS_TABLE, "--tenant", "nobody"]) == 1
    assert "[tenant_not_found]" in capsys.readouterr().err


def test_tenant_commands_for_shards(table, capsys):
    assert main(["tenants", "--table", TENANTS_TABLE, "create", "acme", "--credits", "50", "--credit-shards", "5"]) == 0
    assert TenantDirectory(table).get("acme").credit_shards == 5
    capsys.readouterr()
    assert main(["tenants", "--table", TENANTS_TABLE, "shards", "acme", "2"]) == 0
    assert capsys.readouterr().out == "acme: 2 credit shards, 50 pages\n"
    assert main(["tenants", "--table", TENANTS_TABLE, "shards", "acme", "64"]) == 1
    assert "[invalid_credit_shards]" in capsys.readouterr().err


def test_the_report_shows_what_routing_knows_of_each_provider(table):
    now = datetime.now(UTC).timestamp()
    quotas = ProviderQuotas(table, quotas_from_json(QUOTAS))
    quotas.take("ocrspace", requests=1, pages=2)
    quotas.record_balance("pdfocr", 37, "pages")
    quotas.mark_exhausted("pdfmage", 600, "pdfmage credit balance is too low")
    status = provider_status_lines(table, quotas=QUOTAS)
    rows = {line.split()[0]: line for line in status[1:]}
    assert set(rows) == {"ocrspace", "pdfocr", "pdfmage"}
    assert "1 req/2 p this day" in rows["ocrspace"] and "available" in rows["ocrspace"]
    assert "37 pages" in rows["pdfocr"]
    assert re.search(r"exhausted (59\d|600) s more: pdfmage", rows["pdfmage"])
    assert rows["pdfmage"].endswith(": pdfmage credit balance is too low")  # the reason whole, never cut
    assert quotas.status("pdfmage").exhausted_until >= now + 599


def test_a_tenants_own_route_is_set_and_cleared_by_the_operator(table, capsys):
    TenantDirectory(table).create("acme")
    assert main(["tenants", "--table", TENANTS_TABLE, "route", "acme", "ocrspace", "pdfmage"]) == 0
    assert tenant_route(table, "acme") == [ProviderName.OCRSPACE, ProviderName.PDFMAGE]
    assert "route ocrspace, pdfmage" in capsys.readouterr().out
    assert main(["tenants", "--table", TENANTS_TABLE, "route", "acme"]) == 0
    assert tenant_route(table, "acme") is None and "the deployment's route" in capsys.readouterr().out
    assert main(["tenants", "--table", TENANTS_TABLE, "route", "nobody", "ocrspace"]) == 1
    assert "[tenant_not_found]" in capsys.readouterr().err
    assert main(["tenants", "--table", TENANTS_TABLE, "route", "acme", "gpt"]) == 1
    assert "[config_error]" in capsys.readouterr().err
