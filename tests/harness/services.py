"""Start and stop real Mosquitto, InfluxDB 1.x and PostgreSQL from Debian's packages."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def find_binary(name: str, *patterns: str) -> str:
    """Debian's packaged binary where the pattern finds it, else the one on PATH."""
    packaged = next((p for pat in patterns for p in sorted(glob.glob(pat), reverse=True)), None)
    found = packaged or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: run scripts/test, which installs it")
    return found


class Service:
    """A server process in its own directory; restartable with the same port and data."""

    name = "service"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_open(self.port)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, **self.popen_kwargs()
            )
        wait_until(self._alive_and_ready, timeout_s=60, what=f"{self.name} on port {self.port}")

    def popen_kwargs(self) -> dict[str, object]:
        return {}

    def _alive_and_ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        return self.ready()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        wait_until(lambda: not port_open(self.port), timeout_s=30, what=f"{self.name} to free its port")

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Mosquitto(Service):
    """With `secured`, only accounts in password_file, limited by acl_file (see core/brokeraccess)."""

    name = "mosquitto"

    def __init__(self, workdir: Path, *, secured: bool = False) -> None:
        super().__init__(workdir)
        self.secured = secured
        self.password_file = workdir / "tomning.passwd"
        self.acl_file = workdir / "tomning.acl"
        self.pid_file = workdir / "mosquitto.pid"
        self.platform_port = free_port() if secured else self.port

    def command(self) -> list[str]:
        config = self.workdir / "mosquitto.conf"
        # secured as deploy/mosquitto.conf: devices on `port`, where a client's id is its user name (none
        # can take ingest's); the platform on `platform_port`; payloads up to the contract's 64 KiB
        listeners = (
            f"listener {self.platform_port} 127.0.0.1\nlistener {self.port} 127.0.0.1\n"
            "use_username_as_clientid true\nmessage_size_limit 65536\n"
            if self.secured
            else f"listener {self.port} 127.0.0.1\n"
        )
        access = (
            f"allow_anonymous false\npassword_file {self.password_file}\nacl_file {self.acl_file}\n"
            if self.secured
            else "allow_anonymous true\n"
        )
        config.write_text(
            listeners + access + f"pid_file {self.pid_file}\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 5\n"
            # Tömning's recommended broker settings (see deploy/mosquitto.conf): queue without
            # bound for ingest workers that are away, many QoS 1 messages in flight.
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "log_type error\nlog_type warning\n" + ("user root\n" if os.geteuid() == 0 else "")
        )
        return [find_binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(config)]


class InfluxDB(Service):
    """InfluxDB 1.x; with `auth`, users and their grants are enforced (the first user made is the admin)."""

    name = "influxdb"

    def __init__(self, workdir: Path, *, auth: bool = False) -> None:
        super().__init__(workdir)
        self.rpc_port = free_port()
        self.auth = auth

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        config = self.workdir / "influxdb.conf"
        config.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n'
            '  query-log-enabled = false\n  index-version = "inmem"\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            f"  auth-enabled = {'true' if self.auth else 'false'}\n"
            "  max-row-limit = 0\n"
            "[continuous_queries]\n  enabled = false\n"
        )
        return [find_binary("influxd", "/usr/bin/influxd"), "-config", str(config)]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/ping", timeout=1).status_code == 204


class PostgreSQL(Service):
    """A throwaway cluster; as root it runs as the `postgres` user, which PostgreSQL requires."""

    name = "postgresql"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.data = self.workdir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        initdb = find_binary("initdb", "/usr/lib/postgresql/*/bin/initdb")
        subprocess.run(
            [initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True, capture_output=True, **self.popen_kwargs(),
        )  # fmt: skip

    def popen_kwargs(self) -> dict[str, object]:
        return {"user": self._user} if self._user else {}

    def command(self) -> list[str]:
        postgres = find_binary("postgres", "/usr/lib/postgresql/*/bin/postgres")
        return [
            postgres, "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
            "-k", str(self.workdir), "-c", "fsync=off", "-c", "max_connections=200",
        ]  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


OSRM_HOME = Path(__file__).resolve().parents[2] / ".venv-tools" / "osrm"


class Osrm(Service):
    """osrm-routed (MLD) over an OSM extract that start() prepares: extract, partition, customize."""

    name = "osrm"

    def __init__(self, workdir: Path, extract: Path) -> None:
        super().__init__(workdir)
        self.bin = OSRM_HOME / "bin"
        if not (self.bin / "osrm-routed").is_file():
            raise FileNotFoundError("OSRM's tools are missing: run scripts/setup --services")
        self.data = self.workdir / extract.name
        shutil.copy(extract, self.data)
        self.osrm = self.workdir / extract.name.replace(".osm.pbf", ".osrm")
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not (self.workdir / f"{self.osrm.name}.partition").exists():
            car = OSRM_HOME / "share" / "profiles" / "car.lua"
            steps = [
                ["osrm-extract", "-p", str(car), str(self.data)],
                ["osrm-partition", str(self.osrm)],
                ["osrm-customize", str(self.osrm)],
            ]
            with self.log.open("ab") as log:
                for tool, *args in steps:
                    command = [str(self.bin / tool), *args]
                    subprocess.run(
                        command, stdout=log, stderr=subprocess.STDOUT, check=True, cwd=self.workdir
                    )
        super().start()

    def command(self) -> list[str]:
        routed = str(self.bin / "osrm-routed")
        return [routed, "--algorithm", "mld", "--ip", "127.0.0.1", "--port", str(self.port), str(self.osrm)]
