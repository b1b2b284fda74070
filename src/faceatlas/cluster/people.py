"""People of a library: listing, and the user corrections clustering must respect.

Every correction changes the catalog and is written to the decision log:

======== ======================================================= =======================
command  effect on faces                                          decision(s) logged
======== ======================================================= =======================
name     the person's faces become user-fixed                     ``rename``
merge    faces of the others move to the person, all user-fixed  ``merge`` per face, and
                                                                  one person-level row
move     the faces go to the person, user-fixed; not their    ``assign`` per face and
         former person                                            ``reject`` of the former
split    the faces go to a new person, the rest stay; all fixed   ``split`` per face, and
                                                                  one person-level row
not      the faces leave the person and may never go back to it  ``reject`` per face
hide     the person is hidden; its faces become user-fixed        ``hide`` / ``unhide``
======== ======================================================= =======================

User-fixed faces and rejections are what :mod:`faceatlas.cluster.catalog` reads back as
constraints, so no later clustering run undoes a correction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..errors import FaceAtlasError, NotFoundError
from ..store import CatalogStore, FaceRecord, Person
from ..store.base import parse_person_ref, person_label


@dataclass(frozen=True)
class PersonSummary:
    """One person as listed: id, name, face count, a representative face."""

    id: int
    name: str | None
    faces: int
    representative_face: int | None
    hidden: bool
    fixed_faces: int

    @property
    def label(self) -> str:
        """The name, or ``person #ID`` (accepted back by :func:`resolve_person`)."""
        return person_label(self.id, self.name)

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "label": self.label}


def resolve_person(store: CatalogStore, ref: str | int) -> Person:
    """The person a user means by ``ref``: a name (case-insensitive) first; ``#ID`` or
    ``person #ID`` (the label of an unnamed person) for an id; plain digits are an id
    only when no person has that name (:func:`~faceatlas.store.base.parse_person_ref`).
    Raises :class:`~faceatlas.errors.NotFoundError` when there is no such person."""
    name, pid, id_only = (str(ref), ref, True) if isinstance(ref, int) \
        else parse_person_ref(ref)
    person = None if id_only or not name else store.person_by_name(name)
    if person is None and pid is not None:
        person = store.get_person(pid)
    if person is None:
        what = f"person #{pid}" if id_only else f"person named '{name}'"
        raise NotFoundError(f"no {what} in the library: see `faceatlas people` for names "
                            "and ids (write #ID for an id)")
    return person


def _rank(assigned_by: str | None, quality: float, face_id: int) -> tuple[bool, float, int]:
    """How well a face stands for its person (higher is better): user-fixed first, then
    the best quality, then the oldest face."""
    return assigned_by == "user", quality, -face_id


def representative(faces: Sequence[FaceRecord]) -> FaceRecord | None:
    """The face that stands for a person: the best quality, user-fixed first."""
    if not faces:
        return None
    return max(faces, key=lambda f: _rank(f.assigned_by, f.quality, f.id))


def summarize(store: CatalogStore, person: Person) -> PersonSummary:
    """Listing entry of one person."""
    faces = store.person_faces(person.id)
    rep = representative(faces)
    return PersonSummary(id=person.id, name=person.name, faces=len(faces),
                         representative_face=rep.id if rep else None, hidden=person.hidden,
                         fixed_faces=sum(f.assigned_by == "user" for f in faces))


def list_people(store: CatalogStore, include_hidden: bool = False) -> list[PersonSummary]:
    """People with at least one face (or a name), most faces first; hidden ones only
    with ``include_hidden``. Two reads whatever the number of people (the same entries as
    :func:`summarize` of each)."""
    rows: dict[int, list[tuple[int, float, str | None]]] = {}
    for pid, fid, quality, by in store.person_face_rows():
        rows.setdefault(pid, []).append((fid, quality, by))
    out = []
    for p in store.people():
        if p.hidden and not include_hidden:
            continue
        faces = rows.get(p.id, [])
        if not faces and not p.name:
            continue
        rep = max(faces, key=lambda r: _rank(r[2], r[1], r[0]), default=None)
        out.append(PersonSummary(id=p.id, name=p.name, faces=len(faces),
                                 representative_face=rep[0] if rep else None,
                                 hidden=p.hidden,
                                 fixed_faces=sum(r[2] == "user" for r in faces)))
    return sorted(out, key=lambda s: (-s.faces, s.id))


def person_photos(store: CatalogStore, person: Person) -> list[str]:
    """Paths of the photos a person appears in, sorted."""
    image_ids = sorted({f.image_id for f in store.person_faces(person.id)})
    paths = [img.path for i in image_ids if (img := store.get_image(i)) is not None]
    return sorted(paths)


def _fix(store: CatalogStore, person: Person) -> None:
    """Turn a person's automatic faces into user-fixed ones."""
    auto = [f.id for f in store.person_faces(person.id) if f.assigned_by != "user"]
    if auto:
        store.assign_faces(auto, person.id, by="user")


def _existing_faces(store: CatalogStore, face_ids: Sequence[int]) -> dict[int, FaceRecord]:
    found = store.faces(list(face_ids))
    missing = sorted(set(face_ids) - set(found))
    if missing:
        raise NotFoundError(f"no face with id {missing[0]} in the library: see "
                             "`faceatlas people show PERSON` for face ids")
    if not face_ids:
        raise FaceAtlasError("give at least one face id")
    return found


def name_person(store: CatalogStore, person: Person, name: str) -> Person:
    """Name (or rename) a person; its faces become user-fixed."""
    name = name.strip()
    if not name:
        raise FaceAtlasError("a name cannot be empty")
    other = store.person_by_name(name)
    if other is not None and other.id != person.id:
        raise FaceAtlasError(f"'{name}' is already person {other.id}: merge them with "
                             f"`faceatlas people merge {other.id} {person.id}`")
    updated = store.update_person(person.id, name=name)
    _fix(store, updated)
    store.record_decision("rename", person_id=person.id)
    return updated


def merge_people(store: CatalogStore, person: Person, others: Sequence[Person]) -> Person:
    """Move every face of ``others`` into ``person``; all its faces become user-fixed."""
    others = [o for o in others if o.id != person.id]
    if not others:
        raise FaceAtlasError("give at least one other person to merge in")
    named = [o for o in others if o.name]
    if named and not person.name:
        raise FaceAtlasError(f"person {person.id} has no name but '{named[0].name}' does: "
                             f"merge into the named one (`faceatlas people merge "
                             f"{named[0].id} {person.id}`)")
    _fix(store, person)
    for other in others:
        faces = [f.id for f in store.person_faces(other.id)]
        store.assign_faces(faces, person.id, by="user", decision="merge")
        store.record_decision("merge", person_id=person.id, other_person_id=other.id)
    return person


def move_faces(store: CatalogStore, face_ids: Sequence[int], person: Person) -> None:
    """Put faces into ``person`` (user-fixed). Moving a face out of another person also
    says it is not that person (logged as a rejection), so that a full re-cluster does
    not pull the faces it resembles there along with it."""
    faces = _existing_faces(store, face_ids)
    for f in faces.values():
        if f.person_id is not None and f.person_id != person.id:
            store.record_decision("reject", face_id=f.id, person_id=f.person_id)
    store.assign_faces(list(face_ids), person.id, by="user", decision="assign")


def split_person(store: CatalogStore, person: Person, face_ids: Sequence[int],
                 name: str | None = None) -> Person:
    """Move some of a person's faces to a new person; both sides become user-fixed."""
    faces = _existing_faces(store, face_ids)
    foreign = [f for f in faces.values() if f.person_id != person.id]
    if foreign:
        raise FaceAtlasError(f"face {foreign[0].id} is not in person {person.id}: split "
                             "only takes that person's faces")
    if len(faces) == len(store.person_faces(person.id)):
        raise FaceAtlasError("a split must leave at least one face in the person "
                             "(use `faceatlas people name` to rename it instead)")
    if name is not None and store.person_by_name(name) is not None:
        raise FaceAtlasError(f"a person named '{name}' already exists: use "
                             "`faceatlas people move` to move faces to them")
    new = store.create_person(name)
    _fix(store, person)
    store.assign_faces(list(face_ids), new.id, by="user", decision="split")
    store.record_decision("split", person_id=new.id, other_person_id=person.id)
    return new


def reject_faces(store: CatalogStore, person: Person, face_ids: Sequence[int]) -> None:
    """"These faces are not this person": they leave it and never come back."""
    faces = _existing_faces(store, face_ids)
    inside = [f.id for f in faces.values() if f.person_id == person.id]
    if inside:
        store.assign_faces(inside, None, by="user")
    for fid in face_ids:
        store.record_decision("reject", face_id=int(fid), person_id=person.id)


def hide_person(store: CatalogStore, person: Person, hidden: bool = True) -> Person:
    """Hide (or show again) a person; its faces become user-fixed so that no run
    brings them back as a visible person."""
    updated = store.update_person(person.id, hidden=hidden)
    _fix(store, updated)
    store.record_decision("hide" if hidden else "unhide", person_id=person.id)
    return updated


def contact_sheet(store: CatalogStore, person: Person, out: Path, columns: int = 8,
                  cell: int = 96, limit: int = 200) -> int:
    """Write a PNG grid of a person's face thumbnails (best quality first); returns the
    number of faces drawn."""
    faces = sorted(store.person_faces(person.id), key=lambda f: (-f.quality, f.id))[:limit]
    drawn = faces_sheet(store, [f.id for f in faces], out, columns, cell)
    if not drawn:
        raise FaceAtlasError(f"person {person.id} has no face thumbnails to draw")
    return drawn


def faces_sheet(store: CatalogStore, face_ids: Sequence[int], out: Path, columns: int = 8,
                cell: int = 96) -> int:
    """Write a PNG grid of these faces' thumbnails, in the order given, each labelled with
    its face id; returns the number drawn (0, and no file, when none has a thumbnail)."""
    thumbs = []
    for fid in face_ids:
        data = store.thumbnail(int(fid))
        if data:
            thumbs.append((int(fid), Image.open(io.BytesIO(data)).convert("RGB")))
    if not thumbs:
        return 0
    columns = max(1, min(columns, len(thumbs)))
    rows = int(np.ceil(len(thumbs) / columns))
    label_h = 14
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (fid, img) in enumerate(thumbs):
        x, y = (i % columns) * cell, (i // columns) * (cell + label_h)
        img.thumbnail((cell - 4, cell - 4))
        sheet.paste(img, (x + (cell - img.width) // 2, y + (cell - img.height) // 2))
        draw.text((x + 3, y + cell), f"#{fid}", fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        sheet.save(out, format="PNG")
    except OSError as exc:
        raise FaceAtlasError(f"{out}: cannot write the contact sheet ({exc})") from None
    return len(thumbs)


def draw_sheet(store: CatalogStore, rows: Sequence[tuple[str, Sequence[int]]], out: Path,
               cell: int = 96) -> int:
    """Write a PNG with one labelled row of face thumbnails per entry of ``rows``
    (``(label, face ids)``, an id below 0 leaves a gap); returns the number of rows
    drawn."""
    if not rows:
        raise FaceAtlasError("nothing to draw on the sheet")
    label_h = 16
    width = max(len(faces) for _, faces in rows) or 1
    sheet = Image.new("RGB", (max(width * cell, 480), len(rows) * (cell + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, faces) in enumerate(rows):
        y = r * (cell + label_h)
        draw.text((3, y + 2), label, fill="black")
        for i, fid in enumerate(faces):
            data = store.thumbnail(fid) if fid >= 0 else None
            if not data:
                continue
            img = Image.open(io.BytesIO(data)).convert("RGB")
            img.thumbnail((cell - 4, cell - 4))
            x = i * cell
            sheet.paste(img, (x + (cell - img.width) // 2,
                              y + label_h + (cell - img.height) // 2))
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        sheet.save(out, format="PNG")
    except OSError as exc:
        raise FaceAtlasError(f"{out}: cannot write the sheet ({exc})") from None
    return len(rows)
