"""Who the client is, and whether it came over HTTPS, behind zero or more trusted proxies.

The peer address is the client unless the peer is a trusted proxy: then `X-Forwarded-For` is
read from the right, skipping trusted hops, and the first untrusted address is the client.
Everything left of it was written by the client and is ignored, so a client cannot pick its
own address. Headers from untrusted peers are never read. Pure apart from reading an ASGI scope.
"""

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.types import Scope

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = ""
"""The client IP when the peer is no IP address (a test client, a Unix socket)."""
_SCHEMES = frozenset({"http", "https"})
_PORT = re.compile(r":[0-9]{1,5}")


class TrustedProxies:
    """The proxies (addresses or networks) whose forwarding headers are believed."""

    __slots__ = ("networks",)

    def __init__(self, networks: Iterable[IpNetwork] = ()) -> None:
        self.networks = tuple(networks)

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return any(address in network for network in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({', '.join(str(n) for n in self.networks)})"


def parse_trusted_proxies(text: str) -> TrustedProxies:
    """`10.0.0.0/8, 192.0.2.7, fd00::/8` as networks; ValueError naming a malformed entry."""
    networks: list[IpNetwork] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
        networks.append(network)
    return TrustedProxies(networks)


def parse_ip(text: str) -> IpAddress | None:
    """One address as proxies write it (`203.0.113.9`, `[2001:db8::1]:443`, `1.2.3.4:80`).

    IPv4-mapped IPv6 addresses become IPv4, so one client has one spelling; anything else None.
    """
    text = text.strip()
    if text.startswith("["):
        host, bracket, port = text[1:].partition("]")
        if not bracket or (port and not _PORT.fullmatch(port)):
            return None
        text = host
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _PORT.fullmatch(f":{port}"):
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve_client_ip(
    peer: str | None, forwarded_for: Sequence[str], trusted: TrustedProxies
) -> str:
    """The client's address as text, or `UNKNOWN` when the peer is no IP address.

    `forwarded_for`: every `X-Forwarded-For` header value, in the order received. When a hop
    cannot be read, the nearest readable one stands for the client: a proxy we trust wrote it.
    """
    address = parse_ip(peer) if peer else None
    if address is None:
        return UNKNOWN
    if address not in trusted:
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        forwarded = parse_ip(hop)
        if forwarded is None:
            break
        address = forwarded
        if address not in trusted:
            break
    return str(address)


def resolve_scheme(
    scheme: str, peer: str | None, forwarded_proto: Sequence[str], trusted: TrustedProxies
) -> str:
    """`https` or `http`: how the client reached us, per a trusted proxy's `X-Forwarded-Proto`.

    The right-most value counts (the proxy next to us wrote it); from an untrusted peer, or when
    it is neither `http` nor `https`, the connection's own scheme.
    """
    address = parse_ip(peer) if peer else None
    if address is not None and address in trusted:
        values = [v.strip().lower() for value in forwarded_proto for v in value.split(",")]
        values = [v for v in values if v]
        if values and values[-1] in _SCHEMES:
            return values[-1]
    return "https" if scheme in ("https", "wss") else "http"


def _header_values(scope: "Scope", name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def _peer(scope: "Scope") -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


# Remembered (bounded) by their inputs: the same peers and headers come back request after
# request, and each answer cost microseconds of address parsing and formatting.
_resolve_client_ip = functools.lru_cache(maxsize=4096)(resolve_client_ip)
_resolve_scheme = functools.lru_cache(maxsize=4096)(resolve_scheme)


def client_ip_in_scope(scope: "Scope", trusted: TrustedProxies) -> str:
    """`resolve_client_ip` for an ASGI HTTP scope."""
    forwarded = tuple(_header_values(scope, b"x-forwarded-for"))
    return _resolve_client_ip(_peer(scope), forwarded, trusted)


def scheme_in_scope(scope: "Scope", trusted: TrustedProxies) -> str:
    """`resolve_scheme` for an ASGI HTTP scope."""
    forwarded = tuple(_header_values(scope, b"x-forwarded-proto"))
    return _resolve_scheme(str(scope.get("scheme", "http")), _peer(scope), forwarded, trusted)


def client_ip_of(request: "ASGIConnection[Any, Any, Any, Any]", trusted: TrustedProxies) -> str:
    """The client IP of a litestar `Request`, or `UNKNOWN` when its peer is no IP address."""
    return client_ip_in_scope(request.scope, trusted)
