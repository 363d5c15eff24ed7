"""API keys and passwords: made, hashed and checked here; only hashes are ever stored.

A key reads `tmn_<id>_<secret>`: the id finds its row, the secret is checked against a SHA-256
hash (a 256-bit random secret needs no slow hash). Passwords, which people choose, are hashed with
Argon2 (pwdlib).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from pwdlib import PasswordHash

PREFIX = "tmn"
_passwords = PasswordHash.recommended()


def new_key() -> tuple[str, str, str]:
    """(key id, the whole key shown once, the hash to store)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{PREFIX}_{key_id}_{secret}", hash_secret(secret)


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 16 or not secret:
        return None
    return key_id, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def password_matches(password: str, stored_hash: str) -> bool:
    return _passwords.verify(password, stored_hash)


@functools.cache
def unknown_user_hash() -> str:
    """A hash to check an unknown user's password against, so that the answer takes as long as for a
    known one (379 ms against 68 ms told which user names exist)."""
    return hash_password(secrets.token_urlsafe(16))
