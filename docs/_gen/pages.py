"""Pages the docs build writes from the code itself (mkdocs-gen-files): the settings reference from the
pydantic settings, the HTTP API reference from the OpenAPI document, the benchmarks' recorded figures
from their JSON output, and the changelog."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mkdocs_gen_files
from pydantic import BaseModel

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


_SIGNS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "min_length": "length ≥", "max_length": "length ≤"}


def _default(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    return f"`{value}`"


def settings_rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += settings_rows(annotation, env + "__")
            continue
        kind = (
            getattr(annotation, "__name__", str(annotation)).replace("|", "or").replace("pydantic.types.", "")
        )
        limits = ", ".join(
            f"{_SIGNS[a]} {getattr(m, a)}" for m in field.metadata for a in _SIGNS if hasattr(m, a)
        )
        about = (field.description or "").replace("|", "/")
        rows.append(f"| `{env}` | {kind} | {_default(field.default)} | {limits} | {about} |")
    return rows


def settings_page() -> str:
    head = [
        "# Settings reference",
        "",
        "Every setting, as an environment variable (nested with `__`), generated from `core/settings.py`.",
        "The same names go in a TOML file (`$TOMNING_CONFIG`, else `./tomning.toml`) as tables: "
        "`TOMNING_MQTT__HOST` is `host` under `[mqtt]`. The environment wins over the file, the file over "
        "the defaults. `tomning config` prints the effective settings, secrets masked.",
        "",
        "| variable | type | default | limits | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    return "\n".join(head + settings_rows(Settings, "TOMNING_")) + "\n"


def api_page() -> str:
    from api.app import create_app
    from api.context import Services
    from core.registry import Registry
    from core.timeseries.sqlite import SqliteStore

    with tempfile.TemporaryDirectory() as work:
        store = SqliteStore(Path(work) / "ts.sqlite")
        services = Services(registry=Registry.connect("sqlite://"), store=store, settings=Settings())
        document = create_app(services).openapi()
        store.close()
    lines = [
        "# HTTP API reference",
        "",
        f"Generated from the OpenAPI document of `tomning api` ({document['info']['title']} "
        f"{document['info']['version']}). A running API serves the same document at `/openapi.json` and a "
        "try-it page at `/docs`; the guide is [The HTTP API](../api.md).",
        "",
    ]
    by_tag: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            codes = ", ".join(sorted(operation.get("responses", {})))
            row = f"| `{method.upper()}` | `{path}` | {operation.get('summary', '')} | {codes} |"
            by_tag.setdefault(tag, []).append(row)
    for tag in sorted(by_tag):
        lines += [f"## {tag}", "", "| method | path | what | answers |", "| --- | --- | --- | --- |"]
        lines += [*by_tag[tag], ""]
    return "\n".join(lines)


def benchmarks_page() -> str:
    lines = [
        "# Benchmarks: the recorded figures",
        "",
        "Each table is a benchmark's last JSON object as `bench/record.py` kept it in `bench/results/`, "
        "with the command and the date it ran; nothing here is typed in. Run one again with "
        "`.venv/bin/python -m bench.record NAME -- ARGS` (see [Benchmarks](../benchmarks.md)).",
        "",
    ]
    for path in sorted((ROOT / "bench" / "results").glob("*.json")):
        kept = json.loads(path.read_text())
        lines += [f"## {path.stem}", "", f"`{kept['command']}`, {kept['date']} ({kept['machine']})", ""]
        lines += ["| key | value |", "| --- | --- |"]
        lines += [f"| `{k}` | {json.dumps(v)} |" for k, v in kept["result"].items()]
        lines.append("")
    return "\n".join(lines)


for name, make in (("reference/settings.md", settings_page), ("reference/http-api.md", api_page),
                   ("reference/benchmarks-recorded.md", benchmarks_page)):  # fmt: skip
    with mkdocs_gen_files.open(name, "w") as page:
        page.write(make())
with mkdocs_gen_files.open("changelog.md", "w") as page:
    page.write((ROOT / "CHANGELOG.md").read_text())
