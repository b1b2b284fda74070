"""Carrying out an erasure: catalog rows, vector indexes, journal, receipt.

An :class:`ErasurePlan` (built by :mod:`.forget` or :mod:`.optout`, without changing
anything) is executed by :func:`execute`:

1. the faces' presence in every model's vector index is counted;
2. the catalog removes the faces with their embeddings (every model), thumbnails and the
   decisions naming them, the images and people of the plan, and stores opt-out
   templates — one transaction, with ``secure_delete`` on so the freed bytes are zeroed;
3. every vector index is rebuilt from the catalog (a removed vector is not tombstoned:
   it is absent from the new file) and stray files of ``index/`` are deleted;
4. the catalog is scrubbed: WAL checkpointed and truncated, ``VACUUM``, truncated again,
   so no page of ``catalog.sqlite`` or its ``-wal`` keeps the old bytes;
5. a receipt without biometric data is written under ``receipts/``.

Photos the library only reads (the user's files) are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..cluster.templates import Gallery, PersonTemplate, person_templates
from ..errors import FaceAtlasError
from ..library.core import Library
from ..library.guard import OptOutGuard, unit_mean
from ..library.rebuild import rebuild_indexes
from ..store import CatalogStore, Erasure, Person
from ..types import model_name
from ..verification.openset import OpenSetThreshold, resolve_openset_threshold
from .receipt import Receipt, write_receipt

#: FPIR of the forget / opt-out sweep: a face goes with a person when ``identify`` would
#: name it as them at this (low) rate of naming strangers, and it is closer to them than
#: to anyone else.
FORGET_FPIR = 1e-3
#: At most this many rounds of the sweep (each adds the faces found to the template).
SWEEP_ROUNDS = 6


@dataclass
class ErasurePlan:
    """What an erasure will do; ``describe`` is one line for a confirmation prompt.
    ``create_person`` names a person to create (an opt-out of someone not yet in the
    library) whose id then keys ``erasure.optout``."""

    action: str
    target: dict[str, Any]
    erasure: Erasure
    describe: str
    matched: int = 0
    kept: dict[str, Any] = field(default_factory=dict)
    create_person: str | None = None
    sources: dict[str, int] = field(default_factory=dict)
    newest_face: int | None = None  # opt-outs: the highest face id when planned

    def to_dict(self) -> dict[str, Any]:
        """What a dry run reports: the action, target, faces by source, face ids."""
        return {"action": self.action, "target": self.target, "describe": self.describe,
                "sources": self.sources, "face_ids": sorted(int(i) for i in
                                                            self.erasure.face_ids),
                "images": sorted(int(i) for i in self.erasure.image_ids),
                "kept": self.kept}


def templates_of(store: CatalogStore, face_ids: Sequence[int]
                 ) -> dict[str, tuple[np.ndarray, int]]:
    """Per model, the normalised mean of these faces' embeddings and how many faces it
    averages: the one vector an opt-out keeps (not used to match faces in the library;
    the sweep uses :mod:`faceatlas.cluster.templates`)."""
    out: dict[str, tuple[np.ndarray, int]] = {}
    if not face_ids:
        return out
    for model in store.embedding_models():
        vecs = [v for _, v in store.embeddings(model, face_ids)]
        if vecs:
            stacked = np.concatenate(vecs)
            out[model] = (unit_mean(stacked), len(stacked))
    return out


def source_label(person: Person | None) -> str:
    """How a swept face is listed: ``unassigned``, ``automatic person #N`` or
    ``automatic faces of NAME (#N)``."""
    if person is None:
        return "unassigned"
    if person.name:
        return f"automatic faces of {person.name} (#{person.id})"
    return f"automatic person #{person.id}"


@dataclass
class Sweep:
    """Faces beyond a person's linked ones that are theirs under the strict 1:N rule:
    ``faces`` by source (:func:`source_label`), the ``thresholds`` used per model, and
    ``notes`` (why a model was not swept, threshold caveats)."""

    faces: dict[str, list[int]] = field(default_factory=dict)
    thresholds: dict[str, OpenSetThreshold] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def face_ids(self) -> list[int]:
        return sorted({f for ids in self.faces.values() for f in ids})


def sweep_faces(store: CatalogStore, templates: Mapping[str, PersonTemplate],
                owner: int | None, fpir: float = FORGET_FPIR,
                rounds: int = SWEEP_ROUNDS) -> Sweep:
    """The faces that are the person's (``owner``, None for someone not in the library)
    among those no user decided on: unassigned faces and faces in automatic people
    (``assigned_by='auto'``). Per model, a face is theirs when

    1. its similarity with their template (``templates[model]``) reaches the 1:N
       threshold at ``fpir`` for the gallery of every person's template (their modes plus
       everyone else's: a face ``identify`` would name as them at that FPIR), and
    2. it is closer to them than to any *other* person's template. Each other template is
       built from that person's faces that do not pass (1); an automatic person (no user
       decision on any of its faces) whose template itself matches theirs at the
       threshold is taken for them split in two (an unnamed cluster of their photos) and
       is no rival. A person with a user decision is always a rival.

    Faces found are added to their template and the search runs again (at most
    ``rounds`` times), each new face judged by a template it is not part of, so a person
    enrolled from one photo is followed through their other looks. A face a user linked
    to someone else is never a candidate; a template built only from low-quality faces
    sweeps nothing (it would match other poor faces)."""
    out = Sweep()
    people = {p.id: p for p in store.people()}
    for model, template in sorted(templates.items()):
        if template.low_quality:
            out.notes.append(f"{model}: no face of theirs is good enough to look for "
                             "others, so only linked faces go")
            continue
        chunks = [(ids, vecs) for ids, vecs in store.embeddings(model)
                  if vecs.shape[1] == template.modes.shape[1]]
        if not chunks:
            continue
        ids = np.concatenate([c[0] for c in chunks])
        vecs = np.concatenate([c[1] for c in chunks])
        recs = store.faces([int(i) for i in ids])
        cand = np.array([(r := recs.get(int(i))) is not None and r.person_id != owner and
                         (r.person_id is None or r.assigned_by != "user") for i in ids], bool)
        quality = np.array([recs[int(i)].quality if int(i) in recs else 0.0 for i in ids],
                           np.float32)
        decided = {r.person_id for r in recs.values() if r.assigned_by == "user"}
        others = {pid: t for pid, t in person_templates(store, model).items()
                  if pid != owner}
        size = len(template.modes) + sum(len(t.modes) for t in others.values())
        threshold = resolve_openset_threshold(model_name(model), size, fpir)
        out.thresholds[model] = threshold
        if threshold.note:
            out.notes.append(f"{model}: {threshold.note}")
        t = threshold.value
        found = np.zeros(len(ids), bool)
        current = template
        for _ in range(max(1, rounds)):
            own = np.full(len(ids), -np.inf, np.float32)
            open_ = cand & ~found
            if open_.any():
                own[open_] = current.similarity(vecs[open_])
            passing = open_ & (own >= t)
            if not passing.any():
                break
            out_ids = [int(i) for i in ids[passing | found]]
            touched = {pid for i in out_ids
                       if (pid := recs[i].person_id) is not None and pid != owner}
            rivals = {pid: tp for pid, tp in others.items() if pid not in touched}
            rivals.update({pid: tp for pid, tp in person_templates(
                store, model, person_ids=touched, exclude_faces=out_ids).items()})
            rivals = {pid: tp for pid, tp in rivals.items() if pid in decided or
                      float((current.modes @ tp.modes.T).max()) < t}
            gallery = Gallery.of(rivals)
            rows = np.flatnonzero(passing)
            best_rival = gallery.person_scores(vecs[rows]).max(axis=1) if gallery.size \
                else np.full(len(rows), -np.inf, np.float32)
            new = rows[own[rows] > best_rival]
            if not new.size:
                break
            found[new] = True
            current = PersonTemplate.from_vectors(
                np.vstack([template.modes, vecs[found]]),
                np.r_[np.ones(len(template.modes), np.float32), quality[found]],
                template.person_id, model)
        for fid in ids[found]:
            rec = recs[int(fid)]
            label = source_label(people.get(rec.person_id) if rec.person_id else None)
            out.faces.setdefault(label, []).append(int(fid))
    out.faces = {k: sorted(set(v)) for k, v in sorted(out.faces.items())}
    return out


def _affected_faces(store: CatalogStore, erasure: Erasure) -> np.ndarray:
    ids = {int(i) for i in erasure.face_ids}
    for image_id in erasure.image_ids:
        ids.update(f.id for f in store.faces_of_image(int(image_id)))
    return np.array(sorted(ids), np.int64)


def newest_face(store: CatalogStore) -> int:
    """The highest face id with an embedding (0 for none): faces above it are newer."""
    return max((int(ids.max()) for m in store.embedding_models()
                if (ids := store.face_ids(m)).size), default=0)


def late_optout_faces(store: CatalogStore, after: int) -> list[int]:
    """Faces newer than ``after`` that the stored opt-out templates refuse."""
    guard = OptOutGuard.load(store)
    out: set[int] = set()
    for model in guard.models():
        ids = store.face_ids(model)
        ids = ids[ids > after]
        for batch_ids, vecs in store.embeddings(model, ids.tolist()) if ids.size else ():
            out.update(int(i) for i in batch_ids[guard.match(model, vecs) >= 0])
    return sorted(out)


def execute(library: Library, plan: ErasurePlan) -> Receipt:
    """Carry out ``plan`` (see module docs) and return its written receipt."""
    store = library.store
    erasure = plan.erasure
    if plan.create_person is not None:
        person = store.create_person(plan.create_person)
        templates = next(iter(erasure.optout.values()))
        erasure = replace(erasure, optout={person.id: templates})
        plan.target = {**plan.target, "person_id": person.id}
        plan.kept = {**plan.kept, "person_id": person.id}
    ids = _affected_faces(store, erasure)
    index_entries = 0
    for model in store.embedding_models():
        index = library.vectors.get(model)
        if index is not None and ids.size:
            index_entries += int(np.isin(ids, index.ids()).sum())
    counts = store.erase(erasure).to_dict()
    if erasure.optout and plan.newest_face is not None:
        # faces another process committed between the plan and the erasure were screened
        # with the old templates: judge them now (docs/architecture.md, "Coordination")
        late = late_optout_faces(store, plan.newest_face)
        if late:
            for key, n in store.erase(Erasure(face_ids=late)).to_dict().items():
                counts[key] += n
            counts["added_while_planned"] = len(late)
            ids = np.union1d(ids, np.array(late, np.int64))
    rebuilt = rebuild_indexes(library)
    scrubbed = store.scrub()
    removed = {**counts, "index_entries": index_entries}
    storage: dict[str, object]
    if getattr(store, "kind", "sqlite") == "postgres":
        # VACUUM FULL rewrote the tables; the server's WAL, archives, replicas and backups
        # are beyond the receipt's reach (docs/deploy.md, "Erasure on PostgreSQL")
        storage = {"store": "postgres", "vacuum_full": True, "indexes_rebuilt": rebuilt,
                   "not_covered": "WAL segments until recycled, WAL archives, replicas, "
                                  "backups"}
    else:
        storage = {"secure_delete": True, "vacuum": True, "wal_truncated": scrubbed,
                   "indexes_rebuilt": rebuilt}
    receipt = Receipt(plan.action, plan.target, removed, kept=plan.kept, storage=storage,
                      face_ids=[int(i) for i in ids], sources=dict(plan.sources))
    if plan.matched:
        receipt.removed["matched_unlinked_faces"] = plan.matched
    write_receipt(library.root, receipt)
    return receipt


def require_faces(store: CatalogStore, face_ids: Sequence[int]) -> None:
    """Refuse face ids the catalog does not hold."""
    found = store.faces(face_ids)
    missing = [i for i in face_ids if i not in found]
    if missing:
        raise FaceAtlasError(f"no face with id {', '.join(map(str, missing))} in the library "
                             "(see `faceatlas people show PERSON --json` for face ids)")
