"""Browser sessions of the service: ``POST /api/v1/session`` trades an API key for a
random session token kept in an HttpOnly cookie. The token maps (in this process's
memory) to the key's catalog row, never to the key itself; the key is looked up again on
every request, so revoking it ends its sessions. Only the token's SHA-256 is held, so a
memory dump does not hand out live cookies."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.base import ApiKey

#: Name of the session cookie.
COOKIE = "faceatlas_session"
#: Header a cookie-authenticated request must carry unless it is GET or HEAD.
CSRF_HEADER = "X-FaceAtlas-CSRF"
#: A session unused for this long ends (seconds).
IDLE_TIMEOUT = 12 * 3600.0
#: A session ends this long after login whatever its use (seconds).
MAX_AGE = 7 * 24 * 3600.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Session:
    """One logged-in browser: the key's catalog row and when it was made / last used."""

    key: ApiKey
    created: float
    used: float


class Sessions:
    """The live sessions of one service process (thread-safe)."""

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT, max_age: float = MAX_AGE) -> None:
        self._by_digest: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.idle_timeout, self.max_age = idle_timeout, max_age

    def create(self, key: ApiKey) -> str:
        """A new session for ``key``; returns its token (for the cookie only)."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            self._by_digest[_digest(token)] = Session(key, now, now)
        return token

    def get(self, token: str) -> Session | None:
        """The live session of ``token`` (its use time refreshed), or None."""
        now = time.monotonic()
        with self._lock:
            found = self._by_digest.get(_digest(token))
            if found is None:
                return None
            if self._expired(found, now):
                del self._by_digest[_digest(token)]
                return None
            found.used = now
            return found

    def end(self, token: str) -> bool:
        """End the session of ``token``; whether there was one."""
        with self._lock:
            return self._by_digest.pop(_digest(token), None) is not None

    def end_key(self, key_id: int) -> int:
        """End every session of the key with catalog id ``key_id``; how many."""
        with self._lock:
            gone = [d for d, s in self._by_digest.items() if s.key.id == key_id]
            for d in gone:
                del self._by_digest[d]
        return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_digest)

    def _expired(self, s: Session, now: float) -> bool:
        return now - s.used > self.idle_timeout or now - s.created > self.max_age

    def _expire(self, now: float) -> None:
        for d in [d for d, s in self._by_digest.items() if self._expired(s, now)]:
            del self._by_digest[d]
