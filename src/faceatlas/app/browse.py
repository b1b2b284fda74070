"""Browsing use cases for the web app: a photo with its faces, merge suggestions and
unassigned faces with the thumbnails a card shows, naming an unassigned face, search by
an uploaded photo (every face at once) and one person's neighbourhood graph. Each returns
what the REST service answers (``faceatlas.service.browse_api``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError, NoFaceError, NotFoundError

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library import Library
    from ..store import CatalogStore

#: Thumbnails shown per person on a suggestion card, by default.
CARD_FACES = 6


def best_faces(store: CatalogStore, person_id: int, n: int) -> list[int]:
    """Ids of a person's ``n`` best faces (quality first; user-fixed faces first)."""
    faces = sorted(store.person_faces(person_id),
                   key=lambda f: (f.assigned_by != "user", -f.quality, f.id))
    return [f.id for f in faces[:n]]


def photo_faces(library: Library, photo_id: int) -> dict[str, Any]:
    """A photo (file name, size in pixels, date, album) and its faces: id, box
    ``[x, y, w, h]`` in the photo's pixels, person id and name (None when unassigned)."""
    store = library.store
    rec = store.get_image(photo_id)
    if rec is None:
        raise NotFoundError(f"no photo {photo_id}")
    people = {p.id: p for p in store.people()}
    faces = []
    for f in sorted(store.faces_of_image(photo_id), key=lambda f: (f.box[0], f.id)):
        p = people.get(f.person_id) if f.person_id is not None else None
        faces.append({"id": f.id, "box": [round(float(v), 2) for v in f.box],
                      "quality": round(f.quality, 4),
                      "person": p.id if p else None, "name": p.name if p else None,
                      "hidden": bool(p.hidden) if p else False})
    return {"id": rec.id, "file": Path(rec.path).name, "album": rec.album,
            "kind": rec.media, "width": rec.width, "height": rec.height,
            "taken_at": rec.taken_at, "status": rec.status, "faces": faces}


def suggestion_cards(library: Library, limit: int = 20, faces: int = CARD_FACES
                     ) -> dict[str, Any]:
    """Merge suggestions (as ``people suggest``), each with the best face ids of both
    people (``faces_a`` for ``person``, ``faces_b`` for ``other``)."""
    from ..cluster import suggest as sg

    store = library.store
    rows = sg.suggest_merges(store, limit=limit)
    return {"suggestions": [{**r.to_dict(), "faces_a": best_faces(store, r.person, faces),
                             "faces_b": best_faces(store, r.other, faces)} for r in rows]}


def unassigned_cards(library: Library, limit: int = 60, offset: int = 0,
                     faces: int = 3) -> dict[str, Any]:
    """One page of the unassigned faces (as ``people unassigned``, most similar to a
    person first), each with the best face ids of its candidate (``candidate_faces``);
    ``total`` counts them all."""
    from ..cluster import suggest as sg

    store = library.store
    rows = sg.unassigned_faces(store)
    page = rows[offset:offset + limit]
    return {"total": len(rows), "offset": offset, "limit": limit, "faces": [
        {**u.to_dict(), "candidate_faces": [] if u.candidate is None
         else best_faces(store, u.candidate, faces)} for u in page]}


def assign_faces(library: Library, faces: list[int], name: str) -> dict[str, Any]:
    """Put faces into the person named ``name`` (case-insensitive), created when nobody
    has that name yet (as ``people move``: the faces become user-fixed)."""
    from ..cluster import people as ops

    name = name.strip()
    if not name:
        raise FaceAtlasError("a name cannot be empty")
    store = library.store
    person = store.person_by_name(name)
    created = person is None
    if person is None:
        missing = sorted(set(faces) - set(store.faces(list(faces))))
        if missing or not faces:  # refuse unknown faces before creating anyone
            raise NotFoundError(f"no face with id {missing[0]} in the library" if missing
                                else "give at least one face id")
        person = store.create_person(name)
    ops.move_faces(store, faces, person)
    return {**ops.summarize(store, person).to_dict(), "created": created}


def search_faces(library: Library, engine: FaceEngine, image: str | os.PathLike[str],
                 top_k: int = 5, limit: int = 12) -> dict[str, Any]:
    """Every face of ``image``, left to right: its box, who it may be (the open-set
    decision and the ``top_k`` people of ``identify``) and the library photos holding
    it (``search``, up to ``limit``). ``identity`` is None when nobody can be
    recognised yet (no one is enrolled or named)."""
    from ..library.recognize import (
        identify_gallery,
        require_model,
        search_face,
    )
    from ..store import FaceFilter
    from ..verification import resolve_threshold

    faces = engine.analyze(str(image))
    if not faces:
        raise NoFaceError(f"{image}: no face found")
    faces = sorted(faces, key=lambda f: (float(f.box[0]), float(f.box[1])))
    model = engine.model_id
    require_model(library, model)
    note = None
    idents = None
    if library.store.face_ids(model, FaceFilter(enrolled_only=True)).size:
        idents = identify_gallery(library, model).identify_faces(faces, top_k)
    else:
        note = "nobody is named or enrolled yet: no one to recognise"
    t = resolve_threshold(engine.recognizer.spec.name)
    out = []
    for i, face in enumerate(faces):
        ident = idents[i].to_dict() if idents is not None else None
        if ident is not None:
            ident.pop("box", None)
            ident.pop("quality", None)
        out.append({"index": i, "box": [round(float(v), 2) for v in face.box],
                    "quality": round(float(face.quality.score), 4), "identity": ident,
                    "photos": search_face(library, model, face.embedding.vector, t, limit)})
    return {"image": str(image), "model": model, "search_threshold": round(t.value, 6),
            **({"note": note} if note else {}), "faces": out}


def neighbourhood(library: Library, person: str | int, n: int = 12) -> dict[str, Any]:
    """One person and the ``n`` people they appear with most, as a graph: nodes (id, name,
    photo count, a face id for the thumbnail; ``center`` marks the person) and edges
    between any two of them (``weight``: photos shared)."""
    from ..app import relations as rel
    from ..relations.render import select_people

    store = library.store
    source, rg = rel.from_library(library)
    pid = rel.resolve(source, person)
    if pid not in rg:
        p = store.get_person(pid)
        if p is None:
            raise NotFoundError(f"no person #{pid} in the library")
        return {"person": pid, "nodes": [_node(store, pid, p.name, 0, True)], "edges": []}
    drawn = select_people(rg, n + 1, pid)
    names = source.person_names()
    g = rg.graph
    keep = set(drawn)
    nodes = [_node(store, u, names.get(u), int(g.nodes[u]["photos"]), u == pid)
             for u in drawn]
    edges = [{"a": int(a), "b": int(b), "weight": int(w)}
             for a, b, w in g.subgraph(keep).edges(data="weight")]
    edges.sort(key=lambda e: (-e["weight"], e["a"], e["b"]))
    return {"person": pid, "nodes": nodes, "edges": edges}


def _node(store: CatalogStore, pid: int, name: str | None, photos: int, center: bool
          ) -> dict[str, Any]:
    face = best_faces(store, pid, 1)
    return {"id": pid, "name": name, "photos": photos, "face": face[0] if face else None,
            "center": center}
