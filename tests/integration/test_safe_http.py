"""The SSRF guard against real HTTP servers on 127.0.0.1: fetching within a size limit, refusals that stop
before a request reaches the server (also when a redirect or the DNS points there), and TLS still checking
the URL's host name when the connection goes to a vetted address."""

from __future__ import annotations

import datetime
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.wrappers import Request, Response

from ocrflow.errors import FileTooLargeError
from ocrflow.net.safe_http import (
    GuardedNetworkBackend,
    UrlNotAllowedError,
    UrlPolicy,
    UrlUnreachableError,
    fetch,
    safe_client,
)
from tests.http_servers import serving, trickling

LOCAL = UrlPolicy(allow_http=True, allowed_hosts=frozenset({"127.0.0.1"}))
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


@dataclass
class LocalServer:
    url: str
    #: Path and query of every request that reached the server.
    requests: list[str] = field(default_factory=list)


@contextmanager
def serve(handler: Callable[[Request], Response], ssl_context: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    """Run `handler` as an HTTP server on 127.0.0.1 (a free port) for the duration of the block."""
    recorded: list[str] = []

    @Request.application
    def app(request: Request) -> Response:
        recorded.append(request.full_path.rstrip("?"))
        return handler(request)

    with serving(app, ssl_context) as url:
        yield LocalServer(url=url, requests=recorded)


def files(request: Request) -> Response:
    if request.path == "/scan.pdf":
        return Response(PDF, content_type="application/pdf")
    if request.path == "/chunked":  # a generator body: no Content-Length, sent in chunks
        size, count = int(request.args["size"]), int(request.args["count"])
        return Response((b"x" * size for _ in range(count)), content_type="application/octet-stream")
    if request.path == "/announces-a-lot":  # the header alone must be enough to refuse it
        return Response(iter([b"short"]), headers={"Content-Length": str(10**9)})
    if request.path == "/redirect":
        return Response(status=302, headers={"Location": request.args["to"]})
    if request.path == "/loop":
        return Response(status=302, headers={"Location": "/loop"})
    return Response(b"no such file", status=int(request.args.get("status", 404)))


def test_fetch_downloads_a_file_from_an_exempt_local_server() -> None:
    with serve(files) as server:
        fetched = fetch(f"{server.url}/scan.pdf", LOCAL, max_bytes=len(PDF))
    assert fetched.data == PDF
    assert fetched.content_type == "application/pdf"
    assert fetched.final_url == f"{server.url}/scan.pdf"


def test_fetch_refuses_a_file_whose_content_length_is_over_the_limit() -> None:
    with serve(files) as server:
        with pytest.raises(FileTooLargeError, match=f"{len(PDF)} bytes"):
            fetch(f"{server.url}/scan.pdf", LOCAL, max_bytes=len(PDF) - 1)
        with pytest.raises(FileTooLargeError):
            fetch(f"{server.url}/announces-a-lot", LOCAL, max_bytes=1000)


def test_fetch_stops_reading_a_chunked_body_once_it_passes_the_limit() -> None:
    with serve(files) as server:
        url = f"{server.url}/chunked?size=65536&count=200"
        with httpx.stream("GET", url) as response:  # the premise: nothing announces the size
            assert "content-length" not in response.headers
        with pytest.raises(FileTooLargeError, match="larger than the 100000 bytes"):
            fetch(url, LOCAL, max_bytes=100_000)
        assert fetch(f"{server.url}/chunked?size=1000&count=5", LOCAL, max_bytes=5000).data == b"x" * 5000


def test_without_the_exemption_loopback_is_refused_and_no_request_arrives() -> None:
    with serve(files) as server:
        with pytest.raises(UrlNotAllowedError, match="loopback"):
            fetch(f"{server.url}/scan.pdf", UrlPolicy(allow_http=True), max_bytes=len(PDF))
        with pytest.raises(UrlNotAllowedError, match="localhost is an internal host name"):
            fetch(f"{server.url.replace('127.0.0.1', 'localhost')}/scan.pdf", UrlPolicy(allow_http=True),
                  max_bytes=len(PDF))
        assert server.requests == []


def test_the_connect_guard_alone_refuses_loopback_without_the_exemption() -> None:
    """Bypassing `check_url` entirely: the backend still refuses, before anything reaches the server."""
    with serve(files) as server, httpcore.ConnectionPool(network_backend=GuardedNetworkBackend(UrlPolicy())) as pool:
        with pytest.raises(UrlNotAllowedError, match="resolves to 127.0.0.1"):
            pool.request("GET", f"{server.url}/scan.pdf")
        assert server.requests == []


def test_a_name_that_resolves_to_loopback_is_refused_even_though_loopback_is_exempt() -> None:
    with serve(files) as server:
        url = f"{server.url.replace('127.0.0.1', 'files.example.com')}/scan.pdf"
        with pytest.raises(UrlNotAllowedError, match="files.example.com resolves to 127.0.0.1"):
            fetch(url, LOCAL, max_bytes=len(PDF), resolver=lambda host: ["127.0.0.1"])
        assert server.requests == []


def test_redirects_within_the_exempt_server_are_followed() -> None:
    with serve(files) as server:
        fetched = fetch(f"{server.url}/redirect?to=/scan.pdf", LOCAL, max_bytes=len(PDF))
        assert fetched.data == PDF
        assert fetched.final_url == f"{server.url}/scan.pdf"
        assert server.requests == ["/redirect?to=/scan.pdf", "/scan.pdf"]


@pytest.mark.parametrize("target", [
    "http://localhost:{port}/scan.pdf",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::ffff:127.0.0.1]:{port}/scan.pdf",
    "http://rebound.example.com:{port}/scan.pdf",  # passes check_url, resolves to 127.0.0.1
    "ftp://127.0.0.1:{port}/scan.pdf",
])
def test_a_redirect_to_a_non_public_address_is_refused_and_never_requested(target: str) -> None:
    with serve(files) as server, serve(files) as other:
        location = target.format(port=other.url.rsplit(":", 1)[1])
        with pytest.raises(UrlNotAllowedError):
            fetch(f"{server.url}/redirect?to={location}", LOCAL, max_bytes=len(PDF),
                  resolver=lambda host: ["127.0.0.1"])
        assert len(server.requests) == 1
        assert other.requests == []


def test_the_client_from_safe_client_refuses_redirects_to_non_public_addresses_too() -> None:
    with serve(files) as server, safe_client(LOCAL) as client:
        assert client.get(f"{server.url}/redirect?to=/scan.pdf").content == PDF
        with pytest.raises(UrlNotAllowedError, match="cloud metadata"):
            client.get(f"{server.url}/redirect?to=http://169.254.169.254/")


def test_redirects_are_followed_at_most_max_redirects_times() -> None:
    policy = LOCAL.model_copy(update={"max_redirects": 2})
    with serve(files) as server:
        with pytest.raises(UrlUnreachableError, match="more than 2 times") as unreachable:
            fetch(f"{server.url}/loop", policy, max_bytes=1000)
        assert unreachable.value.retryable is False
        assert server.requests == ["/loop"] * 3


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (429, True), (503, True)])
def test_an_error_status_is_unreachable_with_the_status_but_not_the_path_or_query(status: int, retryable: bool) -> None:
    with serve(files) as server, pytest.raises(UrlUnreachableError, match=f"HTTP {status}") as unreachable:
        fetch(f"{server.url}/private/token-in-path?status={status}&X-Amz-Signature=SECRET", LOCAL, max_bytes=1000)
    assert unreachable.value.retryable is retryable
    assert unreachable.value.to_record()["status_code"] == status
    assert "SECRET" not in str(unreachable.value)
    assert "token-in-path" not in str(unreachable.value)


def test_a_closed_port_is_unreachable_and_may_be_retried() -> None:
    with serve(files) as server:
        closed = server.url
    with pytest.raises(UrlUnreachableError) as unreachable:
        fetch(f"{closed}/scan.pdf", LOCAL, max_bytes=1000)
    assert unreachable.value.retryable is True


# --- TLS through the guard -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_for_public_example(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext,
                                                                             list[str | None]]:
    """A server context with a self-signed certificate for public.example (recording the SNI names it is
    asked for), and a client context that trusts only that certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "public.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("public.example")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    server_names: list[str | None] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    server_context.sni_callback = lambda sock, server_name, context: server_names.append(server_name)
    client_context = ssl.create_default_context(cafile=str(directory / "cert.pem"))
    return server_context, client_context, server_names


def test_tls_uses_the_url_host_name_while_connecting_to_the_vetted_address(
        tls_for_public_example: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]) -> None:
    server_context, client_context, server_names = tls_for_public_example
    server_names.clear()
    policy = UrlPolicy(allowed_hosts=frozenset({"public.example", "other.example"}))
    backend = GuardedNetworkBackend(policy, resolver=lambda host: ["127.0.0.1"])
    with serve(files, ssl_context=server_context) as server, \
            httpcore.ConnectionPool(ssl_context=client_context, network_backend=backend) as pool:
        port = server.url.rsplit(":", 1)[1]
        response = pool.request("GET", f"https://public.example:{port}/scan.pdf")
        assert response.status == 200
        assert response.content == PDF
        assert server_names == ["public.example"]  # SNI carried the name, not 127.0.0.1

        # the certificate is checked against the URL's name too: it does not cover other.example
        with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            pool.request("GET", f"https://other.example:{port}/scan.pdf")
        assert server.requests == ["/scan.pdf"]


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_server_trickling_its_answer_is_given_up_on_at_the_deadline(part: str) -> None:
    """Each byte arrives well inside the per-read time-out; only the overall deadline ends the download."""
    with trickling(part, interval=0.05, for_seconds=8.0) as server:
        started = time.monotonic()
        with pytest.raises(UrlUnreachableError) as refused:
            fetch(f"{server.url}/scan.pdf", LOCAL, max_bytes=10_000, timeout=5.0, deadline_seconds=1.0)
        took = time.monotonic() - started
    assert 0.9 <= took < 3.0, took  # the deadline, with generous slack; the server trickles for 8 s
    assert refused.value.message == f"{server.url} did not finish answering within 1 s"
    assert refused.value.retryable


def test_a_prompt_server_is_read_within_the_deadline() -> None:
    with trickling("headers", interval=0.0, for_seconds=0.0) as server:
        fetched = fetch(f"{server.url}/scan.pdf", LOCAL, max_bytes=10_000, timeout=5.0, deadline_seconds=1.0)
    assert fetched.data == b"ok" * 1000
