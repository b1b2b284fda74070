"""Clustering a library's catalog: read faces, people and the decision log from a
:class:`~faceatlas.store.CatalogStore`, run :func:`~faceatlas.cluster.cluster_faces`,
write the new automatic assignments back.

What is read as constraints (and therefore never undone by a run, incremental or full):

* faces ``assigned_by = 'user'`` are fixed to their person (enrol, name, move, merge,
  split and hide all fix faces);
* ``reject`` decisions ("face f is not person P"), unless a later decision put f in P;
* the image of each face: faces of one photo never share a person.

Faces of people marked ``do_not_recognise`` are left out entirely: they neither attract
new faces nor take part in groups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..errors import FaceAtlasError, ModelMismatchError
from ..store import CatalogStore
from ..types import model_name
from .constraints import Constraints
from .core import cluster_faces
from .params import ClusterParams

#: Decision kinds that put a face into a person (they cancel an earlier rejection).
PLACING_DECISIONS = ("enroll", "assign", "merge", "split")


@dataclass
class ClusterRun:
    """What one ``faceatlas cluster`` run did."""

    model: str
    mode: str
    faces: int
    assigned: int
    unassigned: int
    changed: int
    new_people: list[int] = field(default_factory=list)
    people: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def choose_model(store: CatalogStore, model: str | None) -> str:
    """The embedding model to cluster: ``model`` (a model id, or a recognizer name such
    as ``sface``) if given, else the only one stored."""
    models = store.embedding_models()
    if model is not None:
        if model in models:
            return model
        named = [m for m in models if model_name(m) == model]
        if len(named) == 1:
            return named[0]
        raise ModelMismatchError(f"the library holds no faces embedded with model {model} "
                                 f"(it has: {', '.join(models) or 'none'})")
    if not models:
        raise FaceAtlasError("the library holds no faces: run `faceatlas index FOLDER` first")
    if len(models) > 1:
        raise FaceAtlasError(f"the library holds several embedding models "
                             f"({', '.join(models)}): choose one with --recognizer")
    return next(iter(models))


def rejections(store: CatalogStore) -> set[tuple[int, int]]:
    """``(face id, person id)`` pairs a user rejected and did not later re-place."""
    out: set[tuple[int, int]] = set()
    for d in store.decisions():
        if d.face_id is None or d.person_id is None:
            continue
        key = (d.face_id, d.person_id)
        if d.kind == "reject":
            out.add(key)
        elif d.kind in PLACING_DECISIONS:
            out.discard(key)
    return out


def cluster_catalog(store: CatalogStore, *, model: str | None = None, full: bool = False,
                    params: ClusterParams | None = None) -> ClusterRun:
    """Cluster the catalog's faces of one model and store the automatic assignments."""
    model = choose_model(store, model)
    hidden_from_clustering = {p.id for p in store.people() if p.do_not_recognise}
    id_chunks, vec_chunks = [], []
    for ids, vecs in store.embeddings(model):
        id_chunks.append(ids)
        vec_chunks.append(vecs)
    all_ids = np.concatenate(id_chunks) if id_chunks else np.empty(0, np.int64)
    records = store.faces(all_ids.tolist())
    keep = np.array([fid in records and records[fid].person_id not in hidden_from_clustering
                     for fid in all_ids.tolist()], dtype=bool)
    face_ids = all_ids[keep]
    vectors = np.vstack(vec_chunks)[keep] if vec_chunks else np.empty((0, 1), np.float32)
    recs = [records[int(f)] for f in face_ids]
    people = np.array([r.person_id if r.person_id is not None else -1 for r in recs], np.int64)
    fixed = np.array([r.assigned_by == "user" and r.person_id is not None for r in recs])
    quality = np.array([r.quality for r in recs], np.float32)
    photos = np.array([r.image_id for r in recs], np.int64)
    row_of = {int(f): i for i, f in enumerate(face_ids.tolist())}
    not_person = [(row_of[f], p) for f, p in sorted(rejections(store)) if f in row_of]
    first_new = max([p.id for p in store.people()], default=0) + 1
    result = cluster_faces(vectors, quality=quality, photos=photos, people=people,
                           fixed=fixed, constraints=Constraints(not_person=not_person),
                           params=params, full=full, first_new_id=first_new)
    real_id = {tmp: store.create_person(None).id for tmp in result.new_people}
    labels = np.array([real_id.get(int(v), int(v)) for v in result.labels], np.int64)
    moves: dict[int, list[int]] = defaultdict(list)
    for row in np.flatnonzero((labels != people) & ~fixed).tolist():
        moves[int(labels[row])].append(int(face_ids[row]))
    for target, faces in sorted(moves.items()):
        store.assign_faces(faces, target if target >= 0 else None, by="auto")
    return ClusterRun(model=model, mode="full" if full else "incremental",
                      faces=len(face_ids), assigned=int((labels >= 0).sum()),
                      unassigned=int((labels < 0).sum()),
                      changed=sum(len(v) for v in moves.values()),
                      new_people=sorted(real_id.values()),
                      people=len(np.unique(labels[labels >= 0])),
                      seconds=float(result.stats.get("seconds", 0.0)))
