"""The embedded MQTT broker (amqtt, MQTT 3.1.1) for a machine with no broker configured."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """amqtt in a child process on a free loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="tomning-broker-"))
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float = 20) -> None:
        config = self._dir / "broker.yaml"
        config.write_text(
            "listeners:\n  default:\n    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n    max_connections: 1000\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
        )
        amqtt = shutil.which("amqtt", path=str(Path(sys.executable).parent)) or "amqtt"
        log = (self._dir / "broker.log").open("wb")
        # a session of its own: Ctrl-C in a terminal signals the whole foreground group, and the broker
        # must outlive the clients that flush and disconnect on the way out; stop() ends it after them
        self._process = subprocess.Popen(
            [amqtt, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"embedded broker exited: {(self._dir / 'broker.log').read_text()[-1000:]}"
                )
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"embedded broker not listening on {self.port} after {timeout_s} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)
