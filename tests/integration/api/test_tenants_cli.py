"""`ocrflow tenants ...` against the tenants table (moto): what an operator types and sees."""

from __future__ import annotations

import re

from ocrflow.cli import main
from tests.aws_resources import TENANTS_TABLE


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["tenants", "--table", TENANTS_TABLE, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_create_list_credit_and_revoke(api, capsys):
    code, out = run(capsys, "create", "acme", "--credits", "100")
    assert code == 0
    key = re.search(r"api key:\s+(ofk_\S+)", out)[1]
    assert re.search(r"webhook secret:\s+\S{40,}", out)
    assert api.call("GET", "/v1/usage", key).body["credits"] == 100
    assert run(capsys, "credit", "acme", "50") == (0, "acme: 150 pages\n")
    code, out = run(capsys, "credit", "acme", "-500")
    assert code == 1 and "[insufficient_credits]" in out  # the balance never goes below zero
    code, out = run(capsys, "list")
    assert re.search(r"^acme\s+active\s+150\s+1/1$", out, re.MULTILINE)
    code, out = run(capsys, "revoke", "--key", key.split("_")[1])
    assert code == 0 and api.call("GET", "/v1/usage", key).status == 401
    assert run(capsys, "create", "acme")[0] == 1  # exists
    code, out = run(capsys, "create", "Not A Tenant!")
    assert code == 1 and "[invalid_tenant_id]" in out


def test_without_a_table_the_command_says_what_is_missing(capsys, monkeypatch):
    monkeypatch.delenv("OCRFLOW_TENANTS_TABLE", raising=False)
    code = main(["tenants", "list"])
    assert code == 1 and "OCRFLOW_TENANTS_TABLE" in capsys.readouterr().err


def test_usage_shows_balance_and_pages_per_period_and_provider(api, capsys):
    from ocrflow.workflow.credits import DynamoLedger

    run(capsys, "create", "acme", "--credits", "10")
    ledger = DynamoLedger(api.deps.tenants.table)
    ledger.reserve("acme", "job-1", 3)
    ledger.commit("acme", "job-1", 3, "ocrspace")
    code, out = run(capsys, "usage", "acme")
    rows = [line.split() for line in out.splitlines()[1:]]
    assert code == 0 and len(rows) == 2
    assert all(row[0] == "acme" and row[1] == "7" and row[3:] == ["ocrspace", "3", "1", "0.000000"] for row in rows)
    assert {len(row[2]) for row in rows} == {7, 10}  # a month and a day
