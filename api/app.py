"""The API application: `create_app(services)`; `tomning api` serves it with uvicorn."""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet as leaflet
from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import metrics, problems
from api.context import Services
from api.resources import admin, alerts, bins, devices, kpis, plans, webhooks

WEB = Path(__file__).resolve().parent / "web"
DESCRIPTION = """\
Tömning's API for dispatchers, drivers and other municipal systems. The driver app is at
`/driver`, the dispatcher's console at `/console`.

Every request carries `Authorization: Bearer <key>`: an API key, or a token from `/v1/auth/token`.
A key belongs to one tenant and has one role (admin, dispatcher, driver, viewer, integration); an
object of another tenant answers exactly as one that does not exist. Errors are RFC 9457 problem
details; lists come a page at a time (`limit`, `offset`, `next`); heavy reads carry an ETag.
Field names follow FIWARE's WasteContainer where it has one (`fillingLevel`, `binFullnessThreshold`).
"""

TAGS = [
    {"name": "bins", "description": "bins: CRUD, bulk import and export, FIWARE"},
    {"name": "readings", "description": "the latest state of every bin, and a bin's history"},
    {"name": "forecasts", "description": "when each bin will be full"},
    {"name": "alerts", "description": "events, and alerts to acknowledge and resolve"},
    {"name": "devices", "description": "sensors and their broker accounts"},
    {"name": "plans", "description": "the fleet and each day's plan: create, re-plan, approve, dispatch"},
    {"name": "routes", "description": "a plan's routes, their exports, and drivers' reports"},
    {"name": "kpis", "description": "daily figures"},
    {"name": "webhooks", "description": "events posted to the municipality's other systems, signed"},
    {"name": "tenants", "description": "municipalities sharing the installation"},
    {"name": "access", "description": "keys, users and sign-in"},
]


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Tömning", version="1", description=DESCRIPTION, openapi_tags=TAGS,
        docs_url="/docs", redoc_url=None,
    )  # fmt: skip
    app.state.services = services
    problems.install(app)
    metrics.install(app, services)
    for module in (bins, devices, alerts, plans, kpis, webhooks, admin):
        app.include_router(module.router)

    # the driver app and the dispatcher's console: plain files, no build step; Leaflet from xstatic
    app.mount("/static/web", StaticFiles(directory=WEB), name="web")
    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/driver", include_in_schema=False)
    def driver() -> FileResponse:
        return FileResponse(WEB / "driver.html", headers={"Cache-Control": "no-cache"})

    @app.get("/driver-sw.js", include_in_schema=False)
    def driver_worker() -> FileResponse:
        headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/driver"}
        return FileResponse(WEB / "sw.js", media_type="text/javascript", headers=headers)

    @app.get("/console", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(WEB / "console.html", headers={"Cache-Control": "no-cache"})

    @app.get("/healthz", tags=["access"], summary="the API answers and its stores are reachable")
    def healthz() -> dict[str, bool]:
        return {"ok": True, "store": services.store.ping()}

    return app
