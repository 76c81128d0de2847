"""Routing configuration and the choice of candidates: what an operator writes in OCRFLOW_ROUTE, what a job
names, and what routing makes of it - including any malformed route (a typed ConfigError, nothing else)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocrflow.errors import (
    ConfigError,
    InsufficientCreditsError,
    LanguageNotAvailableError,
    OcrEngineError,
    ProviderNotAvailableError,
    ProviderUnavailableError,
    QuotaExhaustedError,
)
from ocrflow.providers.names import ProviderName
from ocrflow.workflow.quotas import ProviderStatus, quotas_from_json
from ocrflow.workflow.routing import AUTO, RouteEntry, candidates, moves_on, parse_route

P = ProviderName


def names(entries: list[RouteEntry]) -> list[str]:
    return [entry.provider.value for entry in entries]


def test_route_in_both_spellings():
    text = parse_route("pdfmage:0.01, ocrspace ,pdfocr:0.004")
    json_ = parse_route('[{"provider": "pdfmage", "cost_per_page": 0.01}, "ocrspace", '
                        '{"provider": "pdfocr", "cost_per_page": 0.004}]')
    assert text == json_
    assert [(e.provider, e.cost_per_page) for e in text] == [(P.PDFMAGE, 0.01), (P.OCRSPACE, 0.0), (P.PDFOCR, 0.004)]
    assert parse_route("") == [] and parse_route(None) == []
    assert names(parse_route("ocrspace,pdfmage,ocrspace")) == ["ocrspace", "pdfmage"]  # first mention wins


@pytest.mark.parametrize("bad", ["ocrspace,gpt", "pdfmage:cheap", "pdfmage:-1", "[1, 2]", '[{"cost": 1}]', "[",
                                 '{"provider": "pdfmage"}'])
def test_a_malformed_route_is_a_config_error_naming_the_setting(bad):
    with pytest.raises(ConfigError, match="OCRFLOW_ROUTE"):
        parse_route(bad)


@given(st.text(max_size=60))
def test_any_route_text_parses_or_fails_typed(text):
    try:
        route = parse_route(text)
    except ConfigError:
        return
    assert all(isinstance(entry.provider, ProviderName) and entry.cost_per_page >= 0 for entry in route)


def test_auto_follows_the_deployment_route_then_the_embedded_engine():
    route = parse_route("pdfmage:0.01,ocrspace")
    assert names(candidates(AUTO, None, route, embedded_fallback=True)) == ["pdfmage", "ocrspace", "tesseract"]
    assert names(candidates(AUTO, None, route, embedded_fallback=False)) == ["pdfmage", "ocrspace"]
    assert names(candidates(AUTO, None, [], embedded_fallback=True)) == ["tesseract"]
    with pytest.raises(ConfigError, match="no provider"):
        candidates(AUTO, None, [], embedded_fallback=False)


def test_a_tenants_route_replaces_the_deployments_with_the_deployments_prices():
    route = parse_route("pdfmage:0.01,ocrspace:0.002")
    chosen = candidates(AUTO, [P.OCRSPACE, P.YANDEX], route, embedded_fallback=True, embedded_cost=0.0005)
    assert [(e.provider.value, e.cost_per_page) for e in chosen] == [
        ("ocrspace", 0.002), ("yandex", 0.0), ("tesseract", 0.0005)]


def test_a_named_provider_is_the_only_candidate():
    route = parse_route("pdfmage:0.01")
    assert [(e.provider.value, e.cost_per_page) for e in candidates("pdfmage", None, route, True)] == [
        ("pdfmage", 0.01)]
    assert names(candidates("tesseract", [P.OCRSPACE], route, True)) == ["tesseract"]
    with pytest.raises(ProviderNotAvailableError, match="'gpt' is not a provider"):
        candidates("gpt", None, route, True)


def test_routing_moves_on_for_provider_trouble_and_stops_for_credits_and_engine_faults():
    assert moves_on(QuotaExhaustedError("x")) and moves_on(ProviderUnavailableError("x"))
    assert moves_on(LanguageNotAvailableError("x")) and moves_on(ConfigError("x"))
    assert not moves_on(InsufficientCreditsError("x")) and not moves_on(OcrEngineError("x"))


def test_a_reported_balance_or_an_exhausted_mark_refuses_a_provider():
    now = 1_000_000.0
    assert ProviderStatus(provider="pdfmage").refusal(now, 5) is None  # nothing known: try it
    assert "exhausted" in ProviderStatus(provider="pdfmage", exhausted_until=now + 10).refusal(now, 1)
    assert ProviderStatus(provider="pdfmage", exhausted_until=now - 1).refusal(now, 1) is None  # the mark ran out
    pages = ProviderStatus(provider="pdfocr", balance=3, balance_unit="pages")
    assert pages.refusal(now, 3) is None and "3 needed" not in (pages.refusal(now, 4) or "")
    assert "4 needed" in pages.refusal(now, 4)
    money = ProviderStatus(provider="pdfmage", balance=0.05, balance_unit="usd")
    assert money.refusal(now, 5, cost_per_page=0.01) is None
    assert money.refusal(now, 6, cost_per_page=0.01) is not None
    assert ProviderStatus(provider="pdfmage", balance=0, balance_unit="usd").refusal(now, 1) is not None


@pytest.mark.parametrize("bad", ['{"ocrspace": [{"per": "week", "requests": 1}]}', '{"ocrspace": [{"per": "day"}]}',
                                 "not json", '{"ocrspace": {"per": "day"}}'])
def test_malformed_quotas_are_a_config_error(bad):
    with pytest.raises(ConfigError, match="OCRFLOW_QUOTAS"):
        quotas_from_json(bad)
