"""Every Tömning dashboard."""

from __future__ import annotations

from collections.abc import Callable

from dashboards import bin, fleet, health, operations
from dashboards.board import Board

BOARDS: tuple[Callable[[], Board], ...] = (fleet.board, bin.board, operations.board, health.board)


def boards() -> list[Board]:
    return [make() for make in BOARDS]
