"""Clustering a library's catalog: read faces, people and the decision log from a
:class:`~faceatlas.store.CatalogStore`, run :func:`~faceatlas.cluster.cluster_faces`,
write the new automatic assignments back.

What is read as constraints (and therefore never undone by a run, incremental or full):

* faces ``assigned_by = 'user'`` are fixed to their person (enrol, name, move, merge,
  split and hide all fix faces);
* ``reject`` decisions ("face f is not person P"), unless a later decision put f in P;
* the image of each face: faces of one photo never share a person;
* ``differ`` decisions ("people A and B are different", ``people suggest --no``): the
  faces A and B have at that run may not end up in one person.

Faces of people marked ``do_not_recognise`` are left out entirely: they neither attract
new faces nor take part in groups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..errors import FaceAtlasError, ModelMismatchError
from ..store import CatalogError, CatalogStore, StaleCatalogError
from ..types import model_name
from .constraints import Constraints
from .core import Clustering, cluster_faces
from .graph import KnnSearch, memory_search
from .params import ClusterParams

#: Decision kinds that put a face into a person (they cancel an earlier rejection).
PLACING_DECISIONS = ("enroll", "assign", "merge", "split")
#: Decision kind "these two people are different people" (``people suggest --no``).
DIFFER_DECISION = "differ"


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
    graph: str = "memory"       # how the neighbour lists were built: memory or sharded

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


@dataclass
class CatalogFaces:
    """The faces of one model that clustering works on (people marked
    ``do_not_recognise`` left out), row-aligned arrays."""

    model: str
    face_ids: np.ndarray
    vectors: np.ndarray
    people: np.ndarray          # person id per face, -1 = unassigned
    fixed: np.ndarray           # assigned by a user
    quality: np.ndarray
    photos: np.ndarray          # image id per face

    def rows(self) -> dict[int, int]:
        """Row index of each face id."""
        return {int(f): i for i, f in enumerate(self.face_ids.tolist())}


def catalog_faces(store: CatalogStore, model: str | None = None) -> CatalogFaces:
    """Read the faces, vectors and current people of one model from the catalog."""
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
    return CatalogFaces(
        model=model, face_ids=face_ids, vectors=vectors,
        people=np.array([r.person_id if r.person_id is not None else -1 for r in recs],
                        np.int64),
        fixed=np.array([r.assigned_by == "user" and r.person_id is not None for r in recs],
                       dtype=bool),
        quality=np.array([r.quality for r in recs], np.float32),
        photos=np.array([r.image_id for r in recs], np.int64))


def differing_people(store: CatalogStore) -> set[tuple[int, int]]:
    """Pairs ``(a, b)``, a < b, of people a user said are different people
    (``people suggest --no``), unless a later merge joined them."""
    out: set[tuple[int, int]] = set()
    for d in store.decisions():
        if d.person_id is None or d.other_person_id is None:
            continue
        pair = (min(d.person_id, d.other_person_id), max(d.person_id, d.other_person_id))
        if d.kind == DIFFER_DECISION:
            out.add(pair)
        elif d.kind == "merge":
            out.discard(pair)
    return out


def differ_constraints(cf: CatalogFaces, pairs: set[tuple[int, int]]
                       ) -> list[tuple[list[int], list[int]]]:
    """Cannot-link constraints (rows) between the current faces of each differing pair."""
    out = []
    for a, b in sorted(pairs):
        left = np.flatnonzero(cf.people == a).tolist()
        right = np.flatnonzero(cf.people == b).tolist()
        if left and right:
            out.append((left, right))
    return out


#: How many times ``cluster`` redoes its work when the catalog changed underneath.
CLUSTER_ATTEMPTS = 5


def cluster_catalog(store: CatalogStore, *, model: str | None = None, full: bool = False,
                    params: ClusterParams | None = None, shard_size: int | None = None,
                    ray: str | None = None, workers: int | None = None) -> ClusterRun:
    """Cluster the catalog's faces of one model and store the automatic assignments.

    The result is applied in one transaction that first checks the catalog state
    (:meth:`~faceatlas.store.CatalogStore.apply_clustering`): when a correction, an
    erasure or another run landed since the faces were read, nothing is written and the
    work is redone on the new state (at most :data:`CLUSTER_ATTEMPTS` times), so a
    user's correction made meanwhile is never overwritten.

    ``shard_size`` / ``ray``: how the neighbour lists are built
    (:func:`~faceatlas.cluster.sharded.choose_search`): in one in-memory index, or in
    shards of ``shard_size`` faces (automatically above
    :data:`~faceatlas.cluster.sharded.SHARD_ABOVE` faces), as Ray tasks with ``ray``
    (``local``: a Ray instance of ``workers`` CPUs on this machine)."""
    for _ in range(CLUSTER_ATTEMPTS):
        try:
            return _cluster_once(store, model, full, params, shard_size, ray, workers)
        except StaleCatalogError:
            continue
    raise CatalogError(f"the catalog kept changing while clustering ({CLUSTER_ATTEMPTS} "
                       "attempts); run `faceatlas cluster` again when it is quieter")


def _cluster_once(store: CatalogStore, model: str | None, full: bool,
                  params: ClusterParams | None, shard_size: int | None,
                  ray: str | None, workers: int | None) -> ClusterRun:
    from .sharded import choose_search

    state = store.catalog_state()
    cf = catalog_faces(store, model)
    with choose_search(len(cf.face_ids), shard_size, ray, workers) as search:
        result = _cluster_rows(store, cf, full, params, search)
    face_ids, people, fixed = cf.face_ids, cf.people, cf.fixed
    labels = np.array([int(v) for v in result.labels], np.int64)
    moves: dict[int, list[int]] = defaultdict(list)
    for row in np.flatnonzero((labels != people) & ~fixed).tolist():
        moves[int(labels[row])].append(int(face_ids[row]))
    real_id = store.apply_clustering(moves, [int(t) for t in result.new_people], state)
    labels = np.array([real_id.get(int(v), int(v)) for v in labels], np.int64)
    return ClusterRun(model=cf.model, mode="full" if full else "incremental",
                      faces=len(face_ids), assigned=int((labels >= 0).sum()),
                      unassigned=int((labels < 0).sum()),
                      changed=sum(len(v) for v in moves.values()),
                      new_people=sorted(real_id.values()),
                      people=len(np.unique(labels[labels >= 0])),
                      seconds=float(result.stats.get("seconds", 0.0)),
                      graph="memory" if search is memory_search else "sharded")


def _cluster_rows(store: CatalogStore, cf: CatalogFaces, full: bool,
                  params: ClusterParams | None, search: KnnSearch) -> Clustering:
    row_of = cf.rows()
    not_person = [(row_of[f], p) for f, p in sorted(rejections(store)) if f in row_of]
    first_new = max([p.id for p in store.people()], default=0) + 1
    constraints = Constraints(cannot_link=differ_constraints(cf, differing_people(store)),
                              not_person=not_person)
    return cluster_faces(cf.vectors, quality=cf.quality, photos=cf.photos, people=cf.people,
                         fixed=cf.fixed, constraints=constraints, params=params, full=full,
                         first_new_id=first_new, search=search)
