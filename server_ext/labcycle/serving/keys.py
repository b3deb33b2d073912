"""Deployment API keys: stored only as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac


def hash_api_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def check_api_key(key: str | None, stored_hash: str | None) -> bool:
    """Constant-time check of a presented key against a stored ``sha256:`` hash (no hash:
    the deployment needs no key)."""
    if not stored_hash:
        return True
    if not key:
        return False
    return hmac.compare_digest(hash_api_key(key), stored_hash)
