"""The browser app: a single-page app in plain JavaScript modules (no build step), served
by ``faceatlas serve`` at ``/`` (``index.html``) and ``/static/...``. It is one more client
of the REST API (``/api/v1``), logged in by a session cookie
(:mod:`faceatlas.service.sessions`). Everything it loads comes from this folder: it works
offline and names no external URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

#: The app's files.
STATIC = Path(__file__).resolve().parent / "static"

#: Files are revalidated on every load (ETag / Last-Modified answer 304 when unchanged):
#: there is no build step that would version their names, and an upgraded service must
#: never run an old script against a new API.
CACHE_CONTROL = "no-cache"

#: Only this origin: no CDN, no external font, no inline script.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def mount(app: FastAPI) -> None:
    """Serve the app on ``app``: ``/`` (index.html) and ``/static/...``."""
    from starlette.responses import FileResponse
    from starlette.staticfiles import StaticFiles

    class Static(StaticFiles):
        async def get_response(self, path: str, scope: Any) -> Response:
            response = await super().get_response(path, scope)
            response.headers["Cache-Control"] = CACHE_CONTROL
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={
            "Cache-Control": CACHE_CONTROL, "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    app.mount("/static", Static(directory=STATIC), name="static")
    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
