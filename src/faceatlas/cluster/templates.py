"""Person templates: what a person's face looks like, as a few unit vectors ("modes").

A person photographed over decades does not have one look, so a single mean of all their
faces sits between looks and matches none of them well. Following the "Cluster and
Aggregate" idea of set-based face recognition, a template clusters the person's faces
(average-linkage agglomerative clustering on cosine distance, cut at
:data:`MODE_DISTANCE`) and keeps, per cluster, the quality-weighted mean of its
embeddings: one **mode** per look, at most :data:`MAX_MODES` (the largest). A query face
is compared with a template by its best similarity over the modes.

Only faces of at least :data:`TEMPLATE_MIN_QUALITY` build templates (blurred, tiny or
profile faces pull a mean towards the "unrecognisable" centre of the embedding space,
where strangers meet); a person whose faces are all below it is built from their best
faces anyway (``low_quality`` is then set).

The same templates serve ``identify`` (:mod:`faceatlas.library.recognize`) and the forget
sweep (:mod:`faceatlas.privacy.erasure`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from ..store import CatalogStore, FaceFilter

#: Faces below this quality score do not build templates (unless a person has no other).
TEMPLATE_MIN_QUALITY = 0.4
#: Average-linkage cut (cosine distance) between the looks of one person.
MODE_DISTANCE = 0.6
#: At most this many modes per person (the largest looks).
MAX_MODES = 8
#: At most this many faces (the best quality ones) are clustered into modes per person.
MAX_MODE_FACES = 1500


@dataclass(frozen=True)
class PersonTemplate:
    """A person's template for one embedding model.

    ``modes`` is (m, d) float32, unit rows; ``weights`` (m,) the number of faces behind
    each mode; ``face_ids`` the faces that built it; ``low_quality`` says that no face of
    the person reached :data:`TEMPLATE_MIN_QUALITY`."""

    person_id: int | None
    model: str
    modes: np.ndarray
    weights: np.ndarray
    face_ids: tuple[int, ...]
    low_quality: bool = False

    @property
    def faces(self) -> int:
        """Number of faces behind the template."""
        return int(self.weights.sum())

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Cosine similarity of each query (n, d) or (d,) with the template: the best over
        its modes; shape (n,)."""
        q = np.asarray(queries, np.float32).reshape(-1, self.modes.shape[1])
        return np.asarray((q @ self.modes.T).max(axis=1), np.float32)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, qualities: np.ndarray | None = None,
                     person_id: int | None = None, model: str = "",
                     face_ids: Sequence[int] = (),
                     distance: float = MODE_DISTANCE) -> PersonTemplate:
        """A template from embeddings (n, d) with their quality scores (all 1 if None),
        applying the same quality gate and mode clustering (cut at ``distance``; 2 gives
        a single mean) as :func:`person_templates`."""
        v = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
        if not len(v):
            raise ValueError("a template needs at least one face")
        q = np.ones(len(v), np.float32) if qualities is None else \
            np.asarray(qualities, np.float32)
        ids = np.asarray(list(face_ids) or range(len(v)), np.int64)
        keep = q >= TEMPLATE_MIN_QUALITY
        low = not bool(keep.any())
        if low:  # nothing decent: the best faces stand in
            keep = q >= q.max() - 1e-6
        v, q, ids = v[keep], q[keep], ids[keep]
        if len(v) > MAX_MODE_FACES:
            best = np.argsort(-q, kind="stable")[:MAX_MODE_FACES]
            v, q, ids = v[best], q[best], ids[best]
        modes, weights = aggregate_modes(v, q, distance)
        return cls(person_id, model, modes, weights,
                   tuple(int(i) for i in ids) if face_ids else (), low)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12), np.float32)


def aggregate_modes(vectors: np.ndarray, qualities: np.ndarray,
                    distance: float = MODE_DISTANCE, max_modes: int = MAX_MODES
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Cluster unit ``vectors`` (average linkage, cosine, cut at ``distance``) and return
    (modes, face counts): the quality-weighted unit mean of each cluster, largest first,
    at most ``max_modes``."""
    v = _unit(np.asarray(vectors, np.float32))
    w = np.maximum(np.asarray(qualities, np.float32), 1e-3)
    if len(v) == 1:
        return v.copy(), np.ones(1, np.int64)
    labels = fcluster(linkage(v.astype(np.float64), "average", metric="cosine"),
                      t=distance, criterion="distance")
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels)]
    groups.sort(key=lambda g: (-len(g), -float(w[g].sum()), int(g[0])))
    groups = groups[:max_modes]
    modes = _unit(np.stack([(v[g] * w[g, None]).sum(axis=0) for g in groups]))
    return modes, np.array([len(g) for g in groups], np.int64)


def person_templates(store: CatalogStore, model: str,
                     person_ids: Collection[int] | None = None,
                     exclude_faces: Collection[int] = (),
                     flt: FaceFilter | None = None,
                     recognisable_only: bool = False) -> dict[int, PersonTemplate]:
    """Templates ``{person id: template}`` of the library's people for ``model``.

    ``person_ids`` restricts the people (default: everyone with a face);
    ``exclude_faces`` leaves faces out of the templates (a person left without faces has
    no template); ``flt`` restricts the faces (its ``person`` and ``enrolled_only`` apply
    as in a search); ``recognisable_only`` leaves out people marked ``do_not_recognise``.
    """
    flt = flt or FaceFilter()
    allowed = store.face_ids(model, flt)
    if not allowed.size:
        return {}
    records = store.faces([int(i) for i in allowed])
    excluded = {int(i) for i in exclude_faces}
    wanted = None if person_ids is None else {int(p) for p in person_ids}
    blocked = {p.id for p in store.people() if p.do_not_recognise} if recognisable_only \
        else set()
    by_person: dict[int, list[int]] = {}
    for fid, rec in records.items():
        pid = rec.person_id
        if pid is None or fid in excluded or pid in blocked or \
                (wanted is not None and pid not in wanted):
            continue
        by_person.setdefault(pid, []).append(fid)
    if not by_person:
        return {}
    vectors: dict[int, np.ndarray] = {}
    for ids, vecs in store.embeddings(model, sorted(f for fs in by_person.values()
                                                    for f in fs)):
        vectors.update(zip((int(i) for i in ids), vecs, strict=True))
    out: dict[int, PersonTemplate] = {}
    for pid, fids in sorted(by_person.items()):
        fids = sorted(f for f in fids if f in vectors)
        if not fids:
            continue
        out[pid] = PersonTemplate.from_vectors(
            np.stack([vectors[f] for f in fids]),
            np.array([records[f].quality for f in fids], np.float32), pid, model, fids)
    return out


@dataclass(frozen=True)
class Gallery:
    """Templates stacked for 1:N search: ``modes`` (M, d), ``owner`` (M,) the person id of
    each mode (sorted, each person's modes contiguous), ``people`` the person ids in
    order."""

    modes: np.ndarray
    owner: np.ndarray
    people: tuple[int, ...]

    @classmethod
    def of(cls, templates: Mapping[int, PersonTemplate]) -> Gallery:
        """The gallery of these templates (may be empty)."""
        items = sorted(templates.items())
        if not items:
            return cls(np.zeros((0, 0), np.float32), np.zeros(0, np.int64), ())
        modes = np.concatenate([t.modes for _, t in items]).astype(np.float32)
        owner = np.concatenate([np.full(len(t.modes), pid, np.int64) for pid, t in items])
        return cls(modes, owner, tuple(pid for pid, _ in items))

    @property
    def size(self) -> int:
        """Number of modes compared per query (what the 1:N threshold depends on)."""
        return int(len(self.owner))

    def person_scores(self, queries: np.ndarray) -> np.ndarray:
        """(n, P) best similarity of each query with each person (``people`` order)."""
        q = np.asarray(queries, np.float32)
        q = q.reshape(-1, q.shape[-1])
        if not self.size:
            return np.full((len(q), 0), -1.0, np.float32)
        sims = q @ self.modes.T
        starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        return np.asarray(np.maximum.reduceat(sims, starts, axis=1), np.float32)

    def twins(self, j: int, threshold: float) -> np.ndarray:
        """(P,) bool: the people whose template matches person ``people[j]``'s (best
        mode-to-mode similarity at or above ``threshold``), ``j`` itself included: most
        likely one person split in two (two clusters, or a named and an unnamed one)."""
        own = self.modes[self.owner == self.people[j]]
        return self.person_scores(own).max(axis=0) >= threshold

    def ranked(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (person id, similarity) for one query, best first."""
        scores = self.person_scores(query)[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.people[int(j)], float(scores[j])) for j in order]
