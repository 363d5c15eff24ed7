"""`tomning api`: the HTTP API from settings, with drivers' collections published on MQTT."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import uvicorn

from api.app import create_app
from api.context import Services
from api.webhooks import run_webhooks
from core import topics
from core.settings import Settings
from core.timeseries import open_store
from tomning.runtime import open_registry

log = logging.getLogger(__name__)


@contextlib.contextmanager
def services_from(settings: Settings) -> Iterator[Services]:
    """Registry, store and an MQTT publisher for `collected` (skipped, with a warning, without a broker)."""
    registry = open_registry(settings)
    store = open_store(settings.store)
    services = Services(registry=registry, store=store, settings=settings)
    publisher = None
    if settings.mqtt.host:
        from ingest.mqtt import Publisher

        publisher = Publisher(settings.mqtt, client_id="tomning-api")
        try:
            publisher.start(timeout_s=5)
        except (ConnectionError, OSError) as exc:
            log.warning("no broker (%s): drivers' collections are stored but not published", exc)
            publisher = None
    if publisher is not None:
        ready = publisher

        def tell(tenant: str, bin_id: str, at: datetime) -> None:
            ready.publish(topics.collected(tenant, bin_id), json.dumps({"at": at.isoformat()}).encode())

        services.on_collected.append(tell)
    try:
        yield services
    finally:
        if publisher is not None:
            publisher.stop()
        store.close()
        registry.close()


class Served:
    """The API on uvicorn in a thread (for `tomning demo`); `port` is known once started."""

    def __init__(self, services: Services, *, host: str, port: int) -> None:
        config = uvicorn.Config(create_app(services), host=host, port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start (is its port taken?)")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(settings: Settings) -> None:
    """The API, and beside it the webhook posts (as the scheduler also sends them: each post is claimed,
    so the two never send one twice at once), so they go out wherever the API runs."""
    with services_from(settings) as services:
        stop = threading.Event()
        args = (settings, services.registry, stop)
        hooks = threading.Thread(target=run_webhooks, args=args, name="webhooks", daemon=True)
        hooks.start()
        try:
            uvicorn.run(
                create_app(services), host=settings.api.host, port=settings.api.port, log_level="info"
            )
        finally:
            stop.set()
            hooks.join(timeout=15)
