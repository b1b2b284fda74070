"""Opt-out ("do not recognise"): erase a person's faces and keep refusing their face.

Opting a person out removes their faces like :func:`~faceatlas.privacy.forget` does
(linked faces, and the faces no user decided on that are theirs under the same strict 1:N
rule, :func:`~faceatlas.privacy.erasure.sweep_faces`), but keeps a minimal
record so that their face can be refused later:

* the person row: id, name (so the opt-out can be listed and undone), notes, the
  ``do_not_recognise`` flag;
* one **template** per embedding model: the normalised mean of the embeddings of their
  faces (and of the photos given to :func:`plan_optout`), with the number of faces it
  averages. It is the only biometric data kept; no face, thumbnail, landmark or photo
  link remains.

From then on the indexer drops every new face that matches a template at the opt-out
threshold (:mod:`.guard`) before it is stored, so ``identify``, ``search`` and
clustering never see them. :func:`undo_optout` deletes the templates (securely) and
clears the flag; the person row stays, with no faces.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..cluster.people import resolve_person
from ..cluster.templates import PersonTemplate
from ..engine import FaceEngine
from ..errors import FaceAtlasError
from ..library.core import Library
from ..library.guard import optout_threshold, unit_mean
from ..library.recognize import person_label
from ..store import CatalogStore, Erasure, Person
from ..store.base import parse_person_ref
from .erasure import ErasurePlan, Sweep, newest_face, sweep_faces, templates_of


def _combine(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    vecs = np.stack([v for v, _ in parts])
    weights = np.array([n for _, n in parts], np.float32)
    return unit_mean(vecs, weights), int(weights.sum())


def _sweep_templates(store: CatalogStore, linked: list[int],
                     extra: dict[str, list[tuple[np.ndarray, int]]]
                     ) -> dict[str, PersonTemplate]:
    """Per model, the person's template (:mod:`faceatlas.cluster.templates`) from their
    linked faces and the extra vectors (photos given, a template already kept)."""
    out: dict[str, PersonTemplate] = {}
    records = store.faces(linked)
    for model in sorted(set(store.embedding_models()) | set(extra)):
        vecs, quality = [], []
        for ids, batch in store.embeddings(model, linked) if linked else ():
            vecs += list(batch)
            quality += [records[int(i)].quality for i in ids]
        for vector, _ in extra.get(model, []):
            vecs.append(vector)
            quality.append(1.0)
        if vecs:
            out[model] = PersonTemplate.from_vectors(np.stack(vecs), np.array(quality),
                                                     model=model)
    return out


def plan_optout(library: Library, ref: str, photos: list[str | os.PathLike[str]] | None = None,
                engine: FaceEngine | None = None, sweep: bool = True) -> ErasurePlan:
    """Plan opting out ``ref`` (a person's id or name; a new name when ``photos`` of them
    are given). The template of each model averages their linked faces, the largest face
    of each photo (embedded with ``engine``), the unlinked faces found matching them and any
    template already kept."""
    store = library.store
    newest = newest_face(store)
    photos = list(photos or [])
    person: Person | None
    try:
        person = resolve_person(store, ref)
    except FaceAtlasError:
        # a new person is named by ``ref``; an id (``#5``, ``person #5``, ``5``) that
        # matches nobody is a mistake, never a new person's name
        if not photos or ref.strip().isdigit() or parse_person_ref(ref)[2] \
                or not ref.strip():
            raise
        person = None
    linked = [f.id for f in store.person_faces(person.id)] if person is not None else []
    extra: dict[str, list[tuple[np.ndarray, int]]] = {}
    if person is not None:
        for t in store.optout_templates():
            if t.person_id == person.id:
                extra.setdefault(t.model, []).append((t.vector, t.faces))
    if photos:
        engine = engine or FaceEngine()
        for photo in photos:
            face = engine.face(photo, label=str(photo))
            extra.setdefault(face.embedding.model, []).append((face.embedding.vector, 1))

    def build(face_ids: list[int]) -> dict[str, tuple[np.ndarray, int]]:
        parts = {m: list(p) for m, p in extra.items()}
        for model, template in templates_of(store, face_ids).items():
            parts.setdefault(model, []).append(template)
        return {m: _combine(p) for m, p in sorted(parts.items())}

    templates = build(linked)
    if not templates:
        raise FaceAtlasError(f"{person_label(person) if person else ref} has no face in the "
                             "library to learn a template from: give photos of them "
                             "(`faceatlas optout NAME PHOTO...`)")
    for model in templates:
        optout_threshold(model)  # refuse uncalibrated models before anything changes
    owner = person.id if person is not None else None
    found = sweep_faces(store, _sweep_templates(store, linked, extra), owner) \
        if sweep else Sweep()
    matched = [f for f in found.face_ids if f not in set(linked)]
    if matched:  # the template kept averages every face erased
        templates = build(linked + matched)
    faces = sorted(set(linked) | set(matched))
    name = person.name if person is not None else ref.strip()
    label = person_label(person) if person is not None else name
    kept = {"person_id": owner, "name": name,
            "templates": {m: n for m, (_, n) in templates.items()}}
    sources = {"linked": len(linked), **{k: len(v) for k, v in found.faces.items()}}
    return ErasurePlan(
        action="optout", target={"person_id": owner, "name": name},
        erasure=Erasure(face_ids=faces, optout={owner or 0: templates}),
        describe=(f"opt {label} out: erase {len(linked)} linked face(s)"
                  f"{f' and {len(matched)} matching unlinked face(s)' if matched else ''}, "
                  f"keep only a template for model(s) {', '.join(templates)} to refuse "
                  "their face in photos indexed later"),
        matched=len(matched), kept=kept, sources=sources,
        create_person=None if person is not None else name, newest_face=newest)


def undo_optout(library: Library, ref: str) -> dict[str, Any]:
    """Delete a person's opt-out templates and clear the flag: their faces are stored
    again when photos are indexed later."""
    store = library.store
    person = resolve_person(store, ref)
    if not person.do_not_recognise:
        raise FaceAtlasError(f"{person_label(person)} has not opted out")
    deleted = store.clear_optout(person.id)
    scrubbed = store.scrub()
    return {"person_id": person.id, "name": person.name, "templates_deleted": deleted,
            "wal_truncated": scrubbed}
