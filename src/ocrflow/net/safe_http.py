"""Outbound HTTP to URLs a user gave us (a document's `source_url`, a webhook callback) that cannot be turned
against ocrflow's own network: loopback, private ranges, cloud metadata endpoints (SSRF).

There are two layers, and every redirect hop passes both:

* `check_url` refuses bad URLs before any traffic: another scheme, credentials in the URL, an IP literal of a
  non-public address in any spelling, internal names such as ``localhost``;
* `GuardedNetworkBackend` is the real guard. It resolves the host name itself, refuses the connection when any
  address is not public, and connects to the vetted address rather than to the name - a name that resolves to
  a public address when checked could resolve to a private one a moment later (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ocrflow.errors import FileTooLargeError, InputError, OcrflowError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Host name -> the IP addresses (as text) it resolves to. Injectable so tests can play DNS.
Resolver = Callable[[str], Sequence[str]]


class Deadline:
    """A wall-clock limit on everything one request (or a delivery's every attempt) may take: connecting,
    sending, the headers and the body. httpx's time-outs bound each read, so a server trickling a byte a second
    never meets them; the guarded streams give every read only the time left."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    def elapsed(self) -> float:
        return self._clock() - (self._ends - self.seconds)

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0

    def bound(self, timeout: float | None) -> float:
        """`timeout` cut to the time left; httpcore's time-out error when none is left."""
        left = self.remaining()
        if left <= 0:
            raise httpcore.ReadTimeout(f"the {self.seconds:g} s deadline passed")
        return left if timeout is None else min(timeout, left)


class UrlNotAllowedError(InputError):
    """The URL points somewhere ocrflow must not go. Final: asking again cannot make it allowed."""

    code = "url_not_allowed"


class UrlUnreachableError(OcrflowError):
    """The URL is allowed but gave no usable answer: DNS or connection failure, time-out, non-2xx status."""

    code = "url_unreachable"
    retryable = True


class UrlPolicy(BaseModel):
    """Where user-supplied URLs may point. The defaults are the production ones: https, public addresses."""

    model_config = ConfigDict(frozen=True)

    allow_http: bool = False
    #: Host names, IP addresses or CIDR networks exempt from the public-address rule (local tests, a known
    #: internal service), each on any port or only on some: ``host:port`` or ``host:first-last``
    #: (``[::1]:8080`` for IPv6). Matched against the host as written in the URL only: a name that merely
    #: *resolves* to an exempt address stays refused, or any DNS name could be pointed at it.
    allowed_hosts: frozenset[str] = frozenset()
    max_redirects: int = Field(default=3, ge=0)

    @field_validator("allowed_hosts")
    @classmethod
    def _normalise_hosts(cls, hosts: frozenset[str]) -> frozenset[str]:
        return frozenset(str(Exemption.parse(entry)) for entry in hosts if entry.strip())

    def exempts(self, host: str, port: int | None = None) -> bool:
        """True when `host` (as it appears in a URL) on `port` is listed in `allowed_hosts` by name, address or
        network, on any port or on that one. An unknown port (None) matches only entries for any port."""
        host = _bare_host(host.strip("[]"))
        address = _ip_literal(host)
        return any(exemption.covers(host, address, port) for exemption in map(Exemption.parse, self.allowed_hosts))


class Exemption(BaseModel):
    """One entry of UrlPolicy.allowed_hosts: a host (name, address or network) and the ports it is exempt on."""

    model_config = ConfigDict(frozen=True)

    host: str
    first_port: int | None = None
    last_port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> Exemption:
        entry = entry.strip()
        ports = ""
        if entry.startswith("["):  # [v6 address]:port
            host, _, rest = entry[1:].partition("]")
            ports = rest.removeprefix(":")
        elif entry.count(":") == 1:  # name or v4 address:port (a bare v6 address has several colons)
            host, _, ports = entry.partition(":")
        else:
            host = entry
        if not ports:
            return cls(host=_bare_host(host))
        first, dash, last = ports.partition("-")
        if not first.isdigit() or not (last if dash else first).isdigit():
            raise ValueError(f"{entry!r}: ports must be a number or a range such as 8000-8099")
        return cls(host=_bare_host(host), first_port=int(first), last_port=int(last or first))

    def covers(self, host: str, address: IpAddress | None, port: int | None) -> bool:
        if self.first_port is not None and (port is None or not self.first_port <= port <= (self.last_port or 0)):
            return False
        if host == self.host:
            return True
        if address is None:
            return False
        try:
            return address in ipaddress.ip_network(self.host, strict=False)
        except ValueError:  # a host name, not a network
            return False

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.first_port is not None else self.host
        if self.first_port is None:
            return host
        ports = str(self.first_port) if self.first_port == self.last_port else f"{self.first_port}-{self.last_port}"
        return f"{host}:{ports}"


class FetchedFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    data: bytes
    content_type: str | None
    #: Where the body came from after redirects. May hold query tokens: keep it out of logs.
    final_url: str


# --- which addresses are public --------------------------------------------------------------------------

#: Endpoints that hand out credentials or instance data. Most also fall in a range refused below; they are
#: listed so the refusal names them, and because Azure's WireServer is a public address that nothing else
#: catches.
_CLOUD_METADATA_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "169.254.169.254/32",  # AWS, GCP, Azure, Oracle instance metadata
    "169.254.170.2/32",  # AWS ECS task metadata and credentials
    "fd00:ec2::254/128",  # AWS instance metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud instance metadata
    "168.63.129.16/32",  # Azure WireServer
))
#: Carrier-grade NAT: Python calls it neither private nor global, so it is named explicitly.
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
#: NAT64 translates 64:ff9b::a.b.c.d to the IPv4 address a.b.c.d, so the embedded address is what counts.
_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
#: `ipaddress` properties that make an address off-limits, checked in this order so the most telling
#: reason is reported (127.0.0.1 is both loopback and private).
_REFUSED_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
    ("is_site_local", "site-local"),
)


def _refusal_reason(address: IpAddress) -> str | None:
    """Why `address` must not be connected to, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _refusal_reason(embedded)
    if any(address in network for network in _CLOUD_METADATA_NETWORKS):
        return "cloud metadata"
    if address in _SHARED_ADDRESS_SPACE:
        return "carrier-grade NAT"
    for attribute, kind in _REFUSED_KINDS:
        if getattr(address, attribute, False):
            return kind
    return None if address.is_global else "non-public"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `address` really reaches (IPv4-mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


# --- URL check before any traffic ------------------------------------------------------------------------

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
#: A last label like this makes resolvers read the whole name as an IPv4 address: 2130706433, 0x7f.1, 127.1.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
DEFAULT_PORTS = {"http": 80, "https": 443}
_INTERNAL_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})


def check_url(url: str | httpx.URL, policy: UrlPolicy) -> httpx.URL:
    """`url` parsed, or UrlNotAllowedError when it may not be requested at all. No network traffic.

    IP literals are accepted only in their standard spelling, which is checked; the other spellings that
    resolvers still understand (decimal, hex, octal, short forms) are refused rather than decoded here.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UrlNotAllowedError("not a valid URL") from None
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parsed.scheme not in schemes:
        raise UrlNotAllowedError(f"only {' or '.join(schemes)} URLs are allowed, not {parsed.scheme or 'none'}")
    if parsed.userinfo:
        raise UrlNotAllowedError("URLs with a user name or password are not allowed")
    host = _bare_host(parsed.raw_host.decode("ascii"))
    if not host:
        raise UrlNotAllowedError("the URL has no host")
    if not policy.exempts(host, parsed.port or DEFAULT_PORTS[parsed.scheme]):
        _check_host(host)
    return parsed


def _check_host(host: str) -> None:
    address = _ip_literal(host)
    if address is not None:
        reason = _refusal_reason(address)
        if reason is not None:
            raise UrlNotAllowedError(f"{host} is not allowed ({reason} address)")
        return
    if not _HOST_NAME.fullmatch(host):
        raise UrlNotAllowedError(f"{host!r} is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise UrlNotAllowedError(f"{host} is an IP address in an unusual spelling; write it as a.b.c.d")
    if host in _INTERNAL_NAMES or host.endswith(".localhost"):
        raise UrlNotAllowedError(f"{host} is an internal host name")


def _bare_host(host: str) -> str:
    """`host` without the trailing dot of a fully qualified name, so `localhost.` compares as `localhost`."""
    return host.lower().rstrip(".")


def _ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --- the guard at connect time ---------------------------------------------------------------------------


def resolve_host(host: str) -> list[str]:
    """Every address `host` resolves to for TCP, in the system resolver's order of preference."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write is given no more than the time left before the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:  # noqa: ANN001
        secured = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str):  # noqa: ANN201 - whatever the socket gives
        return self._stream.get_extra_info(info)


class GuardedNetworkBackend(httpcore.SyncBackend):
    """httpcore's blocking backend, except that it resolves the host name itself, refuses the connection when
    any resolved address is not public, and then connects to a vetted address, never to the name again.

    TLS is unaffected: httpcore calls `start_tls` on the returned stream with `server_hostname` taken from the
    request's origin, so SNI and certificate checks still use the host name from the URL, not the address.
    """

    def __init__(self, policy: UrlPolicy, resolver: Resolver | None = None, deadline: Deadline | None = None) -> None:
        self._policy = policy
        self._resolve = resolver or resolve_host
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # like socket.create_connection: try each address in turn, the last one's failure is the one reported
        *fallbacks, last = self._vetted_addresses(host, port)
        for address in fallbacks:
            with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
                return self._connect(address, port, timeout, local_address, socket_options)
        return self._connect(last, port, timeout, local_address, socket_options)

    def _connect(self, address: str, port: int, timeout: float | None, local_address: str | None,
                 socket_options: Iterable[httpcore.SOCKET_OPTION] | None) -> httpcore.NetworkStream:
        if self._deadline is None:
            return super().connect_tcp(address, port, timeout, local_address, socket_options)
        try:
            bounded = self._deadline.bound(timeout)
        except httpcore.ReadTimeout as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        stream = super().connect_tcp(address, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def _vetted_addresses(self, host: str, port: int) -> list[str]:
        try:
            addresses = list(self._resolve(host))
        except OSError as exc:  # socket.gaierror and friends
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        if self._policy.exempts(host, port):
            return addresses
        for address in addresses:
            reason = _refusal_reason(ipaddress.ip_address(address))
            if reason is not None:
                raise UrlNotAllowedError(f"{host} resolves to {address}, which is not allowed ({reason} address)")
        return addresses


class _GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections all go through GuardedNetworkBackend.

    HTTPTransport takes no network backend, but everything else it does (request and response conversion,
    mapping httpcore errors onto httpx ones) is what we want, so only the connection pool it builds is replaced.
    """

    def __init__(self, policy: UrlPolicy, resolver: Resolver | None, deadline: Deadline | None) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            keepalive_expiry=5.0,  # httpx's default; httpcore's own keeps idle connections forever
            network_backend=GuardedNetworkBackend(policy, resolver, deadline),
        )


def safe_client(policy: UrlPolicy, timeout: float = 10.0, resolver: Resolver | None = None,
                deadline: Deadline | None = None) -> httpx.Client:
    """An httpx client for user-supplied URLs: every request, each redirect hop included, is checked by
    `check_url` and connects only through the guard. At most `policy.max_redirects` redirects are followed.
    `timeout` bounds each connect and read; `deadline`, if given, everything the client does together.

    `trust_env=False`: proxies from the environment would connect on our behalf, out of the guard's reach,
    and .netrc credentials must never be sent to a host a user chose.
    """

    def check_each_request(request: httpx.Request) -> None:
        check_url(request.url, policy)

    return httpx.Client(
        transport=_GuardedTransport(policy, resolver, deadline),
        timeout=timeout,
        trust_env=False,
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        event_hooks={"request": [check_each_request]},
    )


# --- fetching a file -------------------------------------------------------------------------------------


def fetch(url: str, policy: UrlPolicy, max_bytes: int, timeout: float = 30.0, *,
          resolver: Resolver | None = None, deadline_seconds: float | None = None) -> FetchedFile:
    """Download `url` through the guard, reading at most `max_bytes` of body.

    `timeout` bounds the connection and each read; `deadline_seconds` (default: `timeout`) the whole
    download, redirects, headers and body together - a server trickling its answer is given up on then. Raises
    UrlNotAllowedError, UrlUnreachableError or FileTooLargeError; their messages name the origin only, since
    the paths and query strings of user URLs often carry tokens (pre-signed links).
    """
    target = check_url(url, policy)
    deadline = Deadline(timeout if deadline_seconds is None else deadline_seconds)
    with safe_client(policy, timeout=timeout, resolver=resolver, deadline=deadline) as client:
        try:
            with contextlib.closing(_open_following_redirects(client, target, policy.max_redirects)) as response:
                if not response.is_success:
                    raise error_for_status(response)
                data = _read_at_most(response, max_bytes, deadline)
        except httpx.HTTPError as exc:
            raise error_for_transport(exc, target, deadline) from exc
    return FetchedFile(data=data, content_type=response.headers.get("content-type"), final_url=str(response.url))


def _open_following_redirects(client: httpx.Client, url: httpx.URL, max_redirects: int) -> httpx.Response:
    """The streamed response at the end of the redirect chain. Followed by hand because httpx reads the whole
    body of every redirect response it follows, with no size limit."""
    # the body as stored: Content-Length then counts the bytes max_bytes limits, and no compressed chunk can
    # inflate far past the limit before it is counted (a server may still compress; httpx then decodes)
    request = client.build_request("GET", url, headers={"Accept-Encoding": "identity"})
    for _ in range(max_redirects + 1):
        response = client.send(request, stream=True, follow_redirects=False)
        if response.next_request is None:
            return response
        response.close()
        request = response.next_request
    raise UrlUnreachableError(f"{_origin(url)} redirected more than {max_redirects} times", retryable=False)


def _read_at_most(response: httpx.Response, max_bytes: int, deadline: Deadline) -> bytes:
    announced = response.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > max_bytes:
        raise FileTooLargeError(f"the file at {_origin(response.url)} is {int(announced)} bytes, "
                                f"more than the {max_bytes} allowed", max_bytes=max_bytes)
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if deadline.passed:  # a decoder may hand out chunks without reading: the stream alone is not enough
            raise httpx.ReadTimeout(f"the {deadline.seconds:g} s deadline passed")
        if len(data) > max_bytes:
            raise FileTooLargeError(f"the file at {_origin(response.url)} is larger than the {max_bytes} bytes "
                                    "allowed", max_bytes=max_bytes)
    return bytes(data)


# --- errors shared with other callers of safe_client -----------------------------------------------------


def is_retryable_status(status_code: int) -> bool:
    """Time-outs, throttling and server errors may pass; any other refusal will be repeated."""
    return status_code in (408, 429) or status_code >= 500


def error_for_status(response: httpx.Response) -> UrlUnreachableError:
    status = response.status_code
    return UrlUnreachableError(f"{_origin(response.url)} answered HTTP {status}",
                               retryable=is_retryable_status(status), status_code=status)


def error_for_transport(exc: httpx.HTTPError, url: httpx.URL, deadline: Deadline | None = None) -> UrlUnreachableError:
    """`exc` as an error naming only the exception type: httpx messages can quote URLs and Location headers."""
    if deadline is not None and deadline.passed:
        return UrlUnreachableError(f"{_origin(url)} did not finish answering within {deadline.seconds:g} s",
                                   deadline_seconds=deadline.seconds)
    if isinstance(exc, httpx.TimeoutException):
        return UrlUnreachableError(f"{_origin(url)} did not answer in time ({type(exc).__name__})")
    # a broken connection may pass; too many redirects or an undecodable body will not
    return UrlUnreachableError(f"cannot fetch from {_origin(url)}: {type(exc).__name__}",
                               retryable=isinstance(exc, httpx.TransportError))


def _origin(url: httpx.URL) -> str:
    """Scheme, host and port: the part of a user's URL that is safe to put in messages."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"
