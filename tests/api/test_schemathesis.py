"""Schemathesis against the live API (uvicorn on loopback): generated requests for every operation."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from core.settings import ApiSettings
from tests.api.conftest import World
from tomning.apiserver import Served

# its own venv (scripts/setup): the project's urllib3-future (from grafana-client) breaks its transport
SCHEMATHESIS = Path(__file__).resolve().parents[2] / ".venv-tools" / "bin" / "schemathesis"


def test_no_generated_request_makes_a_server_error(world: World, tmp_path: Path) -> None:
    world.services.settings = world.services.settings.model_copy(
        update={"api": ApiSettings(plan_time_limit_s=0.5, plan_time_limit_max_s=0.5)}
    )
    with Served(world.services, host="127.0.0.1", port=0) as server:
        run = subprocess.run(
            [
                str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
                "--header", f"Authorization: Bearer {world.keys['kalmar', 'admin']}",
                "--max-examples", "15", "--seed", "7", "--workers", "2", "--no-color",
                "--report-junit-path", str(tmp_path / "junit.xml"),
            ],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    tail = run.stdout[-3000:]
    assert run.returncode == 0, tail + run.stderr[-2000:]
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 45, tail  # every operation was exercised
    assert not suites.findall(".//failure"), tail
    assert not suites.findall(".//error"), tail
