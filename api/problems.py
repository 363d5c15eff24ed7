"""Errors as RFC 9457 problem details (`application/problem+json`); validation errors name the field."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from core.errors import Conflict, InvalidInput, NotFound, StoreUnavailable, TomningError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://tomning.se/problems/"


class FieldError(BaseModel):
    field: str = Field(description="where: body.capacity_l, query.limit, …", examples=["body.capacity_l"])
    message: str = Field(examples=["Input should be greater than 0"])


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[TYPE_BASE + "not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["bin 'b-17' not found"])
    instance: str = Field(examples=["/v1/bins/b-17"])
    errors: list[FieldError] | None = None


def problem(
    request: Request, status: int, detail: str, *, errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=".".join(str(p) for p in e.get("loc", ())), message=str(e.get("msg", "invalid")))
        for e in exc.errors()
    ]
    first = errors[0] if errors else None
    detail = f"{first.field}: {first.message}" if first else "the request is not valid"
    return problem(request, 422, detail, errors=errors)


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(request, exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


def _domain(request: Request, exc: Exception) -> Response:
    status = (
        404 if isinstance(exc, NotFound)
        else 409 if isinstance(exc, Conflict)
        else 422 if isinstance(exc, InvalidInput)
        else 503 if isinstance(exc, StoreUnavailable)
        else 500
    )  # fmt: skip
    return problem(request, status, str(exc))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(TomningError, _domain)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    return {
        s: {"model": Problem, "description": HTTPStatus(s).phrase, "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }
