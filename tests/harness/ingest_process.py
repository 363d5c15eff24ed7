"""`tomning ingest` as a real child process, configured through TOMNING_* variables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.harness.services import free_port, wait_until


class IngestProcess:
    def __init__(
        self, workdir: Path, *, broker_port: int, registry_url: str, influx_url: str, database: str,
        extra_env: dict[str, str] | None = None, workers: int = 1,
    ) -> None:  # fmt: skip
        self.workers = workers
        self.workdir = workdir
        self.health_port = free_port()
        self.env = (
            os.environ
            | {
                "TOMNING_MQTT__HOST": "127.0.0.1",
                "TOMNING_MQTT__PORT": str(broker_port),
                "TOMNING_REGISTRY__URL": registry_url,
                "TOMNING_STORE__BACKEND": "influxdb",
                "TOMNING_STORE__INFLUX_URL": influx_url,
                "TOMNING_STORE__INFLUX_DATABASE": database,
                "TOMNING_STORE__TIMEOUT_S": "2",
                "TOMNING_INGEST__CLIENT_ID": f"ingest-{workdir.name}",
                "TOMNING_INGEST__SPOOL_DIR": str(workdir / "spool"),
                "TOMNING_INGEST__HEALTH_PORT": str(self.health_port),
                "TOMNING_INGEST__RETRY_INTERVAL_S": "0.5",
            }
            | (extra_env or {})
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "ingest.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [sys.executable, "-m", "tomning", "ingest", "--workers", str(self.workers)]
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        for worker in range(self.workers):
            wait_until(
                lambda w=worker: self.health(w)["mqtt_connected"], timeout_s=30, what="ingest connected"
            )

    def health(self, worker: int = 0) -> dict[str, Any]:
        """The health report of the single worker, or of worker `worker` (from 0) of several."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"ingest exited: {self.log.read_text()[-3000:]}")
        url = f"http://127.0.0.1:{self.health_port + worker}/healthz"
        report: dict[str, Any] = httpx.get(url, timeout=2).json()
        return report

    def metrics(self, worker: int = 0) -> str:
        return httpx.get(f"http://127.0.0.1:{self.health_port + worker}/metrics", timeout=2).text

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout_s)
        self.process = None
        return code
