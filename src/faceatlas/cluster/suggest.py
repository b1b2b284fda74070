"""Merge suggestions and unassigned faces: what clustering *almost* did.

* **Merge suggestions** (``faceatlas people suggest``): pairs of people that are probably
  one person, scored with the clustering's own group linkage. Each person is split into
  *modes* (average-linkage sub-groups of its faces cut at ``link_sim``, as clustering
  does for a person a user put together); the similarity of two people is the best mean
  cross similarity over their modes, and the *margin* is that similarity minus the
  size-aware threshold the agglomeration applies to groups of those sizes
  (:func:`~faceatlas.cluster.core.link_threshold`). Suggestions come best margin first:
  a margin just below 0 is a merge clustering nearly made. Pairs that share a photo, and
  pairs a user said differ, are never suggested.
* **Unassigned faces** (``faceatlas people unassigned``): each with its best candidate
  person by the attach step's similarity (mean cosine to the person's faces), the
  runner-up, and whether clustering's attach rule would take it.

The array functions (:func:`suggest_pairs`, :func:`face_candidates`) work on embeddings
and labels alone (the benchmark uses them); the catalog functions read a library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import FaceAtlasError
from ..store import CatalogStore, Person
from .catalog import DIFFER_DECISION, catalog_faces, differing_people
from .core import link_threshold, person_modes
from .graph import knn
from .params import ClusterParams
from .people import draw_sheet, merge_people

#: Mode neighbours looked at per mode when searching for candidate pairs.
PAIR_NEIGHBOURS = 10
#: Pairs less similar than this are not suggested (``absorb_sim`` - 0.1: far below
#: anything clustering would merge).
MIN_SUGGEST_SIMILARITY = 0.2


@dataclass(frozen=True)
class Profile:
    """One person's faces (row indices) and modes (mean vectors and sizes)."""

    rows: np.ndarray
    means: np.ndarray
    sizes: np.ndarray


@dataclass(frozen=True)
class PairLink:
    """How close two people are under the clustering's linkage."""

    a: int
    b: int
    similarity: float
    margin: float


def profiles(x: np.ndarray, labels: np.ndarray, params: ClusterParams,
             only: Sequence[int] | None = None) -> dict[int, Profile]:
    """Profile of every person in ``labels`` (``-1`` skipped), or of ``only`` those."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    wanted = None if only is None else {int(p) for p in only}
    out: dict[int, Profile] = {}
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]]) \
        if len(order) else np.empty(0, np.int64)
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        p = int(sorted_labels[s])
        if p < 0 or (wanted is not None and p not in wanted):
            continue
        rows = np.sort(order[s:e])
        modes = person_modes(x, rows, params.link_sim)
        out[p] = Profile(rows=rows,
                         means=np.stack([m / n for m, n in modes]).astype(np.float32),
                         sizes=np.array([n for _, n in modes], dtype=np.int64))
    return out


def link(pa: Profile, pb: Profile, params: ClusterParams) -> tuple[float, float]:
    """(similarity, margin) of two people: the mode pair with the best margin."""
    sims = pa.means @ pb.means.T
    thr = np.array([[link_threshold(params.link_sim, params.link_relief, int(na), int(nb))
                     for nb in pb.sizes] for na in pa.sizes])
    margins = sims - thr
    i, j = np.unravel_index(int(np.argmax(margins)), margins.shape)
    return float(sims[i, j]), float(margins[i, j])


def suggest_pairs(x: np.ndarray, labels: np.ndarray, params: ClusterParams, *,
                  photos: np.ndarray | None = None,
                  exclude: set[tuple[int, int]] | None = None,
                  people: dict[int, Profile] | None = None,
                  limit: int | None = None,
                  min_similarity: float = MIN_SUGGEST_SIMILARITY) -> list[PairLink]:
    """Pairs of people (labels) best margin first; ``exclude`` holds ``(a, b)`` with
    a < b never to suggest, ``photos`` (per row) rules out people who share a photo,
    ``people`` are precomputed :func:`profiles`; pairs below ``min_similarity`` are
    left out."""
    people = profiles(x, labels, params) if people is None else people
    exclude = exclude or set()
    ids = sorted(people)
    if len(ids) < 2:
        return []
    owner = np.concatenate([[p] * len(people[p].sizes) for p in ids]).astype(np.int64)
    means = np.vstack([people[p].means for p in ids])
    k = min(PAIR_NEIGHBOURS + 1, len(means))
    _, idx = knn(means, means, k)
    pairs: set[tuple[int, int]] = set()
    for i, row in enumerate(idx.tolist()):
        for j in row:
            if j >= 0 and owner[j] != owner[i]:
                a, b = sorted((int(owner[i]), int(owner[j])))
                if (a, b) not in exclude:
                    pairs.add((a, b))
    photo_sets = ({p: set(photos[people[p].rows].tolist()) for p in ids}
                  if photos is not None else None)
    out = []
    for a, b in sorted(pairs):
        if photo_sets is not None and photo_sets[a] & photo_sets[b]:
            continue
        sim, margin = link(people[a], people[b], params)
        if sim < min_similarity:
            continue
        out.append(PairLink(a, b, round(sim, 6), round(margin, 6)))
    out.sort(key=lambda r: (-r.margin, r.a, r.b))
    return out if limit is None else out[:limit]


def face_candidates(x: np.ndarray, labels: np.ndarray, rows: np.ndarray
                    ) -> list[tuple[int, float, int, float]]:
    """For each row in ``rows``: (best person, its similarity, runner-up person, its
    similarity), by mean similarity to the person's faces (the attach step's measure);
    person -1 / similarity nan where there is none."""
    assigned = labels >= 0
    if not assigned.any() or len(rows) == 0:
        return [(-1, float("nan"), -1, float("nan")) for _ in rows]
    ids, inverse = np.unique(labels[assigned], return_inverse=True)
    sums = np.zeros((len(ids), x.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, x[assigned])
    means = (sums / np.bincount(inverse)[:, None]).astype(np.float32)
    sims, idx = knn(means, x[rows], 2)
    out = []
    for s, i in zip(sims.tolist(), idx.tolist(), strict=True):
        best = (int(ids[i[0]]), float(s[0])) if i[0] >= 0 else (-1, float("nan"))
        second = (int(ids[i[1]]), float(s[1])) if i[1] >= 0 else (-1, float("nan"))
        out.append((*best, *second))
    return out


# -- catalog ------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSuggestion:
    """Two people that are probably one."""

    person: int
    other: int
    name: str | None
    other_name: str | None
    similarity: float
    margin: float
    faces: int
    other_faces: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class UnassignedFace:
    """A face in no person, with the person it is closest to."""

    face_id: int
    image_id: int
    quality: float
    candidate: int | None
    candidate_name: str | None
    similarity: float | None
    runner_up: int | None
    runner_up_similarity: float | None
    would_attach: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _visible_labels(store: CatalogStore, people: np.ndarray) -> np.ndarray:
    hidden = {p.id for p in store.people() if p.hidden}
    return np.where(np.isin(people, list(hidden)), -1, people) if hidden else people


def suggest_merges(store: CatalogStore, *, model: str | None = None,
                   params: ClusterParams | None = None,
                   limit: int | None = 20) -> list[MergeSuggestion]:
    """Pairs of (visible) people that are probably one person, best first."""
    params = params or ClusterParams.from_strictness()
    cf = catalog_faces(store, model)
    labels = _visible_labels(store, cf.people)
    links = suggest_pairs(cf.vectors, labels, params, photos=cf.photos,
                          exclude=differing_people(store), limit=limit)
    names = {p.id: p.name for p in store.people()}
    counts = dict(zip(*np.unique(labels[labels >= 0], return_counts=True), strict=True))
    return [MergeSuggestion(person=r.a, other=r.b, name=names.get(r.a),
                            other_name=names.get(r.b), similarity=round(r.similarity, 4),
                            margin=round(r.margin, 4), faces=int(counts[r.a]),
                            other_faces=int(counts[r.b])) for r in links]


def unassigned_faces(store: CatalogStore, *, model: str | None = None,
                     params: ClusterParams | None = None,
                     limit: int | None = None) -> list[UnassignedFace]:
    """Faces in no person with their best candidate person, most similar first."""
    params = params or ClusterParams.from_strictness()
    cf = catalog_faces(store, model)
    labels = _visible_labels(store, cf.people)
    rows = np.flatnonzero(cf.people < 0)
    names = {p.id: p.name for p in store.people()}
    out = []
    for row, (best, sim, second, sim2) in zip(rows.tolist(),
                                              face_candidates(cf.vectors, labels, rows),
                                              strict=True):
        has = best >= 0
        has2 = second >= 0
        attach = has and sim >= params.attach_sim and (
            not has2 or sim - sim2 >= params.attach_margin)
        out.append(UnassignedFace(
            face_id=int(cf.face_ids[row]), image_id=int(cf.photos[row]),
            quality=round(float(cf.quality[row]), 4), candidate=best if has else None,
            candidate_name=names.get(best) if has else None,
            similarity=round(sim, 4) if has else None, runner_up=second if has2 else None,
            runner_up_similarity=round(sim2, 4) if has2 else None,
            would_attach=bool(attach)))
    out.sort(key=lambda u: (u.similarity is None, -(u.similarity or 0.0), u.face_id))
    return out if limit is None else out[:limit]


def accept_merge(store: CatalogStore, a: Person, b: Person) -> Person:
    """``people suggest --yes A B``: merge B into A (into B when only B has a name)."""
    if a.id == b.id:
        raise FaceAtlasError(f"person {a.id} given twice: give two different people")
    target, other = (b, a) if b.name and not a.name else (a, b)
    return merge_people(store, target, [other])


def record_differ(store: CatalogStore, a: Person, b: Person) -> None:
    """``people suggest --no A B``: A and B are different people; the pair is never
    suggested again and clustering keeps their faces apart."""
    if a.id == b.id:
        raise FaceAtlasError(f"person {a.id} given twice: give two different people")
    store.record_decision(DIFFER_DECISION, person_id=a.id, other_person_id=b.id)


def suggestion_sheet(store: CatalogStore, suggestions: Sequence[MergeSuggestion],
                     out: Path, per_person: int = 4, cell: int = 96) -> int:
    """PNG: one row per suggestion, the best faces of both people; returns rows drawn."""
    rows = []
    for s in suggestions:
        faces: list[int] = []
        for p in (s.person, s.other):
            best = sorted(store.person_faces(p), key=lambda f: (-f.quality, f.id))
            faces.extend(f.id for f in best[:per_person])
            faces.append(-1)                                  # a gap between the two
        rows.append((f"{s.person} + {s.other}: similarity {s.similarity:.3f} "
                     f"(margin {s.margin:+.3f})", faces[:-1]))
    return draw_sheet(store, rows, out, cell=cell)


def unassigned_sheet(store: CatalogStore, faces: Sequence[UnassignedFace], out: Path,
                     cell: int = 96) -> int:
    """PNG: one row per unassigned face, the face then its candidate's best faces."""
    rows = []
    for u in faces:
        cands: list[int] = []
        if u.candidate is not None:
            best = sorted(store.person_faces(u.candidate), key=lambda f: (-f.quality, f.id))
            cands = [f.id for f in best[:3]]
        label = (f"face {u.face_id} -> person {u.candidate} ({u.similarity:.3f})"
                 if u.candidate is not None else f"face {u.face_id}: no candidate")
        rows.append((label, [u.face_id, *cands]))
    return draw_sheet(store, rows, out, cell=cell)
