"""A bounded, durable, ordered on-disk spool of batches the store could not take yet."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from core.errors import SpoolFull

log = logging.getLogger(__name__)
_LOUD_AT = (0.5, 0.75, 0.9)  # fractions of the bound at which the spool warns once each


class Spool:
    """FIFO of opaque batches in SQLite (synchronous=FULL: an append survives a killed process)."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(directory / "spool.sqlite", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)"
        )
        self.bytes, self.batches = self._measure()
        self._warned = {level for level in _LOUD_AT if self.bytes >= level * max_bytes}

    def _measure(self) -> tuple[int, int]:
        row = self._db.execute("SELECT coalesce(sum(length(body)), 0), count(*) FROM batches").fetchone()
        return int(row[0]), int(row[1])

    def append(self, body: bytes) -> None:
        with self._lock:
            if self.bytes + len(body) > self.max_bytes:
                raise SpoolFull(
                    f"spool holds {self.bytes} of {self.max_bytes} bytes; a batch of {len(body)} does not fit"
                )
            self._db.execute("INSERT INTO batches (body) VALUES (?)", (body,))
            self.bytes += len(body)
            self.batches += 1
        for level in _LOUD_AT:
            if self.bytes >= level * self.max_bytes and level not in self._warned:
                self._warned.add(level)
                log.warning(
                    "spool is %.0f%% full (%d batches, %d bytes)", level * 100, self.batches, self.bytes
                )

    def oldest(self) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._db.execute("SELECT id, body FROM batches ORDER BY id LIMIT 1").fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def remove(self, batch_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            self.bytes, self.batches = self._measure()
            self._warned = {level for level in self._warned if self.bytes >= level * self.max_bytes}

    def close(self) -> None:
        with self._lock:
            self._db.close()
