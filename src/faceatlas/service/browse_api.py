"""Endpoints the web app's browsing views need (suggestion and unassigned cards, a photo's
faces, naming a face, search by upload for every face at once, a person's neighbourhood
graph, the folders an index job may take). Each handler calls :mod:`faceatlas.app.browse`
under the library lock, as the handlers of :mod:`.api` do."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from .state import LibraryHost

PREFIX = "/api/v1"

Uploads = Callable[[list[UploadFile]], AbstractContextManager[list[tuple[Path, str]]]]


class AssignBody(BaseModel):
    name: str = Field(..., min_length=1, description="Name of the person the face goes "
                      "to (created when nobody has that name).")


def add_browse(app: FastAPI, host: LibraryHost, uploads: Uploads, read: Any,
               write: Any) -> None:
    """Add the browsing endpoints to ``app``; ``uploads`` saves uploaded files as
    :func:`.api.create_app` does (size and pixel limits)."""
    from ..app import browse as uc

    @app.get(PREFIX + "/photos/{photo_id}/faces", tags=["browse"], dependencies=[read])
    def photo_faces(photo_id: int) -> dict[str, Any]:
        """A photo's size and faces: box (pixels), person id and name of each."""
        with host.library() as lib:
            return uc.photo_faces(lib, photo_id)

    @app.get(PREFIX + "/browse/suggestions", tags=["browse"], dependencies=[read])
    def suggestion_cards(limit: int = Query(20, ge=1, le=1000),
                         faces: int = Query(uc.CARD_FACES, ge=1, le=24)) -> dict[str, Any]:
        """Merge suggestions with the best face ids of both people (``faces_a``,
        ``faces_b``); answer with ``POST /api/v1/people/suggestions/answer``."""
        with host.library() as lib:
            return uc.suggestion_cards(lib, limit, faces)

    @app.get(PREFIX + "/browse/unassigned", tags=["browse"], dependencies=[read])
    def unassigned_cards(limit: int = Query(60, ge=1, le=1000), offset: int = Query(0, ge=0)
                         ) -> dict[str, Any]:
        """A page of unassigned faces, each with its best guess and the guess's best
        face ids (``candidate_faces``); ``total`` counts them all."""
        with host.library() as lib:
            return uc.unassigned_cards(lib, limit, offset)

    @app.post(PREFIX + "/faces/{face_id}/assign", tags=["browse"], dependencies=[write])
    def assign(face_id: int, body: AssignBody) -> dict[str, Any]:
        """Put a face into the person of this name, created if new (``people move``)."""
        with host.library() as lib:
            return uc.assign_faces(lib, [face_id], body.name)

    @app.post(PREFIX + "/search/faces", tags=["browse"], dependencies=[read])
    def search_faces(image: UploadFile = File(...), top_k: int = Form(5, ge=1, le=50),
                     limit: int = Form(12, ge=1, le=200)) -> dict[str, Any]:
        """Every face of the uploaded photo, left to right: who it may be (``identify``)
        and the library photos holding it (``search``), from one detection."""
        with uploads([image]) as saved, host.analysis([saved[0][0]]) as engine, \
                host.library() as lib:
            res = uc.search_faces(lib, engine, saved[0][0], top_k, limit)
        res["image"] = saved[0][1]
        return res

    @app.get(PREFIX + "/relations/neighbourhood", tags=["relations"], dependencies=[read])
    def neighbourhood(person: str = Query(..., description="Name or #ID."),
                      n: int = Query(12, ge=1, le=100)) -> dict[str, Any]:
        """A person and the people they appear with most: nodes (with a face id for the
        thumbnail) and the edges between them (photos shared)."""
        with host.library() as lib:
            return uc.neighbourhood(lib, person, n)

    @app.get(PREFIX + "/roots", tags=["jobs"], dependencies=[write])
    def roots() -> dict[str, Any]:
        """The folders this service may index (its ``--root`` folders)."""
        return {"roots": [str(r) for r in host.config.resolved_roots()]}
