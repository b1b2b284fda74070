"""Forgetting (right to erasure): a person, some faces, or a photo.

* **a person** — every face linked to them, and every other face that matches their
  template at the opt-out threshold and that no user placed with someone else (their
  unnamed or clustered faces; ``sweep=False`` keeps those), goes with its embeddings of
  every model, thumbnail and the decisions naming it; the person row goes with every
  decision naming them (an opted-out person's template too). **Their photos stay** in the
  catalog, since other people may be in them: path, dates and the other faces are kept,
  the photo's face count drops.
* **faces** — those faces, as above; the person they were linked to stays.
* **a photo** — the image row (path, dates, GPS position) with all its faces. The file
  itself is not touched: if it stays in an indexed folder, the next ``index`` run
  analyses it again (to refuse someone for good, use an opt-out).

Faces can come back when a photo is indexed again (changed file, new copy); to keep a
person out of the library from then on, opt them out instead (:mod:`.optout`).
Every erasure is carried out by :func:`~faceatlas.privacy.erasure.execute`.
"""

from __future__ import annotations

import os

from ..cluster.people import resolve_person
from ..errors import FaceAtlasError
from ..library.core import Library
from ..library.recognize import person_label
from ..library.scan import absolute
from ..store import Erasure
from .erasure import ErasurePlan, matching_faces, require_faces, templates_of


def plan_forget_person(library: Library, ref: str, sweep: bool = True) -> ErasurePlan:
    """Plan forgetting the person ``ref`` (id or name)."""
    store = library.store
    person = resolve_person(store, ref)
    linked = [f.id for f in store.person_faces(person.id)]
    matched: list[int] = []
    if sweep and linked:
        templates = {m: t for m, (t, _) in templates_of(store, linked).items()}
        matched = [f for f in matching_faces(store, templates, person.id) if f not in linked]
    faces = sorted(set(linked) | set(matched))
    photos = len({r.image_id for r in store.faces(faces).values()})
    label = person_label(person)
    return ErasurePlan(
        action="forget-person", target={"person_id": person.id, "name": person.name},
        erasure=Erasure(face_ids=faces, person_ids=[person.id]),
        describe=(f"forget {label} (#{person.id}): {len(linked)} linked face(s)"
                  f"{f' and {len(matched)} matching unlinked face(s)' if matched else ''} in "
                  f"{photos} photo(s), with their embeddings, thumbnails and corrections; "
                  "the photos themselves stay"),
        matched=len(matched), kept={"photos": photos})


def plan_forget_faces(library: Library, face_ids: list[int]) -> ErasurePlan:
    """Plan forgetting these faces."""
    if not face_ids:
        raise FaceAtlasError("give at least one face id")
    ids = sorted(set(face_ids))
    require_faces(library.store, ids)
    return ErasurePlan(action="forget-faces", target={"face_ids": ids},
                       erasure=Erasure(face_ids=ids),
                       describe=f"forget face(s) {', '.join(map(str, ids))} with their "
                                "embeddings, thumbnails and corrections")


def plan_forget_photo(library: Library, path: str | os.PathLike[str]) -> ErasurePlan:
    """Plan forgetting the photo stored at ``path``."""
    full = absolute(path)
    rec = library.store.image_by_path(full)
    if rec is None:
        raise FaceAtlasError(f"{path}: this photo is not in the library (looked for {full}; "
                             "the library stores absolute paths)")
    return ErasurePlan(action="forget-photo", target={"photo": rec.path, "image_id": rec.id},
                       erasure=Erasure(image_ids=[rec.id]),
                       describe=f"forget the photo {rec.path}: its record and "
                                f"{rec.face_count} face(s); the file itself is not touched")
