"""A real headless Chromium (Debian's, driven by Playwright for Python; no browser download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from core.settings import ApiSettings
from tests.api.conftest import World, world  # noqa: F401 - the API's world, served
from tomning.apiserver import Served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {
    "viewport": {"width": 412, "height": 915},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# as the machine's probe starts it: no background traffic to Google on a closed network
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def served(world: World) -> Iterator[Served]:  # noqa: F811 - the fixture imported above
    with Served(world.services, host="127.0.0.1", port=0) as server:
        world.services.settings = world.services.settings.model_copy(
            update={"api": ApiSettings(public_url=server.url, plan_time_limit_s=1)}
        )
        yield server
