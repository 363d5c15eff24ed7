"""Mixed into Registry: failed sign-ins, counted in the registry so that every API process sees them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.registry import schema as t


class SignIns:
    """Needs `self.engine`. An attempt is counted before its password is checked and forgotten only by a
    success, so that attempts made at once are counted as they come (39 wrong guesses and the right one,
    sent together, were all checked when each process counted after checking)."""

    engine: Engine

    def reserve_sign_in(
        self, tenant: str, username: str, *, now: datetime, window_s: float, limit: int
    ) -> float:
        """Count an attempt to sign in as `username`; the seconds it must wait instead (0: check it)."""
        c = t.sign_ins.c
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        mine = (c.tenant == tenant) & (c.username == username)
        with self.engine.begin() as conn:
            # the insert takes SQLite's write lock; FOR UPDATE takes PostgreSQL's row lock: one at a time
            conn.execute(dialect.insert(t.sign_ins).on_conflict_do_nothing(), [
                {"tenant": tenant, "username": username, "attempts": "[]", "last_at": now}
            ])  # fmt: skip
            stored = conn.execute(select(c.attempts).where(mine).with_for_update()).scalar_one()
            start = now.timestamp() - window_s
            recent = [at for at in json.loads(stored) if at > start]
            if len(recent) >= limit:
                return float(recent[-limit] - start)
            conn.execute(update(t.sign_ins).where(mine).values(
                attempts=json.dumps([*recent, now.timestamp()]), last_at=now
            ))  # fmt: skip
            # rows whose every attempt has aged out: none of them is paused, so nobody's pause is lifted
            conn.execute(delete(t.sign_ins).where(c.last_at < now - timedelta(seconds=window_s)))
        return 0.0

    def forget_sign_ins(self, tenant: str, username: str) -> None:
        """A success: the attempts before it no longer count."""
        c = t.sign_ins.c
        with self.engine.begin() as conn:
            conn.execute(delete(t.sign_ins).where((c.tenant == tenant) & (c.username == username)))
