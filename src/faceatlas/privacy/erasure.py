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

from ..errors import FaceAtlasError
from ..library.core import Library
from ..library.rebuild import rebuild_indexes
from ..store import CatalogStore, Erasure
from .guard import optout_threshold, unit_mean
from .receipt import Receipt, write_receipt


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


def templates_of(store: CatalogStore, face_ids: Sequence[int]
                 ) -> dict[str, tuple[np.ndarray, int]]:
    """Per model, the template (normalised mean) of these faces' embeddings and how many
    faces it averages."""
    out: dict[str, tuple[np.ndarray, int]] = {}
    if not face_ids:
        return out
    for model in store.embedding_models():
        vecs = [v for _, v in store.embeddings(model, face_ids)]
        if vecs:
            stacked = np.concatenate(vecs)
            out[model] = (unit_mean(stacked), len(stacked))
    return out


def matching_faces(store: CatalogStore, templates: Mapping[str, np.ndarray],
                   owner: int | None) -> list[int]:
    """Faces, beyond those linked to ``owner``, that match a template at the opt-out
    threshold and that no user placed with someone else (unlinked or clustered faces)."""
    found: set[int] = set()
    for model, template in templates.items():
        threshold = optout_threshold(model)
        t = np.asarray(template, np.float32)
        for ids, vecs in store.embeddings(model):
            if vecs.shape[1] == t.size:
                found.update(int(i) for i in ids[vecs @ t >= threshold])
    faces = store.faces(sorted(found))
    return sorted(fid for fid, rec in faces.items()
                  if rec.person_id != owner and (rec.person_id is None
                                                 or rec.assigned_by != "user"))


def _affected_faces(store: CatalogStore, erasure: Erasure) -> np.ndarray:
    ids = {int(i) for i in erasure.face_ids}
    for image_id in erasure.image_ids:
        ids.update(f.id for f in store.faces_of_image(int(image_id)))
    return np.array(sorted(ids), np.int64)


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
    counts = store.erase(erasure)
    rebuilt = rebuild_indexes(library)
    scrubbed = store.scrub()
    removed = {**counts.to_dict(), "index_entries": index_entries}
    storage = {"secure_delete": True, "vacuum": True, "wal_truncated": scrubbed,
               "indexes_rebuilt": rebuilt}
    receipt = Receipt(plan.action, plan.target, removed, kept=plan.kept, storage=storage)
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
