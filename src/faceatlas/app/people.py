"""People use cases: cluster, list and show people, and every correction (name, merge,
move, split, not, hide, not-a-face, merge suggestions, unassigned faces). Every person is
resolved from user input by :func:`~faceatlas.cluster.people.resolve_person`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library import Library

PersonRef = str | int


def cluster(library: Library, *, model: str | None = None, full: bool = False,
            strictness: float | None = None, min_faces: int = 2,
            shard_size: int | None = None, ray: str | None = None) -> dict[str, Any]:
    """Group unassigned faces into people (``full``: redo every automatic assignment);
    ``shard_size`` / ``ray``: build the neighbour lists in shards, on a Ray cluster
    (:func:`faceatlas.cluster.sharded.choose_search`)."""
    from ..cluster import ClusterParams
    from ..cluster.catalog import cluster_catalog
    from ..cluster.params import DEFAULT_STRICTNESS

    params = ClusterParams.from_strictness(
        DEFAULT_STRICTNESS if strictness is None else strictness, min_size=min_faces)
    return cluster_catalog(library.store, model=model, full=full, params=params,
                           shard_size=shard_size, ray=ray).to_dict()


def list_people(library: Library, include_hidden: bool = False) -> list[dict[str, Any]]:
    """People: id, name, face count, a representative face."""
    from ..cluster import people as ops

    return [r.to_dict() for r in ops.list_people(library.store, include_hidden)]


def show_person(library: Library, person: PersonRef) -> dict[str, Any]:
    """One person: summary, photos, face ids and details."""
    from ..cluster import people as ops

    p = ops.resolve_person(library.store, person)
    faces = library.store.person_faces(p.id)
    out = ops.summarize(library.store, p).to_dict()
    out["photos"] = ops.person_photos(library.store, p)
    out["face_ids"] = [f.id for f in faces]
    out["face_details"] = [{"id": f.id, "image_id": f.image_id,
                            "quality": round(f.quality, 4),
                            "assigned_by": f.assigned_by} for f in faces]
    return out


def person_summary(library: Library, person: PersonRef) -> dict[str, Any]:
    """One person as listed (id, name, face count, representative face, hidden), without
    the photos and faces :func:`show_person` adds."""
    from ..cluster import people as ops

    return ops.summarize(library.store, ops.resolve_person(library.store, person)).to_dict()


def name_person(library: Library, person: PersonRef, name: str) -> dict[str, Any]:
    """Name (or rename) a person; its faces become fixed."""
    from ..cluster import people as ops

    p = ops.name_person(library.store, ops.resolve_person(library.store, person), name)
    return ops.summarize(library.store, p).to_dict()


def merge_people(library: Library, person: PersonRef,
                 others: Sequence[PersonRef]) -> dict[str, Any]:
    """Merge ``others`` into ``person``."""
    from ..cluster import people as ops

    target = ops.resolve_person(library.store, person)
    ops.merge_people(library.store, target,
                     [ops.resolve_person(library.store, o) for o in others])
    return ops.summarize(library.store, target).to_dict()


def move_faces(library: Library, faces: Sequence[int], to: PersonRef) -> dict[str, Any]:
    """Move faces to a person."""
    from ..cluster import people as ops

    target = ops.resolve_person(library.store, to)
    ops.move_faces(library.store, list(faces), target)
    return ops.summarize(library.store, target).to_dict()


def split_person(library: Library, person: PersonRef, faces: Sequence[int],
                 new_name: str | None = None) -> dict[str, Any]:
    """Split faces off a person into a new person."""
    from ..cluster import people as ops

    source = ops.resolve_person(library.store, person)
    new = ops.split_person(library.store, source, list(faces), new_name)
    return {"person": ops.summarize(library.store, source).to_dict(),
            "new_person": ops.summarize(library.store, new).to_dict()}


def reject_faces(library: Library, person: PersonRef, faces: Sequence[int]
                 ) -> dict[str, Any]:
    """These faces are not ``person``: out, never to be put back automatically."""
    from ..cluster import people as ops

    p = ops.resolve_person(library.store, person)
    ops.reject_faces(library.store, p, list(faces))
    return {**ops.summarize(library.store, p).to_dict(), "rejected_faces": list(faces)}


def hide_person(library: Library, person: PersonRef, hidden: bool = True) -> dict[str, Any]:
    """Hide a person from listings (or show them again)."""
    from ..cluster import people as ops

    p = ops.hide_person(library.store, ops.resolve_person(library.store, person), hidden)
    return ops.summarize(library.store, p).to_dict()


def contact_sheet(library: Library, person: PersonRef, out: Path, columns: int = 8,
                  limit: int = 200) -> dict[str, Any]:
    """Write a PNG grid of a person's face thumbnails."""
    from ..cluster import people as ops

    p = ops.resolve_person(library.store, person)
    drawn = ops.contact_sheet(library.store, p, out, columns=columns, limit=limit)
    return {"id": p.id, "name": p.name, "faces_drawn": drawn, "path": str(out)}


def suggestions(library: Library, limit: int = 20, sheet: Path | None = None
                ) -> dict[str, Any]:
    """Pairs of people that are probably one person, best first."""
    from ..cluster import suggest as sg

    rows = sg.suggest_merges(library.store, limit=limit)
    out: dict[str, Any] = {"suggestions": [r.to_dict() for r in rows]}
    if sheet is not None and rows:
        sg.suggestion_sheet(library.store, rows, sheet)
        out["sheet"] = str(sheet)
    return out


def answer_suggestion(library: Library, a: PersonRef, b: PersonRef, same: bool
                      ) -> dict[str, Any]:
    """Answer a merge suggestion: ``same`` merges the two people, else they are recorded
    as different (never suggested again, kept apart when clustering)."""
    from ..cluster import people as ops
    from ..cluster import suggest as sg

    pa, pb = ops.resolve_person(library.store, a), ops.resolve_person(library.store, b)
    if same:
        kept = sg.accept_merge(library.store, pa, pb)
        return {"answer": "yes", **ops.summarize(library.store, kept).to_dict()}
    sg.record_differ(library.store, pa, pb)
    return {"answer": "no", "person": pa.id, "other": pb.id}


def unassigned(library: Library, limit: int | None = None, sheet: Path | None = None
               ) -> dict[str, Any]:
    """Faces in no person, with their best candidate person and similarity."""
    from ..cluster import suggest as sg

    rows = sg.unassigned_faces(library.store, limit=limit)
    out: dict[str, Any] = {"faces": [r.to_dict() for r in rows]}
    if sheet is not None and rows:
        sg.unassigned_sheet(library.store, rows, sheet)
        out["sheet"] = str(sheet)
    return out


def not_face_records(library: Library) -> dict[str, Any]:
    """The not-a-face records."""
    return {"records": [{"id": r.id, "content_hash": r.content_hash,
                         "box": [round(v, 1) for v in r.box], "face_id": r.face_id,
                         "created_at": r.created_at} for r in library.store.not_faces()]}


def mark_not_faces(library: Library, faces: Sequence[int] = (),
                   person: PersonRef | None = None) -> dict[str, Any]:
    """These faces (and every face of ``person``) are not faces."""
    from ..cluster import people as ops
    from ..library import notface as nf

    if not faces and person is None:
        raise FaceAtlasError("give face ids, --person PERSON, or --list")
    pid = ops.resolve_person(library.store, person).id if person is not None else None
    return nf.mark_not_faces(library, list(faces), pid).to_dict()


def undo_not_faces(library: Library, records: Sequence[int], engine: FaceEngine
                   ) -> dict[str, Any]:
    """Delete not-a-face records and analyse their photos again."""
    from ..library import notface as nf

    if not records:
        raise FaceAtlasError("give face ids, --person PERSON, or --list")
    return nf.undo_not_faces(library, list(records), engine).to_dict()


def people_page(library: Library, include_hidden: bool = False, limit: int | None = None,
                offset: int = 0, query: str | None = None
                ) -> tuple[list[dict[str, Any]], int]:
    """One page of :func:`list_people` (most faces first) and the number of people in
    the whole list; ``query`` keeps the people whose name contains it (any case) or
    whose label it is (``#12``, ``person #12``)."""
    rows = list_people(library, include_hidden)
    if query and query.strip():
        q = query.strip().casefold()
        rows = [r for r in rows if q in (r["name"] or "").casefold()
                or q in (f"#{r['id']}", str(r["label"]).casefold())]
    end = None if limit is None else offset + limit
    return rows[offset:end], len(rows)


def person_faces_page(library: Library, person: PersonRef, limit: int = 60,
                      offset: int = 0) -> dict[str, Any]:
    """One page of a person's faces (id order: the order of ``show_person``'s
    ``face_ids``), with the photo each is in and the total."""
    from ..cluster import people as ops

    p = ops.resolve_person(library.store, person)
    faces = library.store.person_faces(p.id)
    page = faces[offset:offset + limit]
    return {"person": p.id, "total": len(faces), "offset": offset, "limit": limit,
            "faces": [{"id": f.id, "image_id": f.image_id, "quality": round(f.quality, 4),
                       "assigned_by": f.assigned_by,
                       "box": [round(v, 1) for v in f.box]} for f in page]}


def person_photos_page(library: Library, person: PersonRef, limit: int = 60,
                       offset: int = 0) -> dict[str, Any]:
    """One page of the photos a person is in, newest first (undated ones last), each
    with its id, path, date and the person's faces in it; and the total."""
    from ..cluster import people as ops

    p = ops.resolve_person(library.store, person)
    by_image: dict[int, list[int]] = {}
    for f in library.store.person_faces(p.id):
        by_image.setdefault(f.image_id, []).append(f.id)
    images = [img for i in by_image if (img := library.store.get_image(i)) is not None]
    images.sort(key=lambda img: (img.taken_at or "", img.id), reverse=True)
    images.sort(key=lambda img: img.taken_at is None)
    page = images[offset:offset + limit]
    return {"person": p.id, "total": len(images), "offset": offset, "limit": limit,
            "photos": [{"id": img.id, "path": img.path, "taken_at": img.taken_at,
                        "taken_at_source": img.taken_at_source, "media": img.media,
                        "width": img.width, "height": img.height,
                        "faces": sorted(by_image[img.id])} for img in page]}


def person_relations(library: Library, person: PersonRef, n: int = 12) -> dict[str, Any]:
    """Who ``person`` appears with (the ``n`` people sharing most photos, hidden people
    left out, each with a representative face) and their photos per month (oldest first):
    the relations use cases ``top`` and ``timeline`` over one graph of the catalog. A
    hidden person's own page still gets both."""
    from ..cluster import people as ops
    from ..relations.errors import RelationsError
    from . import relations as rel

    p = ops.resolve_person(library.store, person)
    source, rg = rel.from_library(library, include_hidden=True)
    try:
        top = rel.top(source, rg, p.id, 10_000)
        months = rel.timeline(source, rg, p.id)["months"]
    except RelationsError:  # in no photo the graph knows
        return {"person": p.id, "companions": [], "timeline": []}
    companions = []
    for c in top["companions"]:
        other = library.store.get_person(c["person"])
        if other is None or other.hidden:
            continue
        rep = ops.summarize(library.store, other)
        companions.append({**c, "name": other.name, "faces": rep.faces,
                           "representative_face": rep.representative_face})
        if len(companions) >= n:
            break
    return {"person": p.id, "companions": companions, "timeline": months,
            "estimated_dates": top.get("estimated_dates", 0)}
