"""The API served for real: uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from api.app import create_app
from api.context import Services
from tests.harness.services import free_port


class ApiServer:
    def __init__(self, services: Services) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(services), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api-server", daemon=True)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
