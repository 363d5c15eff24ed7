"""Webhook posts reach public addresses only: in any IPv6 spelling of a private one, and at connect time."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from api import egress
from tests.api.conftest import World
from tests.api.test_webhooks import Receiver, receiver  # noqa: F401  (the fixture)

INSIDE_IN_IPV6 = [
    "[::127.0.0.1]",  # IPv4-compatible
    "[::ffff:127.0.0.1]",  # mapped
    "[::ffff:0:127.0.0.1]",  # translated (SIIT)
    "[64:ff9b::7f00:1]",  # NAT64 to 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 to the cloud metadata service, 169.254.169.254
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
]


@pytest.mark.parametrize("host", INSIDE_IN_IPV6)
def test_an_ipv6_spelling_of_an_inside_address_is_refused(world: World, host: str) -> None:
    answer = world.client.post("/v1/webhooks", json={"url": f"http://{host}/x", "kinds": ["full"]},
                               headers=world.auth("kalmar", "admin"))  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert "a private or local address" in answer.json()["detail"]


def test_public_addresses_in_either_family_pass() -> None:
    assert all(egress.is_public(a) for a in ("8.8.8.8", "2a00:1450:4001:82b::200e", "64:ff9b::808:808"))


def test_a_name_that_turns_private_after_registration_is_refused_at_connect_time(
    receiver: Receiver,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name passed its check, then resolves to the inside when the post is made."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo

    def rebound(host: str, *args: Any, **kwargs: Any) -> Any:
        return (
            real("127.0.0.1", *args, **kwargs) if host == "hooks.example.org" else real(host, *args, **kwargs)
        )

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    url = f"http://hooks.example.org:{port}/tomning"
    with (
        httpx.Client(transport=egress.GuardedTransport()) as guarded,
        pytest.raises(httpx.ConnectError) as caught,
    ):
        guarded.post(url, content=b"{}")
    assert "127.0.0.1 now, a private or local address" in str(caught.value)
    with httpx.Client() as plain:  # the same post without the guard reaches the inside
        assert plain.post(url, content=b"{}").status_code == 204
    assert len(receiver.posts) == 1
