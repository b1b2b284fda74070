"""Forgetting (right to erasure): a person, some faces, or a photo.

* **a person** — every face linked to them, and every face no user decided on
  (unassigned, or in an automatic person) that is theirs under a strict 1:N rule
  (:func:`~faceatlas.privacy.erasure.sweep_faces`: their template at the 1:N threshold
  for FPIR 1e-3, and closer to them than to anyone else; ``sweep=False`` keeps those),
  goes with its embeddings of every model, thumbnail and the decisions naming it; a face
  a user linked to someone else never goes. The person row goes with every decision
  naming them (an opted-out person's template too). The plan counts the faces per source
  (linked, automatic person #N, unassigned) and :func:`plan_sheet` draws them. **Their
  photos stay** in the catalog, since other people may be in them: path, dates and the
  other faces are kept, the photo's face count drops.
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
import tempfile
from pathlib import Path

from ..cluster.people import faces_sheet, resolve_person
from ..cluster.templates import PersonTemplate, person_templates
from ..errors import FaceAtlasError
from ..library.core import Library
from ..library.recognize import person_label
from ..library.scan import absolute
from ..store import Erasure
from .erasure import FORGET_FPIR, ErasurePlan, Sweep, require_faces, sweep_faces


def plan_forget_person(library: Library, ref: str, sweep: bool = True,
                       fpir: float = FORGET_FPIR) -> ErasurePlan:
    """Plan forgetting the person ``ref`` (id or name): their linked faces and, with
    ``sweep``, the faces no user decided on that are theirs under the strict 1:N rule of
    :func:`~faceatlas.privacy.erasure.sweep_faces` at ``fpir``."""
    store = library.store
    person = resolve_person(store, ref)
    linked = [f.id for f in store.person_faces(person.id)]
    found = Sweep()
    if sweep and linked:
        templates: dict[str, PersonTemplate] = {}
        for model in store.embedding_models():
            own = person_templates(store, model, [person.id]).get(person.id)
            if own is not None:
                templates[model] = own
        found = sweep_faces(store, templates, person.id, fpir)
    matched = [f for f in found.face_ids if f not in set(linked)]
    faces = sorted(set(linked) | set(matched))
    photos = len({r.image_id for r in store.faces(faces).values()})
    label = person_label(person)
    sources = {"linked": len(linked), **{k: len(v) for k, v in found.faces.items()}}
    by_source = "; ".join(f"{k}: {n}" for k, n in sources.items() if n)
    rule = "".join(f"; others matched at 1:N threshold {t.value:.3f} (FPIR "
                   f"{'unknown' if t.fpir is None else f'{t.fpir:g}'}, {t.gallery_size} "
                   "templates) and closer to them than to anyone else"
                   for t in found.thresholds.values()) if matched else ""
    notes = "".join(f"; note: {n}" for n in found.notes)
    return ErasurePlan(
        action="forget-person", target={"person_id": person.id, "name": person.name},
        erasure=Erasure(face_ids=faces, person_ids=[person.id]),
        describe=(f"forget {label} (#{person.id}): {len(faces)} face(s) ({by_source or 'none'})"
                  f" in {photos} photo(s), with their embeddings, thumbnails and corrections"
                  f"{rule}; the photos themselves stay{notes}"),
        matched=len(matched), kept={"photos": photos}, sources=sources)


def plan_sheet(library: Library, plan: ErasurePlan, out: Path | None = None) -> Path | None:
    """Write a contact sheet (PNG) of the faces ``plan`` erases, to ``out`` or to a new
    file in the system's temporary folder (never inside the library, whose erased data must
    leave no trace); None when the plan erases no face with a thumbnail. The caller deletes
    a temporary sheet once it has served."""
    ids = sorted(int(i) for i in plan.erasure.face_ids)
    for image_id in plan.erasure.image_ids:
        ids += [f.id for f in library.store.faces_of_image(int(image_id))]
    if not ids:
        return None
    if out is None:
        fd, name = tempfile.mkstemp(prefix="faceatlas-forget-", suffix=".png")
        os.close(fd)
        out = Path(name)
    drawn = faces_sheet(library.store, ids, out)
    if not drawn:
        out.unlink(missing_ok=True)
        return None
    return out


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
