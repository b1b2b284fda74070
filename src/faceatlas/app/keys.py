"""API keys of the REST service and its audit log.

A key is ``fa_`` + 43 URL-safe random characters (256 bits). Only its SHA-256 is stored,
with the first characters (``prefix``) for lookup; a presented key is checked with a
constant-time comparison of hashes. Scopes are cumulative: ``read`` < ``write`` <
``admin``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError, NotFoundError

if TYPE_CHECKING:
    from ..store import CatalogStore
    from ..store.base import ApiKey

#: Scopes, weakest first; each includes the ones before it.
SCOPES = ("read", "write", "admin")
KEY_PREFIX = "fa_"
_PREFIX_LEN = len(KEY_PREFIX) + 8


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_scope(scope: str) -> str:
    """``scope`` if it is one of :data:`SCOPES`, else a clear error."""
    if scope not in SCOPES:
        raise FaceAtlasError(f"unknown scope '{scope}': use one of {', '.join(SCOPES)}")
    return scope


def allows(granted: str, needed: str) -> bool:
    """Whether a key of scope ``granted`` may do what needs ``needed``."""
    return SCOPES.index(granted) >= SCOPES.index(needed)


def create_key(store: CatalogStore, name: str, scope: str, actor: str | None = "cli"
               ) -> dict[str, Any]:
    """Create a key; the result holds the key itself (``key``), shown this once. The
    change goes to the audit log under ``actor`` (None: the caller logs it)."""
    name = name.strip()
    if not name:
        raise FaceAtlasError("a key needs a name")
    check_scope(scope)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    rec = store.add_api_key(name, scope, key[:_PREFIX_LEN], _hash(key))
    if actor is not None:
        store.record_audit(actor, "keys create", name, detail=f"scope {scope}")
    return {**rec.to_dict(), "key": key}


def list_keys(store: CatalogStore) -> list[dict[str, Any]]:
    """Every key (revoked ones too), without secrets or hashes."""
    return [k.to_dict() for k in store.api_keys()]


def revoke_key(store: CatalogStore, name: str, actor: str | None = "cli") -> dict[str, Any]:
    """Revoke the active key called ``name`` (logged under ``actor``, as
    :func:`create_key`)."""
    rec = store.revoke_api_key(name)
    if rec is None:
        raise NotFoundError(f"no active key named '{name}': see `faceatlas keys list`")
    if actor is not None:
        store.record_audit(actor, "keys revoke", name)
    return rec.to_dict()


def authenticate(store: CatalogStore, key: str) -> ApiKey | None:
    """The active key ``key`` is, or None (unknown, malformed or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) < _PREFIX_LEN + 8:
        return None
    digest = _hash(key)
    found = None
    for rec in store.api_keys(prefix=key[:_PREFIX_LEN], include_revoked=False):
        if hmac.compare_digest(rec.key_hash, digest):
            found = rec
    return found


def still_active(store: CatalogStore, key: ApiKey) -> ApiKey | None:
    """``key`` as the catalog holds it now, or None once it was revoked (or deleted):
    how a browser session, which keeps no secret, is checked on every request."""
    for rec in store.api_keys(prefix=key.prefix, include_revoked=False):
        if rec.id == key.id and hmac.compare_digest(rec.key_hash, key.key_hash):
            return rec
    return None


def audit_log(store: CatalogStore, limit: int = 100, since_id: int = 0
              ) -> list[dict[str, Any]]:
    """The newest audit lines, newest first."""
    return [e.to_dict() for e in store.audit_log(limit, since_id)]
