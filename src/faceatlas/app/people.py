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
