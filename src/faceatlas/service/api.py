"""The HTTP API (``/api/v1``): routes, authentication by scope, errors as JSON, uploads
with size and pixel limits, the audit log. Each handler parses its request, calls the
application layer (:mod:`faceatlas.app`) and returns what ``--json`` prints for the same
request. Handlers are plain functions: FastAPI runs them in a thread pool, off the event
loop."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import (
    FaceAtlasError,
    ImageError,
    ModelError,
    ModelMismatchError,
    NoFaceError,
    NotFoundError,
)
from ..store.base import ApiKey
from .sessions import COOKIE, CSRF_HEADER, Sessions
from .state import ForbiddenPathError, JobManager, LibraryHost, RateLimiter, ServiceConfig

PREFIX = "/api/v1"


class ApiProblem(Exception):
    """An error answered as ``{"error": {"type", "message"}}`` with ``status``."""

    def __init__(self, status: int, kind: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers


class LibraryNotEmptyError(FaceAtlasError):
    """An import into a library that holds photos or people, without ``force``."""


class TooLargeError(ImageError):
    """An upload above the size or pixel limit."""


def error_status(exc: FaceAtlasError) -> int:
    """The HTTP status of a faceatlas error."""
    from ..library.locks import LibraryBusyError
    from ..store import CatalogError, ConstraintError

    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ForbiddenPathError):
        return 403
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, ConstraintError | ModelMismatchError | LibraryNotEmptyError
                  | LibraryBusyError):
        return 409
    if isinstance(exc, NoFaceError):
        return 422
    if isinstance(exc, CatalogError | ModelError):
        return 503
    return 400


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None,
           extra: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({**(extra or {}), "error": {"type": kind, "message": message}},
                        status_code=status, headers=headers)


# -- request bodies ------------------------------------------------------------------------
class PersonPatch(BaseModel):
    name: str | None = Field(None, description="New name (its faces become fixed).")
    hidden: bool | None = Field(None, description="Hide from listings, or show again.")


class MergeBody(BaseModel):
    others: list[int] = Field(..., min_length=1, description="Ids of people merged in.")


class FacesBody(BaseModel):
    faces: list[int] = Field(..., min_length=1, description="Face ids.")


class SplitBody(FacesBody):
    name: str | None = Field(None, description="Name of the new person.")


class MoveBody(BaseModel):
    to: int = Field(..., description="Id of the person the face goes to.")


class AnswerBody(BaseModel):
    a: int
    b: int
    same: bool = Field(..., description="true: one person (merge); false: different.")


class NotFaceBody(BaseModel):
    faces: list[int] = Field(default_factory=list)
    person: int | None = None


class IndexBody(BaseModel):
    paths: list[str] = Field(default_factory=list, description="Files or folders under the "
                             "service's --root folders (default: every root).")
    album: str | None = None


class ClusterBody(BaseModel):
    full: bool = False
    strictness: float | None = Field(None, ge=0.0, le=1.0)
    min_faces: int = Field(2, ge=1)


class ReembedBody(BaseModel):
    recognizer: str = Field(..., min_length=1, description="Model to migrate to.")
    drop_old: bool = False
    force: bool = False


class OptOutBody(BaseModel):
    undo: bool = False
    linked_only: bool = False
    dry_run: bool = False


class LoginBody(BaseModel):
    key: str = Field(..., min_length=1, max_length=512, description="An API key.")


class KeyBody(BaseModel):
    name: str = Field(..., min_length=1)
    scope: str = Field("read", pattern="^(read|write|admin)$")


def create_app(config: ServiceConfig, host: LibraryHost | None = None) -> FastAPI:
    """The FastAPI application serving ``config.library``."""
    from ..app import keys as key_uc

    host = host or LibraryHost(config)
    jobs = JobManager(host)
    limiter = RateLimiter(config.rate_limit)
    sessions = Sessions()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        host.close()

    app = FastAPI(title="faceatlas", version=__version__, lifespan=lifespan,
                  description="Offline face recognition over one photo library. Every "
                  "endpoint but /api/v1/health needs `Authorization: Bearer KEY` "
                  "(`faceatlas keys create`); scopes read < write < admin.")
    app.state.host, app.state.jobs, app.state.sessions = host, jobs, sessions
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins,
                           allow_methods=["*"], allow_headers=["*"])

    # -- errors ----------------------------------------------------------------------------
    @app.exception_handler(ApiProblem)
    def _problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return _error(exc.status, exc.kind, exc.message, exc.headers)

    @app.exception_handler(FaceAtlasError)
    def _faceatlas(request: Request, exc: FaceAtlasError) -> JSONResponse:
        return _error(error_status(exc), type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}"
                 for e in exc.errors()]
        return _error(422, "ValidationError", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return _error(exc.status_code, kind, str(exc.detail), getattr(exc, "headers", None))

    # -- limits and audit ------------------------------------------------------------------
    @app.middleware("http")
    async def _limits_and_audit(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return _error(400, "BadRequest", "bad Content-Length")
            limit = config.max_import_bytes if request.url.path == PREFIX + "/import" \
                else config.max_upload_bytes
            if int(length) > limit + 1024 * 1024:
                return _error(413, "TooLarge", f"request body above the {limit} byte limit")
        response: Response = await call_next(request)
        needed = getattr(request.state, "needed", None)
        actor = getattr(request.state, "actor", None)
        if actor is not None and needed in ("write", "admin"):
            from starlette.concurrency import run_in_threadpool

            action = f"{request.method} {request.url.path}"
            query = str(request.url.query) or None
            await run_in_threadpool(host.meta, lambda s: s.record_audit(
                actor, action, getattr(request.state, "target", None),
                response.status_code, query))
        return response

    bearer = HTTPBearer(auto_error=False, description="An API key (faceatlas keys create).")

    def authenticated(request: Request, cred: HTTPAuthorizationCredentials | None
                      ) -> ApiKey:
        """The key behind a request: its bearer key, else its session cookie (which,
        for anything but GET/HEAD, must come with the CSRF header)."""
        if cred is not None:
            key = host.meta(lambda s: key_uc.authenticate(s, cred.credentials))
            if key is None:
                raise ApiProblem(401, "Unauthorized", "unknown or revoked API key",
                                 {"WWW-Authenticate": "Bearer"})
            return key
        token = request.cookies.get(COOKIE)
        if not token:
            raise ApiProblem(401, "Unauthorized", "missing API key: send 'Authorization: "
                             "Bearer KEY' (or log in: POST /api/v1/session)",
                             {"WWW-Authenticate": "Bearer"})
        session = sessions.get(token)
        found = None if session is None else \
            host.meta(lambda s: key_uc.still_active(s, session.key))
        if found is None:
            sessions.end(token)
            raise ApiProblem(401, "Unauthorized", "the session ended (logged out, expired "
                             "or its key was revoked): log in again",
                             {"WWW-Authenticate": "Bearer"})
        if request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
            raise ApiProblem(403, "Forbidden", f"a call authenticated by the session cookie "
                             f"must carry the header '{CSRF_HEADER}: 1'")
        request.state.session = token
        return found

    def need(scope: str) -> Any:
        def check(request: Request, cred: HTTPAuthorizationCredentials | None
                  = Depends(bearer)) -> ApiKey:
            request.state.needed = scope
            key = authenticated(request, cred)
            request.state.actor = key.name
            if not key_uc.allows(key.scope, scope):
                raise ApiProblem(403, "Forbidden", f"this key's scope is '{key.scope}'; "
                                 f"this call needs '{scope}'")
            wait = limiter.retry_after(key.name)
            if wait is not None:
                raise ApiProblem(429, "TooManyRequests", f"rate limit of {config.rate_limit} "
                                 "requests per minute reached", {"Retry-After": str(int(wait) + 1)})
            return key
        return Depends(check)

    read, write, admin = need("read"), need("write"), need("admin")

    # -- uploads ---------------------------------------------------------------------------
    @contextmanager
    def uploads(files: list[UploadFile]) -> Iterator[list[tuple[Path, str]]]:
        """The uploads saved to a temporary folder: (path, name) each; faceatlas errors
        inside name the upload, not the temporary file."""
        folder = Path(tempfile.mkdtemp(prefix="faceatlas-upload-"))
        saved: list[tuple[Path, str]] = []
        try:
            for i, up in enumerate(files):
                label = Path(up.filename or f"upload-{i}").name or f"upload-{i}"
                data = up.file.read(config.max_upload_bytes + 1)
                if len(data) > config.max_upload_bytes:
                    raise TooLargeError(f"{label}: upload above the {config.max_upload_bytes} "
                                        "byte limit")
                if not data:
                    raise ImageError(f"{label}: empty upload")
                _check_pixels(data, label, config.max_pixels)
                safe = re.sub(r"[^A-Za-z0-9._-]", "_", label)[-100:] or "image"
                path = folder / str(i) / safe
                path.parent.mkdir()
                path.write_bytes(data)
                saved.append((path, label))
            try:
                yield saved
            except FaceAtlasError as exc:
                message = str(exc)
                for path, label in saved:
                    message = message.replace(str(path), label)
                if message == str(exc):
                    raise
                try:
                    renamed = type(exc)(message)
                except TypeError:
                    raise exc from None
                raise renamed from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def relabel(data: dict[str, Any], saved: list[tuple[Path, str]]) -> dict[str, Any]:
        names = {str(p): label for p, label in saved}
        if isinstance(data.get("image"), str):
            data["image"] = names.get(data["image"], data["image"])
        return data

    # -- open ------------------------------------------------------------------------------
    @app.get(PREFIX + "/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Whether the service is up (no key needed)."""
        return {"status": "ok", "version": __version__}

    # -- browser sessions ------------------------------------------------------------------
    def set_cookie(response: Response, token: str) -> None:
        response.set_cookie(COOKIE, token, httponly=True, secure=True, samesite="strict",
                            path="/")

    @app.post(PREFIX + "/session", tags=["service"])
    def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
        """Log a browser in: trade an API key for a session cookie (`faceatlas_session`:
        HttpOnly, Secure, SameSite=Strict). The cookie holds a random token, never the
        key; revoking the key ends the session. Calls authenticated by the cookie other
        than GET/HEAD must send the header `X-FaceAtlas-CSRF: 1`."""
        key = host.meta(lambda s: key_uc.authenticate(s, body.key.strip()))
        if key is None:
            raise ApiProblem(401, "Unauthorized", "unknown or revoked API key")
        old = request.cookies.get(COOKIE)
        if old:
            sessions.end(old)
        set_cookie(response, sessions.create(key))
        response.headers["Cache-Control"] = "no-store"
        return {"name": key.name, "scope": key.scope}

    @app.get(PREFIX + "/session", tags=["service"])
    def who(request: Request, key: ApiKey = read) -> dict[str, Any]:
        """Who is logged in (or whose bearer key this is): key name and scope."""
        return {"name": key.name, "scope": key.scope,
                "via": "cookie" if getattr(request.state, "session", None) else "bearer"}

    @app.delete(PREFIX + "/session", tags=["service"], status_code=204,
                response_class=Response, dependencies=[read])
    def logout(request: Request) -> Response:
        """Log out: end this browser's session and clear its cookie."""
        token = getattr(request.state, "session", None)
        if token:
            sessions.end(token)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True,
                               samesite="strict")
        return response

    @app.get(PREFIX + "/status", tags=["service"], dependencies=[read])
    def status() -> dict[str, Any]:
        """What the library holds (`faceatlas status --json`)."""
        from ..app import library as uc

        with host.library() as lib:
            return uc.status(lib)

    # -- analysis --------------------------------------------------------------------------
    @app.post(PREFIX + "/detect", tags=["analysis"], dependencies=[read])
    def detect(image: UploadFile = File(...)) -> Any:
        """Faces of an image (`faceatlas detect --json`); 422 with the same document when
        there is none."""
        from .pool import detect_data

        with uploads([image]) as saved:
            path, label = saved[0]
            if host.pool is not None:
                data, failed = host.pool.run(detect_data, str(path), label)
            else:
                with host.engine() as engine:
                    data, failed = detect_data(engine, str(path), label)
        return JSONResponse(data, status_code=422) if failed else data

    @app.post(PREFIX + "/embed", tags=["analysis"], dependencies=[admin])
    def embed(image: UploadFile = File(...)) -> Any:
        """Faces with their embeddings (`faceatlas embed --json`; admin only)."""
        from ..app import analysis

        with uploads([image]) as saved, host.engine() as engine:
            data, found = analysis.embed(engine, saved[0][0])
        data = relabel(data, saved)
        if "error" in data:
            data["error"]["message"] = data["error"]["message"].replace(
                str(saved[0][0]), saved[0][1])
        return data if found else JSONResponse(data, status_code=422)

    @app.post(PREFIX + "/verify", tags=["analysis"], dependencies=[read])
    def verify(a: UploadFile = File(...), b: UploadFile = File(...),
               threshold: float | None = Form(None), far: float | None = Form(None),
               face_a: int | None = Form(None, ge=0), face_b: int | None = Form(None, ge=0)
               ) -> dict[str, Any]:
        """Are the faces of `a` and `b` the same person (`faceatlas verify --json`)?"""
        from ..app import analysis

        with uploads([a, b]) as saved, host.analysis() as engine:
            return analysis.verify(engine, saved[0][0], saved[1][0], threshold, far,
                                   face_a, face_b)

    def scope_of(folder: str | None, album: str | None, since: str | None, until: str | None,
                 person: str | None, min_quality: float | None) -> Any:
        from ..app.library import Scope

        return Scope(folder=folder, album=album, since=since, until=until, person=person,
                     min_quality=min_quality)

    @app.post(PREFIX + "/identify", tags=["analysis"], dependencies=[read])
    def identify(image: list[UploadFile] = File(...), top_k: int = Form(5, ge=1, le=100),
                 fpir: float | None = Form(None, gt=0, lt=1),
                 threshold: float | None = Form(None), margin: float | None = Form(None, ge=0),
                 folder: str | None = Form(None), album: str | None = Form(None),
                 since: str | None = Form(None), until: str | None = Form(None),
                 person: str | None = Form(None),
                 min_quality: float | None = Form(None, ge=0, le=1)) -> list[dict[str, Any]]:
        """Who is in these photos (`faceatlas identify --json`): one result per image."""
        from ..app import library as uc

        with uploads(image) as saved, \
                host.analysis(*_stills(saved)) as engine, host.library() as lib:
            results = uc.identify(lib, engine, [p for p, _ in saved], top_k, threshold, fpir,
                                  margin, scope_of(folder, album, since, until, person,
                                                   min_quality))
        return [relabel(r, saved) for r in results]

    @app.post(PREFIX + "/search", tags=["analysis"], dependencies=[read])
    def search(image: UploadFile = File(...), limit: int = Form(20, ge=1, le=10_000),
               face_index: int | None = Form(None, ge=0), threshold: float | None = Form(None),
               far: float | None = Form(None, gt=0, lt=1), folder: str | None = Form(None),
               album: str | None = Form(None), since: str | None = Form(None),
               until: str | None = Form(None), person: str | None = Form(None),
               min_quality: float | None = Form(None, ge=0, le=1)) -> dict[str, Any]:
        """Photos of the library with this face, best first (`faceatlas search --json`)."""
        from ..app import library as uc

        with uploads([image]) as saved, \
                host.analysis(*_stills(saved)) as engine, host.library() as lib:
            res = uc.search(lib, engine, saved[0][0], limit, face_index, threshold, far,
                            scope_of(folder, album, since, until, person, min_quality))
        return relabel(res, saved)

    # -- people ----------------------------------------------------------------------------
    @app.get(PREFIX + "/people", tags=["people"], dependencies=[read])
    def people(response: Response,
               all: bool = Query(False, description="Include hidden people."),
               limit: int | None = Query(None, ge=1, le=10_000, description="At most this "
                                         "many people (default: all)."),
               offset: int = Query(0, ge=0, description="Skip this many first."),
               q: str | None = Query(None, max_length=200, description="Only the people "
                                     "whose name contains this (any case), or `#ID`.")
               ) -> list[dict[str, Any]]:
        """People, most faces first (`faceatlas people --json`); `limit`/`offset` give one
        page of that list (`q` filters it by name), and the header `X-Total-Count` the
        length of the whole (filtered) list."""
        from ..app import people as uc

        with host.library() as lib:
            rows, total = uc.people_page(lib, all, limit, offset, q)
        response.headers["X-Total-Count"] = str(total)
        return rows

    @app.get(PREFIX + "/people/suggestions", tags=["people"], dependencies=[read])
    def suggestions(limit: int = Query(20, ge=1, le=1000)) -> dict[str, Any]:
        """Pairs of people that are probably one person (`people suggest --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.suggestions(lib, limit)

    @app.post(PREFIX + "/people/suggestions/answer", tags=["people"], dependencies=[write])
    def answer(body: AnswerBody) -> dict[str, Any]:
        """Answer a suggestion (`people suggest --yes/--no A B --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.answer_suggestion(lib, body.a, body.b, body.same)

    @app.get(PREFIX + "/people/unassigned", tags=["people"], dependencies=[read])
    def unassigned(limit: int | None = Query(None, ge=1)) -> dict[str, Any]:
        """Faces in no person, with their best candidate (`people unassigned --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.unassigned(lib, limit)

    @app.get(PREFIX + "/people/{person_id}", tags=["people"], dependencies=[read])
    def person(person_id: int, brief: bool = Query(False, description="Only the summary "
                                                    "(id, name, faces, representative face, "
                                                    "hidden), without photos and faces.")
               ) -> dict[str, Any]:
        """One person (`people show '#ID' --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.person_summary(lib, person_id) if brief else uc.show_person(lib, person_id)

    @app.get(PREFIX + "/people/{person_id}/faces", tags=["people"], dependencies=[read])
    def person_faces(person_id: int, response: Response,
                     limit: int = Query(60, ge=1, le=1000),
                     offset: int = Query(0, ge=0)) -> dict[str, Any]:
        """One page of a person's faces (`total`; also in `X-Total-Count`)."""
        from ..app import people as uc

        with host.library() as lib:
            out = uc.person_faces_page(lib, person_id, limit, offset)
        response.headers["X-Total-Count"] = str(out["total"])
        return out

    @app.get(PREFIX + "/people/{person_id}/photos", tags=["people"], dependencies=[read])
    def person_photos(person_id: int, response: Response,
                      limit: int = Query(60, ge=1, le=1000),
                      offset: int = Query(0, ge=0)) -> dict[str, Any]:
        """One page of the photos a person is in, newest first (`total`; also in
        `X-Total-Count`)."""
        from ..app import people as uc

        with host.library() as lib:
            out = uc.person_photos_page(lib, person_id, limit, offset)
        response.headers["X-Total-Count"] = str(out["total"])
        return out

    @app.get(PREFIX + "/people/{person_id}/relations", tags=["people"], dependencies=[read])
    def person_relations(person_id: int, n: int = Query(12, ge=1, le=1000)
                         ) -> dict[str, Any]:
        """Who a person appears with (`companions`: the `n` sharing most photos, each with a
        representative face) and their photos per month (`timeline`), from one graph."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.person_relations(lib, person_id, n)

    @app.patch(PREFIX + "/people/{person_id}", tags=["people"], dependencies=[write])
    def patch_person(person_id: int, body: PersonPatch) -> dict[str, Any]:
        """Rename and/or hide a person (`people name`, `people hide --json`)."""
        from ..app import people as uc

        if body.name is None and body.hidden is None:
            raise ApiProblem(400, "BadRequest", "give 'name' and/or 'hidden'")
        with host.library() as lib:
            out = uc.show_person(lib, person_id)
            if body.name is not None:
                out = uc.name_person(lib, person_id, body.name)
            if body.hidden is not None:
                out = uc.hide_person(lib, person_id, body.hidden)
        return out

    @app.post(PREFIX + "/people/{person_id}/merge", tags=["people"], dependencies=[write])
    def merge(person_id: int, body: MergeBody) -> dict[str, Any]:
        """Merge other people into this one (`people merge --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.merge_people(lib, person_id, list(body.others))

    @app.post(PREFIX + "/people/{person_id}/split", tags=["people"], dependencies=[write])
    def split(person_id: int, body: SplitBody) -> dict[str, Any]:
        """Split faces off into a new person (`people split --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.split_person(lib, person_id, body.faces, body.name)

    @app.post(PREFIX + "/people/{person_id}/not", tags=["people"], dependencies=[write])
    def not_person(person_id: int, body: FacesBody) -> dict[str, Any]:
        """These faces are not this person (`people not --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.reject_faces(lib, person_id, body.faces)

    @app.post(PREFIX + "/people/{person_id}/enroll", tags=["people"], dependencies=[write])
    def enroll_person(person_id: int, image: list[UploadFile] = File(...),
                      min_quality: float | None = Form(None, ge=0, le=1)) -> Any:
        """Enrol more photos of a named person (`enroll NAME ... --json`)."""
        from ..cluster.people import resolve_person

        with host.library() as lib:
            p = resolve_person(lib.store, person_id)
        if not p.name:
            raise ApiProblem(409, "Conflict", f"person #{p.id} has no name: name them first "
                             "(PATCH /api/v1/people/{id})")
        return enroll_named(p.name, image, min_quality)

    @app.post(PREFIX + "/enroll", tags=["people"], dependencies=[write])
    def enroll(name: str = Form(..., min_length=1), image: list[UploadFile] = File(...),
               min_quality: float | None = Form(None, ge=0, le=1)) -> Any:
        """Enrol a person from photos (`faceatlas enroll --json`); 422 when none was
        enrolled."""
        return enroll_named(name, image, min_quality)

    def enroll_named(name: str, image: list[UploadFile], min_quality: float | None) -> Any:
        from ..app import library as uc

        with uploads(image) as saved, host.library() as lib, host.engine() as engine:
            pool = None if _stills(saved)[1] else host.pool  # videos: the server's engine
            res = uc.enroll(lib, engine, name, [p for p, _ in saved], min_quality,
                            analyze=pool.analyze_file if pool is not None else None)
        for row in res["images"]:
            relabel(row, saved)
        return res if uc.enrolled_count(res) else JSONResponse(res, status_code=422)

    @app.post(PREFIX + "/faces/{face_id}/move", tags=["people"], dependencies=[write])
    def move(face_id: int, body: MoveBody) -> dict[str, Any]:
        """Move a face to a person (`people move --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.move_faces(lib, [face_id], body.to)

    @app.post(PREFIX + "/faces/notface", tags=["people"], dependencies=[write])
    def notface(body: NotFaceBody) -> dict[str, Any]:
        """These detections are not faces (`people notface --json`)."""
        from ..app import people as uc

        with host.library() as lib:
            return uc.mark_not_faces(lib, body.faces, body.person)

    # -- media -----------------------------------------------------------------------------
    def cached(request: Request, etag: str, make: Any) -> Response:
        headers = {"ETag": etag, "Cache-Control": "private, max-age=86400"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        response: Response = make(headers)
        return response

    @app.get(PREFIX + "/faces/{face_id}/thumbnail", tags=["media"], dependencies=[read],
             response_class=Response)
    def thumbnail(face_id: int, request: Request) -> Response:
        """The face's JPEG thumbnail (ETag; answers If-None-Match with 304)."""
        with host.library() as lib:
            data = lib.store.thumbnail(face_id)
        if data is None:
            raise NotFoundError(f"no thumbnail of face {face_id}")
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        return cached(request, etag, lambda h: Response(data, media_type="image/jpeg",
                                                        headers=h))

    @app.get(PREFIX + "/photos/{photo_id}", tags=["media"], dependencies=[read],
             response_class=Response)
    def photo(photo_id: int, request: Request,
              size: int | None = Query(None, ge=32, le=4096, description="A JPEG preview "
                                       "whose longer side is at most this many pixels "
                                       "(photos only), instead of the file.")) -> Response:
        """A photo of the library (only under the --root folders), or its preview."""
        with host.library() as lib:
            rec = lib.store.get_image(photo_id)
        if rec is None:
            raise NotFoundError(f"no photo {photo_id}")
        path = config.allowed(rec.path)
        if not path.is_file():
            raise NotFoundError(f"photo {photo_id} is no longer on disk")
        tag = rec.content_hash or f"{rec.size}-{rec.mtime_ns}"
        if size is None:
            return cached(request, f'"{tag}"', lambda h: FileResponse(path, headers=h))
        if rec.media != "photo":
            raise NotFoundError(f"item {photo_id} is a {rec.media}: no preview (leave out "
                                "'size' for the file)")

        def preview(headers: dict[str, str]) -> Response:
            from ..image import preview_jpeg

            data = preview_jpeg(path.read_bytes(), size, f"photo {photo_id}")
            return Response(data, media_type="image/jpeg", headers=headers)

        return cached(request, f'"{tag}-{size}"', preview)

    # -- jobs ------------------------------------------------------------------------------
    @app.post(PREFIX + "/index", tags=["jobs"], status_code=202)
    def index(body: IndexBody, key: ApiKey = write) -> dict[str, Any]:
        """Index files or folders under the --root folders in the background; 202 with the
        job (`GET /api/v1/jobs/{id}` for progress and the `index --json` result)."""
        from ..app import library as uc

        if not config.roots:
            raise ApiProblem(409, "Conflict", "this service has no --root folder to index")
        paths = [str(config.allowed(p)) for p in body.paths] or \
            [str(r) for r in config.resolved_roots()]

        def work(job: Any, lib: Any, engine: Any) -> dict[str, Any]:
            return uc.index(lib, paths, workers=0, album=body.album,
                            progress=jobs.progress(job), engine=engine())

        return jobs.submit("index", {"paths": paths, "album": body.album}, key.name,
                           work).to_dict()

    @app.post(PREFIX + "/cluster", tags=["jobs"], status_code=202)
    def cluster(body: ClusterBody, key: ApiKey = write) -> dict[str, Any]:
        """Cluster unassigned faces in the background (`cluster --json` as the result)."""
        from ..app import people as uc

        def work(job: Any, lib: Any, engine: Any) -> dict[str, Any]:
            return uc.cluster(lib, full=body.full, strictness=body.strictness,
                              min_faces=body.min_faces)

        return jobs.submit("cluster", body.model_dump(), key.name, work).to_dict()

    @app.post(PREFIX + "/reembed", tags=["jobs"], status_code=202)
    def reembed(body: ReembedBody, key: ApiKey = write) -> dict[str, Any]:
        """Embed every stored face with another recognition model, in the background
        (`reembed --json` as the result)."""
        from ..app import portability as uc
        from ..app.engine import get_engine

        try:
            get_engine(recognizer=body.recognizer)  # an unknown model is refused now
        except ModelError as exc:
            raise ApiProblem(400, type(exc).__name__, str(exc)) from None

        def work(job: Any, lib: Any, engine: Any) -> dict[str, Any]:
            return uc.reembed(lib, body.recognizer, drop_old=body.drop_old, force=body.force,
                              progress=jobs.progress(job))

        return jobs.submit("reembed", body.model_dump(), key.name, work).to_dict()

    @app.get(PREFIX + "/jobs", tags=["jobs"], dependencies=[read])
    def job_list() -> list[dict[str, Any]]:
        """Every job of this run of the service, oldest first."""
        return [j.to_dict() for j in jobs.all()]

    @app.get(PREFIX + "/jobs/{job_id}", tags=["jobs"], dependencies=[read])
    def job(job_id: str) -> dict[str, Any]:
        """A job: state, progress, result or error."""
        found = jobs.get(job_id)
        if found is None:
            raise NotFoundError(f"no job {job_id}")
        return found.to_dict()

    # -- privacy (admin) -------------------------------------------------------------------
    @app.delete(PREFIX + "/people/{person_id}", tags=["privacy"], dependencies=[admin])
    def forget_person(person_id: int, request: Request, dry_run: bool = False,
                      linked_only: bool = False) -> dict[str, Any]:
        """Forget a person (`forget '#ID' --json`); `?dry_run=true` previews."""
        from ..app import privacy as uc

        request.state.target = f"person #{person_id}"
        with host.library() as lib:
            plan = uc.plan_forget(lib, person=f"#{person_id}", linked_only=linked_only)
            return uc.dry_run(plan) if dry_run else uc.erase(lib, plan)

    @app.delete(PREFIX + "/faces/{face_id}", tags=["privacy"], dependencies=[admin])
    def forget_face(face_id: int, request: Request, dry_run: bool = False) -> dict[str, Any]:
        """Forget one face (`forget --face ID --json`); `?dry_run=true` previews."""
        from ..app import privacy as uc

        request.state.target = f"face {face_id}"
        with host.library() as lib:
            plan = uc.plan_forget(lib, faces=[face_id])
            return uc.dry_run(plan) if dry_run else uc.erase(lib, plan)

    @app.post(PREFIX + "/people/{person_id}/optout", tags=["privacy"], dependencies=[admin])
    def optout(person_id: int, body: OptOutBody, request: Request) -> dict[str, Any]:
        """Opt a person out of recognition (`optout '#ID' --json`), or cancel it."""
        from ..app import privacy as uc

        request.state.target = f"person #{person_id}"
        with host.library() as lib:
            if body.undo:
                return uc.undo_optout(lib, f"#{person_id}")
            plan = uc.plan_optout(lib, f"#{person_id}", linked_only=body.linked_only)
            return uc.dry_run(plan) if body.dry_run else uc.erase(lib, plan)

    # -- keys and audit (admin) ------------------------------------------------------------
    @app.get(PREFIX + "/keys", tags=["admin"], dependencies=[admin])
    def key_list() -> list[dict[str, Any]]:
        """Every key (never the secret or its hash)."""
        return host.meta(key_uc.list_keys)

    @app.post(PREFIX + "/keys", tags=["admin"], status_code=201, dependencies=[admin])
    def key_create(body: KeyBody, request: Request) -> dict[str, Any]:
        """Create a key; the answer holds it (`key`), shown this once."""
        request.state.target = body.name
        return host.meta(lambda s: key_uc.create_key(s, body.name, body.scope, None))

    @app.delete(PREFIX + "/keys/{name}", tags=["admin"], dependencies=[admin])
    def key_revoke(name: str, request: Request) -> dict[str, Any]:
        """Revoke a key."""
        request.state.target = name
        return host.meta(lambda s: key_uc.revoke_key(s, name, None))  # its sessions end too

    @app.get(PREFIX + "/export", tags=["admin"], dependencies=[admin],
             response_class=FileResponse)
    def export() -> FileResponse:
        """The library as one archive (`faceatlas export`): catalog snapshot with every
        embedding, receipts, manifest."""
        from starlette.background import BackgroundTask

        from ..app import portability as uc

        folder = Path(tempfile.mkdtemp(prefix="faceatlas-export-"))
        out = folder / "library.tar"
        try:
            with host.library() as lib:
                uc.export(lib, out)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(out, media_type="application/x-tar", filename="library.tar",
                            background=BackgroundTask(shutil.rmtree, folder, True))

    @app.post(PREFIX + "/import", tags=["admin"], dependencies=[admin])
    def import_(archive: UploadFile = File(..., description="An archive from "
                                           "GET /api/v1/export (`faceatlas export`)."),
                force: bool = Form(False, description="Replace a library that holds "
                                   "photos or people."),
                remap: list[str] = Form([], description="OLD=NEW path prefixes.")
                ) -> dict[str, Any]:
        """Install an exported library in place of this service's (`faceatlas import`):
        the archive is verified before anything is touched; a library with photos or
        people is refused (409) unless `force`. The catalog is replaced as a whole, its
        API keys included: afterwards the archive's keys are the valid ones. Runs with
        the library lock held exclusively (409 while another process has it open)."""
        from ..app import portability as uc

        remaps = uc.parse_remaps(remap)
        folder = Path(tempfile.mkdtemp(prefix="faceatlas-import-"))
        try:
            path = folder / "library.tar"
            size = 0
            with path.open("wb") as out:
                while chunk := archive.file.read(1 << 20):
                    size += len(chunk)
                    if size > config.max_import_bytes:
                        raise TooLargeError(f"archive above the {config.max_import_bytes} "
                                            "byte limit")
                    out.write(chunk)

            def install(root: Path) -> dict[str, Any]:
                from ..store import open_store

                if not force:
                    store = open_store(root)
                    try:
                        stats = store.stats()
                    finally:
                        store.close()
                    if stats.get("images", 0) or stats.get("people", 0):
                        raise LibraryNotEmptyError(
                            f"the library holds {stats.get('images', 0)} photo(s) and "
                            f"{stats.get('people', 0)} people: pass force=true to replace it")
                return uc.import_archive(path, root, force=True, remaps=remaps)

            result = host.replace_library(install)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return result

    @app.get(PREFIX + "/audit", tags=["admin"], dependencies=[admin])
    def audit(limit: int = Query(100, ge=1, le=10_000), since_id: int = Query(0, ge=0)
              ) -> list[dict[str, Any]]:
        """The audit log of write and admin calls, newest first."""
        return host.meta(lambda s: key_uc.audit_log(s, limit, since_id))

    from .relations_api import add_relations

    add_relations(app, host, read)

    from ..web import mount

    mount(app)
    return app


def _stills(saved: list[tuple[Path, str]]) -> tuple[list[Path], bool]:
    """The uploaded photos among ``saved`` (their analysis can start at once) and whether
    there are videos too (tracked by the server's own engine)."""
    from ..library.videos import is_video

    stills = [p for p, _ in saved if not is_video(p)]
    return stills, len(stills) < len(saved)


def _check_pixels(data: bytes, label: str, max_pixels: int) -> None:
    """Refuse an image whose header announces more than ``max_pixels`` (before any
    decoding); what PIL cannot read is left to the decoder's own error."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Image.DecompressionBombError:
        raise TooLargeError(f"{label}: image too large (refused as a possible "
                            "decompression bomb)") from None
    except Exception:  # not an image PIL reads: the decoder says why
        return
    if w * h > max_pixels:
        raise TooLargeError(f"{label}: image is {w}x{h}, above the "
                            f"{max_pixels / 1e6:.0f} MP limit of this service")
