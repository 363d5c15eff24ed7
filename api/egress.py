"""Where the platform's own requests may go (webhook posts): public addresses only, in any spelling, and
checked where the connection is made, not only when the URL was registered.

IPv6 can carry an IPv4 address inside it: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), translated
(::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo; `[64:ff9b::a9fe:a9fe]` reaches
169.254.169.254 through a NAT64 gateway although Python calls it global. A name may also resolve to a
public address when registered and to a private one when posted to (DNS rebinding): the connection is
made to the very address that was checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# compatible, mapped, translated (SIIT), NAT64 well-known and local-use: the IPv4 address is the last 32 bits
_LOW_32 = ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
_EMBEDS_LOW_32 = [ipaddress.ip_network(n) for n in _LOW_32]


def embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address its IPv6 spelling carries."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour:
            found.append(ip.sixtofour)
        if ip.teredo:
            found += list(ip.teredo)
        if any(ip in net for net in _EMBEDS_LOW_32):
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public(address: str) -> bool:
    """Whether `address`, in every form it carries, is a global unicast address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return all(a.is_global and not a.is_multicast for a in embedded(ip))


def first_private(addresses: Iterable[str]) -> str | None:
    return next((a for a in addresses if not is_public(a)), None)


class PrivateAddress(httpcore.ConnectError):
    """A connection the guard refused: the host resolved to an address that is not public."""


class _GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host!r} does not resolve: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        if (bad := first_private(addresses)) is not None:
            raise PrivateAddress(f"{host!r} is {bad} now, a private or local address: not posted")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport whose every connection goes to a checked public address (TLS still names the
    host). Replaces the transport's connection pool, the one place httpx lets a network backend in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=pool._ssl_context, max_connections=pool._max_connections,
            max_keepalive_connections=pool._max_keepalive_connections,
            keepalive_expiry=pool._keepalive_expiry, http1=pool._http1, http2=pool._http2,
            network_backend=_GuardedBackend(),
        )  # fmt: skip
