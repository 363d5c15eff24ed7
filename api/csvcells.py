"""CSV a spreadsheet opens safely: a text cell that a spreadsheet would run as a formula is neutralised."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# OWASP's rule for CSV injection: a cell starting with one of these is a formula (or becomes one) in
# Excel, LibreOffice and Google Sheets; a quote before it makes it text. Numbers (-12.5) are left alone.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _number(value):
        return "'" + value
    return value


def rows(items: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    return ({k: cell(v) for k, v in item.items()} for item in items)
