"""JSON from untrusted bytes: size and encoding checked before parsing, nesting and numbers bounded in it.

Python's own parser recurses once per nesting level (`[` × 1,000 raised RecursionError deep in ingest's
worker thread) and refuses an integer of more than 4,300 digits with a bare ValueError; neither may reach
the code that called it. pydantic-core's parser (jiter, in Rust) holds no Python stack, stops at 200
levels and at numbers beyond Python's digit limit, and is twice as fast; every refusal here is a
PayloadRejected with a reason of its own.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from core.errors import PayloadRejected

_REASONS = (
    ("recursion limit", "too_deep"),
    ("number out of range", "number_too_long"),
)


def loads(payload: bytes, *, max_bytes: int) -> Any:
    """The document in `payload`, or PayloadRejected saying which rule it broke."""
    if len(payload) > max_bytes:
        raise PayloadRejected("oversized", f"{len(payload)} bytes > {max_bytes}")
    if b"\x00" in payload:  # never in UTF-8 JSON; UTF-16 and binary frames are full of them
        raise PayloadRejected("not_utf8", "a NUL byte: binary or UTF-16, not UTF-8 JSON")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadRejected("not_utf8", f"not UTF-8: {exc}") from exc
    try:
        return pydantic_core.from_json(payload, allow_inf_nan=False)
    except ValueError as exc:
        message = str(exc)
        reason = next((r for text, r in _REASONS if text in message), "malformed_json")
        raise PayloadRejected(reason, message[:200]) from exc
