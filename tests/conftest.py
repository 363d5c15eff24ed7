"""Fixtures that start real services on free loopback ports, and fresh stores per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from core.registry import Registry
from core.registry.migrate import upgrade
from core.settings import StoreSettings
from core.timeseries.influx import InfluxStore
from tests.harness.services import InfluxDB, Mosquitto, PostgreSQL


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--days-ahead", type=float, default=0.0,
        help="run with Python's wall clock this many days ahead (time-machine; monotonic time and the "
        "services' clocks untouched): a test that ages with the calendar fails. CI runs 365.",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--days-ahead")
    if days:
        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def mosquitto(services_dir: Path) -> Iterator[Mosquitto]:
    with Mosquitto(services_dir / "mosquitto") as broker:
        yield broker  # type: ignore[misc]


@pytest.fixture(scope="session")
def influxdb(services_dir: Path) -> Iterator[InfluxDB]:
    with InfluxDB(services_dir / "influxdb") as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgreSQL]:
    # outside pytest's tmp tree, which is private to root: PostgreSQL runs as its own user
    workdir = Path(tempfile.mkdtemp(prefix="tomning-pg-"))
    workdir.chmod(0o755)
    server = PostgreSQL(workdir / "postgresql")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def influx_store(influxdb: InfluxDB) -> Iterator[InfluxStore]:
    """A fresh database per test on the session's InfluxDB."""
    settings = StoreSettings(backend="influxdb", influx_url=influxdb.url, influx_database=unique("t"))
    with InfluxStore.from_settings(settings) as store:
        yield store


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry.connect(f"sqlite:///{tmp_path / 'registry.sqlite'}") as registry:
        upgrade(registry.engine)
        yield registry


@pytest.fixture
def postgres_registry(postgresql: PostgreSQL) -> Iterator[Registry]:
    """A fresh database per test on the session's PostgreSQL."""
    with Registry.connect(postgresql.create_database(unique("reg"))) as registry:
        upgrade(registry.engine)
        yield registry
