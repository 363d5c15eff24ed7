"""What the resources share: pages, ETags, JSON bodies."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

T = TypeVar("T")
# ids the registry numbers: within a 32-bit INTEGER on every database
Number = Annotated[int, Path(ge=0, le=2_147_483_647)]
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    """A page of a list: `next` is the next page's path, absent on the last one."""

    items: list[T]
    total: int = Field(description="items matching the filters, over all pages")
    limit: int
    offset: int
    next: str | None = None


class Paging(BaseModel):
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="items per page")
    offset: int = Field(0, ge=0, le=10_000_000, description="items to skip")


PagingQuery = Annotated[Paging, Query()]


def page(request: Request, items: list[Any], paging: Paging, *, total: int | None = None) -> dict[str, Any]:
    """A page of a list, with the link to the next: `items` is the whole list, or, with `total`, the
    page the store already cut."""
    chunk = items if total is not None else items[paging.offset : paging.offset + paging.limit]
    total = len(items) if total is None else total
    following = paging.offset + paging.limit
    nxt = None
    if following < total:
        nxt = str(request.url.include_query_params(offset=following, limit=paging.limit))
        nxt = nxt[nxt.index(request.url.path) :]
    return {"items": chunk, "total": total, "limit": paging.limit, "offset": paging.offset, "next": nxt}


def dumps(body: Any) -> bytes:
    """JSON as the rest of the API writes it: UTC as `Z`."""
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def etag_of(content: bytes) -> str:
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def tagged(
    request: Request, content: bytes, media_type: str = "application/json", *, etag: str | None = None
) -> Response:
    """A heavy read with a strong ETag; 304 when the client's copy is current."""
    etag = etag or etag_of(content)
    matches = request.headers.get("if-none-match", "")
    if etag in {m.strip() for m in matches.split(",")} or matches.strip() == "*":
        return Response(status_code=304, headers={"ETag": etag})
    return Response(content, media_type=media_type, headers={"ETag": etag, "Cache-Control": "no-cache"})
