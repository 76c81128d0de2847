"""The SSRF guard without a network: which URLs `check_url` lets through, in every spelling of an address, and
what the connect-time guard does when a name resolves to a private address (the DNS is injected)."""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocrflow.net.safe_http import (
    GuardedNetworkBackend,
    UrlNotAllowedError,
    UrlPolicy,
    UrlUnreachableError,
    check_url,
    fetch,
    safe_client,
)

HTTPS_ONLY = UrlPolicy()


@pytest.mark.parametrize("url", [
    "https://example.com/scan.pdf",
    "https://EXAMPLE.com./scan.pdf?X-Amz-Signature=abc",
    "https://bücher.de/",
    "https://example.com:8443/",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
])
def test_check_url_accepts_https_to_public_hosts(url: str) -> None:
    assert check_url(url, HTTPS_ONLY).scheme == "https"


def test_plain_http_needs_the_policy_to_allow_it() -> None:
    with pytest.raises(UrlNotAllowedError, match="only https"):
        check_url("http://example.com/", HTTPS_ONLY)
    assert check_url("http://example.com/", UrlPolicy(allow_http=True)).scheme == "http"


@pytest.mark.parametrize("url", ["ftp://example.com/f", "file:///etc/passwd", "gopher://example.com/",
                                 "//example.com/x", "example.com/x", "https:///x", "https://", "not a url at all"])
def test_other_schemes_and_hostless_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowedError) as refused:
        check_url(url, UrlPolicy(allow_http=True))
    assert refused.value.code == "url_not_allowed"
    assert refused.value.retryable is False


@pytest.mark.parametrize("url", ["https://alice:s3cr3t-pw@example.com/", "https://s3cr3t-pw@example.com/",
                                 "https://127.0.0.1:80@example.com/"])
def test_credentials_in_the_url_are_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(UrlNotAllowedError, match="user name or password") as refused:
        check_url(url, HTTPS_ONLY)
    assert "s3cr3t" not in str(refused.value)
    assert "s3cr3t" not in repr(refused.value.to_record())


@pytest.mark.parametrize("host", [
    # loopback, in the spellings resolvers accept
    "127.0.0.1", "127.1.2.3", "127.0.0.1.", "2130706433", "0x7f000001", "0X7F000001", "0x7f.0.0.1", "0x7f.0x0.0x0.0x1",
    "0177.0.0.1", "0177.0000.0000.0001", "127.1", "127.0.1", "017700000001", "%31%32%37.0.0.1", "127。0。0。1",
    "[::1]", "[0:0:0:0:0:0:0:1]", "[::0001]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]",
    "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]", "localhost", "LOCALHOST", "localhost.", "api.localhost",
    # unspecified (Linux connects 0.0.0.0 to the local host)
    "0.0.0.0", "0", "0x0", "[::]", "[::ffff:0.0.0.0]",
    # private networks
    "10.0.0.5", "167772165", "0xa000005", "172.16.0.1", "172.31.255.254", "192.168.1.1", "[::ffff:10.0.0.5]",
    "[::ffff:192.168.0.1]", "[fc00::1]", "[fd12:3456:789a::1]",
    # link-local and cloud metadata
    "169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518", "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]", "169.254.170.2", "[fd00:ec2::254]", "[fe80::1]", "[fe80::1%25eth0]",
    "100.100.100.200", "168.63.129.16", "metadata.google.internal", "metadata", "instance-data",
    # carrier-grade NAT, multicast, reserved, broadcast, benchmarking, site-local
    "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.255.255.250", "[ff02::1]", "240.0.0.1", "255.255.255.255",
    "198.18.0.1", "[fec0::1]",
    # a public address in an unusual spelling is refused too rather than decoded (8.8.8.8)
    "134744072", "0x08080808",
])
def test_non_public_hosts_are_refused_in_every_spelling(host: str) -> None:
    with pytest.raises(UrlNotAllowedError):
        check_url(f"https://{host}/latest/meta-data/", HTTPS_ONLY)
    with pytest.raises(UrlNotAllowedError):
        check_url(f"http://{host}:8080/", UrlPolicy(allow_http=True))


@pytest.mark.parametrize(("host", "reason"), [
    ("127.0.0.1", "loopback"), ("[::ffff:127.0.0.1]", "loopback"), ("10.0.0.5", "private"),
    ("169.254.169.254", "cloud metadata"), ("[fd00:ec2::254]", "cloud metadata"), ("168.63.129.16", "cloud metadata"),
    ("169.254.1.1", "link-local"), ("100.64.0.1", "carrier-grade NAT"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
])
def test_the_refusal_says_what_kind_of_address_it_is(host: str, reason: str) -> None:
    with pytest.raises(UrlNotAllowedError, match=f"not allowed \\({reason} address\\)"):
        check_url(f"https://{host}/", HTTPS_ONLY)


NON_PUBLIC_NETWORKS = [
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
    "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "198.18.0.0/15", "192.0.2.0/24",
    "::1/128", "::/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "2001:db8::/32",
]


def _ipv4_spellings(address: ipaddress.IPv4Address) -> list[str]:
    a, b, c, d = address.packed
    number = int(address)
    return [
        str(address), f"{address}.", str(number), hex(number), hex(number).upper().replace("X", "x"),
        ".".join(hex(octet) for octet in address.packed), ".".join(f"0{octet:o}" for octet in address.packed),
        f"{a}.{b}.{c << 8 | d}", f"{a}.{b << 16 | c << 8 | d}", f"[::ffff:{address}]",
        f"[::ffff:{number >> 16:x}:{number & 0xFFFF:x}]", f"[64:ff9b::{address}]", f"[{ipaddress.IPv6Address(number)}]",
    ]


def _ipv6_spellings(address: ipaddress.IPv6Address) -> list[str]:
    return [f"[{address.compressed}]", f"[{address.exploded}]", f"[{address.exploded.upper()}]"]


@st.composite
def non_public_hosts(draw: st.DrawFn) -> str:
    network = draw(st.sampled_from(NON_PUBLIC_NETWORKS))
    address = draw(st.ip_addresses(network=network))
    spellings = _ipv4_spellings(address) if address.version == 4 else _ipv6_spellings(address)
    host = draw(st.sampled_from(spellings))
    port = draw(st.sampled_from(["", ":443", ":8080"]))
    return f"{host}{port}"


@given(non_public_hosts(), st.sampled_from(["/", "/latest/meta-data/iam/", "/?next=https://example.com/"]))
def test_no_spelling_of_a_non_public_address_gets_through(host: str, path: str) -> None:
    with pytest.raises(UrlNotAllowedError):
        check_url(f"https://{host}{path}", HTTPS_ONLY)


def test_allowed_hosts_exempt_names_addresses_and_networks_as_written_in_the_url() -> None:
    policy = UrlPolicy(allow_http=True, allowed_hosts=frozenset({"LocalHost.", "[::1]", "10.0.0.0/8"}))
    for url in ["http://localhost:8080/", "http://[::1]/", "http://10.1.2.3/", "http://10.255.0.1:9000/"]:
        assert check_url(url, policy).host
    for url in ["http://127.0.0.1/", "http://[::ffff:10.1.2.3]/", "http://192.168.0.1/"]:
        with pytest.raises(UrlNotAllowedError):
            check_url(url, policy)


def test_an_exemption_still_requires_an_allowed_scheme() -> None:
    with pytest.raises(UrlNotAllowedError, match="only https"):
        check_url("http://127.0.0.1/", UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"})))


# --- the guard at connect time, with injected DNS ------------------------------------------------------


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection attempt (address, port). Each is refused, so nothing leaves the machine."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize("answer", [
    ["127.0.0.1"], ["10.0.0.5"], ["169.254.169.254"], ["::1"], ["fd00:ec2::254"], ["::ffff:10.0.0.5"],
    ["100.64.0.7"], ["0.0.0.0"], ["93.184.216.34", "10.0.0.5"], ["2606:2800:220:1::1", "::1"],
])
def test_a_public_name_that_resolves_to_a_private_address_is_refused_before_connecting(
        answer: list[str], connections: list[tuple[str, int]]) -> None:
    with safe_client(HTTPS_ONLY, resolver=lambda host: answer) as client, \
            pytest.raises(UrlNotAllowedError, match="public.example resolves to"):
        client.get("https://public.example/")
    assert connections == []


def test_the_connection_goes_to_the_vetted_address_not_to_the_name(connections: list[tuple[str, int]]) -> None:
    lookups: list[str] = []

    def resolver(host: str) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34", "2606:2800:220:1::1"]

    with safe_client(HTTPS_ONLY, resolver=resolver) as client, pytest.raises(httpx.ConnectError):
        client.get("https://public.example:8443/")
    assert lookups == ["public.example"]
    assert connections == [("93.184.216.34", 8443), ("2606:2800:220:1::1", 8443)]


def test_an_exempt_name_may_resolve_to_a_private_address(connections: list[tuple[str, int]]) -> None:
    policy = UrlPolicy(allowed_hosts=frozenset({"ocr.internal.example"}))
    with safe_client(policy, resolver=lambda host: ["10.0.0.5"]) as client, pytest.raises(httpx.ConnectError):
        client.get("https://ocr.internal.example/")
    assert connections == [("10.0.0.5", 443)]


def test_an_exempt_address_does_not_exempt_names_that_resolve_to_it(connections: list[tuple[str, int]]) -> None:
    policy = UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    with safe_client(policy, resolver=lambda host: ["127.0.0.1"]) as client, pytest.raises(UrlNotAllowedError):
        client.get("https://rebind.example/")
    assert connections == []


def test_the_client_checks_the_url_of_every_request(connections: list[tuple[str, int]]) -> None:
    with safe_client(HTTPS_ONLY, resolver=lambda host: ["93.184.216.34"]) as client:
        for url in ["https://169.254.169.254/", "http://public.example/", "https://u:p@public.example/"]:
            with pytest.raises(UrlNotAllowedError):
                client.get(url)
    assert connections == []


def test_a_name_that_does_not_resolve_is_unreachable_and_may_be_retried(connections: list[tuple[str, int]]) -> None:
    def no_such_name(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UrlUnreachableError) as unreachable:
        fetch("https://no-such-name.example/file.pdf?token=SECRET", HTTPS_ONLY, max_bytes=1000, resolver=no_such_name)
    assert unreachable.value.retryable is True
    assert "no-such-name.example" in str(unreachable.value)
    assert "SECRET" not in str(unreachable.value)
    assert connections == []


def test_a_refused_connection_is_unreachable_and_may_be_retried(connections: list[tuple[str, int]]) -> None:
    with pytest.raises(UrlUnreachableError, match="ConnectError") as unreachable:
        fetch("https://public.example/f.pdf", HTTPS_ONLY, max_bytes=1000, resolver=lambda host: ["93.184.216.34"])
    assert unreachable.value.code == "url_unreachable"
    assert unreachable.value.retryable is True
    assert connections == [("93.184.216.34", 443)]


def test_an_exemption_may_be_limited_to_a_port_or_a_range_of_ports() -> None:
    policy = UrlPolicy(allow_http=True, allowed_hosts=frozenset({"127.0.0.1:28080-28099", "[::1]:8080",
                                                                 "10.0.0.0/8:9000", "files.internal.example:443"}))
    for url in ["http://127.0.0.1:28080/", "http://127.0.0.1:28099/x", "http://[::1]:8080/", "http://10.2.3.4:9000/",
                "https://files.internal.example/a.pdf"]:
        assert check_url(url, policy).host
    for url in ["http://127.0.0.1:28100/", "http://127.0.0.1/", "http://[::1]/", "http://10.2.3.4:9001/"]:
        with pytest.raises(UrlNotAllowedError):
            check_url(url, policy)
    assert policy.allowed_hosts == {"127.0.0.1:28080-28099", "[::1]:8080", "10.0.0.0/8:9000",
                                    "files.internal.example:443"}


@pytest.mark.parametrize("entry", ["127.0.0.1:http", "127.0.0.1:80-", "[::1]:x"])
def test_an_exemption_with_ports_that_are_not_numbers_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="ports must be"):
        UrlPolicy(allowed_hosts=frozenset({entry}))


def test_the_connect_guard_holds_a_port_limited_exemption_to_its_ports(connections: list[tuple[str, int]]) -> None:
    policy = UrlPolicy(allow_http=True, allowed_hosts=frozenset({"ocr.internal.example:8443"}))
    with safe_client(policy, resolver=lambda host: ["10.0.0.5"]) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("https://ocr.internal.example:8443/")
        with pytest.raises(UrlNotAllowedError):
            GuardedNetworkBackend(policy, lambda host: ["10.0.0.5"]).connect_tcp("ocr.internal.example", 9443)
    assert connections == [("10.0.0.5", 8443)]
