"""Road distances and driving times from an OSRM server's `/table` service, fetched in tiles and cached.

OSRM answers tables of at most `--max-table-size` places (100 by default), so a city's matrix is
asked for in tiles of sources by destinations. Each tile is cached by its coordinates (in memory,
and on disk when a directory is given), so the next day's plan for the same bins asks nothing.
A place OSRM cannot reach from another (an island, a closed area) is refused by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np

from core.errors import InvalidInput, StoreUnavailable
from core.models import Location

TILE = 50  # sources and destinations per request: 100 places, OSRM's default limit
Tile = dict[str, list[list[float | None]]]  # "distances" (m) and "durations" (s), as OSRM answers


class OsrmTable:
    """`matrices(places)`: metres and seconds by road between every pair, asked of OSRM a tile at a
    time; `distances(places)`: the metres alone."""

    def __init__(
        self, url: str, *, profile: str = "driving", tile: int = TILE, cache_dir: Path | None = None,
        timeout_s: float = 30.0, memory: dict[str, Tile] | None = None,
    ) -> None:  # fmt: skip
        self.url = url.rstrip("/")
        self.profile = profile
        self.tile = tile
        self.cache_dir = cache_dir
        self.requests = 0
        self._memory: dict[str, Tile] = {} if memory is None else memory
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OsrmTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def distances(self, places: Sequence[Location]) -> tuple[tuple[float, ...], ...]:
        return self.matrices(places)[0]

    def matrices(
        self, places: Sequence[Location]
    ) -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]]:
        """(metres, seconds) by road between every pair, from one set of requests."""
        n = len(places)
        metres, seconds = np.zeros((n, n)), np.zeros((n, n))
        for i in range(0, n, self.tile):
            for j in range(0, n, self.tile):
                block = self._tile(places[i : i + self.tile], places[j : j + self.tile])
                for a, row in enumerate(block["distances"]):
                    for b, far in enumerate(row):
                        took = block["durations"][a][b]
                        if far is None or took is None:
                            here, there = places[i + a], places[j + b]
                            raise InvalidInput(
                                f"no road from place {i + a} ({here.lat}, {here.lon}) "
                                f"to place {j + b} ({there.lat}, {there.lon})"
                            )
                        metres[i + a, j + b], seconds[i + a, j + b] = far, took
        np.fill_diagonal(metres, 0.0)
        np.fill_diagonal(seconds, 0.0)
        return tuple(map(tuple, metres.tolist())), tuple(map(tuple, seconds.tolist()))

    def _tile(self, sources: Sequence[Location], targets: Sequence[Location]) -> Tile:
        coordinates = [*sources, *targets]
        text = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in coordinates)
        key = hashlib.sha256(f"{self.profile}|{len(sources)}|{text}|distance,duration".encode()).hexdigest()
        if key in self._memory:
            return self._memory[key]
        on_disk = self.cache_dir / f"{key}.json" if self.cache_dir else None
        if on_disk is not None and on_disk.is_file():
            block: Tile = json.loads(on_disk.read_text())
            self._memory[key] = block
            return block
        params = {
            "sources": ";".join(str(k) for k in range(len(sources))),
            "destinations": ";".join(str(len(sources) + k) for k in range(len(targets))),
            "annotations": "distance,duration",
        }
        try:
            self.requests += 1
            answer = self._client.get(f"{self.url}/table/v1/{self.profile}/{text}", params=params)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"OSRM at {self.url} did not answer: {exc}") from exc
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code != 200 or body.get("code") != "Ok":
            raise InvalidInput(
                f"OSRM refused the table: {body.get('code', answer.status_code)} {body.get('message', '')}"
            )
        block = {"distances": body["distances"], "durations": body["durations"]}
        self._memory[key] = block
        if on_disk is not None:
            on_disk.parent.mkdir(parents=True, exist_ok=True)
            on_disk.write_text(json.dumps(block))
        return block
