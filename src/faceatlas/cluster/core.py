"""Group faces into people: graph-based, constrained, incremental.

Algorithm (:func:`cluster_faces`):

1. Faces of quality below ``min_quality`` are set aside: they never seed or link
   groups. Faces already in a person are *anchored* to it — in incremental mode every
   assigned face, in full mode only the ones a user fixed.
2. A kNN graph over the other faces, pruned by adaptive neighbour selection and mutual
   support (:mod:`faceatlas.cluster.graph`). Incrementally, only the unassigned faces
   and the faces in their neighbourhoods are searched, against all faces.
3. Faces anchored to one person and must-linked faces are united first. Then
   average-linkage agglomeration restricted to the graph: the two edge-connected
   groups whose mean cross similarity (mean cosine over every cross pair, from
   per-group vector sums) most exceeds their threshold merge, while it does and
   their tags allow it (:mod:`faceatlas.cluster.constraints`: same photo,
   cannot-link, two different fixed people, "not this person"). The threshold is
   ``link_sim`` for two single faces and falls by up to ``link_relief`` as the groups
   grow (a mean over many pairs is a steadier estimate than one pair's similarity;
   ``bench/cluster_lfw.py``). The mean is what
   keeps a chain of look-alikes from joining two people: a bridge edge is strong, the
   mean over both people is not.
4. Neighbour consensus: a small group (at most 3 faces) whose nearest faces nearly all
   belong to one large group, clearly closer than anyone else, joins it
   (:func:`_absorb`): a person's unusual photos (another decade, a profile) are too far
   from the person's mean for average linkage but not from their nearest photos.
5. Groups become people: anchored groups keep their person; in full mode other groups
   take, greedily by overlap, the earlier person most of their faces were in (so ids
   stay stable and hidden people stay hidden); the rest become new people when they
   have ``min_size`` faces, else stay unassigned and are retried at the next run.
6. Set-aside low-quality faces join a person only when their mean similarity to it is
   at least ``attach_sim`` and beats the runner-up by ``attach_margin``; otherwise they
   stay unassigned.

Because edges touching the unassigned faces are the same in both modes, clustering
80 % of a set and adding the rest gives what one full run gives, up to ties and up to
the groups the first run had already settled (an incremental run never merges two
existing people; ``--full`` or an explicit merge does).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from ..errors import FaceAtlasError
from .constraints import (
    Constraints,
    Tags,
    anchor_of,
    build_tags,
    combine,
    compatible,
    forbidden_people,
)
from .graph import KnnSearch, adaptive_keep, drop_self, edge_list, memory_search
from .params import ClusterParams


@dataclass(frozen=True)
class Clustering:
    """Result: a person id per face (``-1`` = unassigned) and which ids are new."""

    labels: np.ndarray
    new_people: list[int]
    stats: dict[str, float] = field(default_factory=dict)


class _Groups:
    """Union-find over faces with per-group vector sums, sizes and tags.

    A person a user put together from faces that do not look alike (a merge of a child
    and an adult cluster, say) has several *modes*: sub-groups of its faces, each with
    its own sum. Its similarity to another group is then the best over its modes, so a
    new face of either look can still join it."""

    def __init__(self, vectors: np.ndarray, tags: dict[int, Tags]) -> None:
        n = len(vectors)
        self.parent = list(range(n))
        self.size = [1] * n
        self.sums = np.array(vectors, dtype=np.float32, copy=True)
        self.tags: dict[int, Tags] = {f: dict(t) for f, t in tags.items()}
        self.modes: dict[int, list[tuple[np.ndarray, int]]] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def _modes(self, a: int) -> list[tuple[np.ndarray, int]]:
        return self.modes.get(a) or [(self.sums[a], self.size[a])]

    def mean_similarity(self, a: int, b: int) -> float:
        if a not in self.modes and b not in self.modes:
            return float(self.sums[a] @ self.sums[b]) / (self.size[a] * self.size[b])
        return max(float(sa @ sb) / (na * nb)
                   for sa, na in self._modes(a) for sb, nb in self._modes(b))

    def set_modes(self, root: int, modes: list[tuple[np.ndarray, int]]) -> None:
        if len(modes) > 1:
            self.modes[root] = modes

    def can_merge(self, a: int, b: int) -> bool:
        return compatible(self.tags.get(a), self.tags.get(b))

    def union(self, a: int, b: int) -> int:
        if self.size[a] < self.size[b]:
            a, b = b, a
        if a in self.modes or b in self.modes:
            self._union_modes(a, b)
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.sums[a] += self.sums[b]
        merged = combine(self.tags.pop(a, None), self.tags.pop(b, None))
        if merged:
            self.tags[a] = merged
        return a

    def _union_modes(self, a: int, b: int) -> None:
        """Modes of a ∪ b (kept under a): both lists when both have several, else the
        single-mode side joins the other's closest mode."""
        ma, mb = self.modes.pop(a, None), self.modes.pop(b, None)
        if ma is not None and mb is not None:
            self.modes[a] = ma + mb
            return
        many = ma if ma is not None else mb
        assert many is not None
        one_sum, one_size = (self.sums[b], self.size[b]) if ma is not None \
            else (self.sums[a], self.size[a])
        best = max(range(len(many)),
                   key=lambda i: float(many[i][0] @ one_sum) / (many[i][1] * one_size))
        s, n = many[best]
        many[best] = (s + one_sum, n + one_size)
        self.modes[a] = many


def _as_int_array(values: np.ndarray | None, n: int, default: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=np.int64)
    arr = np.asarray(values).astype(np.int64)
    if arr.shape != (n,):
        raise FaceAtlasError(f"{name} must have one entry per face ({n}), got {arr.shape}")
    return arr


def cluster_faces(embeddings: np.ndarray, *, quality: np.ndarray | None = None,
                  photos: np.ndarray | None = None, people: np.ndarray | None = None,
                  fixed: np.ndarray | None = None, constraints: Constraints | None = None,
                  params: ClusterParams | None = None, full: bool = False,
                  first_new_id: int | None = None,
                  search: KnnSearch | None = None) -> Clustering:
    """Cluster faces into people (see the module docstring for the algorithm).

    Args:
        embeddings: (n, d) unit vectors.
        quality: (n,) quality in [0, 1]; ``None`` treats every face as good.
        photos: (n,) photo id per face; faces of one photo never share a person.
        people: (n,) current person id per face, ``-1`` when unassigned.
        fixed: (n,) bool, the assignment was made by a user (never undone).
        constraints: cannot-link / must-link / not-this-person decisions.
        params: thresholds; default ``ClusterParams.from_strictness()``.
        full: re-cluster every automatically assigned face instead of only adding the
            unassigned ones to the existing people.
        first_new_id: id of the first new person (default: one past the largest id seen).
        search: how the k nearest faces are found (default
            :func:`~faceatlas.cluster.graph.memory_search`, one in-memory faiss index;
            :class:`~faceatlas.cluster.sharded.ShardedSearch` builds the same exact
            lists in shards, on several processes or a Ray cluster).
    """
    start = time.perf_counter()
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise FaceAtlasError(f"embeddings must be a 2-d array, got shape {x.shape}")
    n = len(x)
    params = params or ClusterParams.from_strictness()
    constraints = constraints or Constraints()
    people = _as_int_array(people, n, -1, "people")
    fixed_mask = np.zeros(n, dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    if fixed_mask.shape != (n,):
        raise FaceAtlasError(f"fixed must have one entry per face ({n})")
    if (fixed_mask & (people < 0)).any():
        raise FaceAtlasError("a fixed face must have a person")
    q = np.ones(n, dtype=np.float32) if quality is None else np.asarray(quality, np.float32)
    known = [int(people.max(initial=-1))] + [int(p) for _, p in constraints.not_person]
    next_id = max(known) + 1 if first_new_id is None else first_new_id

    anchors = np.where(fixed_mask, people, -1) if full else people.copy()
    good = (q >= params.min_quality) | (anchors >= 0)
    groups = _Groups(x, build_tags(n, photos, anchors, people, constraints))
    stats: dict[str, float] = {"faces": n, "low_quality": int((~good).sum())}

    conflicts = _pre_unite(groups, x, anchors, constraints, params.link_sim)
    stats["constraint_conflicts"] = conflicts

    graph_nodes = np.flatnonzero(good)
    sources = graph_nodes if full else np.flatnonzero(good & (anchors < 0))
    search = search or memory_search
    ea, eb, _, hood = _edges(x, graph_nodes, sources, params, search)
    stats["edges"] = len(ea)
    merges, blocked = _agglomerate(groups, ea, eb, params.link_sim,
                                   params.link_relief)
    stats.update(merges=merges, blocked_by_constraints=blocked)
    stats["absorbed"] = _absorb(groups, hood, params, x, graph_nodes, search)

    labels = np.full(n, -1, dtype=np.int64)
    new_people = _name_groups(groups, graph_nodes, people, params, labels, next_id)
    stats["attached_low_quality"] = _attach(groups, x, graph_nodes, np.flatnonzero(~good),
                                            labels, params, search)
    stats["unassigned"] = int((labels < 0).sum())
    stats["people"] = len(np.unique(labels[labels >= 0]))
    stats["seconds"] = round(time.perf_counter() - start, 3)
    return Clustering(labels=labels, new_people=new_people, stats=stats)


#: Above this many faces a person's modes are not worked out (one mode).
MODES_MAX_FACES = 2000


def _person_modes(x: np.ndarray, faces: np.ndarray, link: float) -> list[tuple[np.ndarray, int]]:
    """Sub-groups of one person's faces: average-linkage clusters cut at ``link``."""
    if len(faces) < 2 or len(faces) > MODES_MAX_FACES:
        return []
    tree = linkage(x[faces].astype(np.float64), method="average", metric="cosine")
    cut = fcluster(tree, t=1.0 - link, criterion="distance")
    return [(x[faces[cut == c]].sum(axis=0), int((cut == c).sum())) for c in np.unique(cut)]


def _pre_unite(groups: _Groups, x: np.ndarray, anchors: np.ndarray, constraints: Constraints,
               link: float) -> int:
    """Unite faces anchored to one person (keeping the person's modes), then
    must-linked faces; returns the number of must-links that contradict another
    constraint (those are skipped)."""
    order = np.argsort(anchors, kind="stable")
    sorted_anchors = anchors[order]
    starts = np.flatnonzero(np.r_[True, sorted_anchors[1:] != sorted_anchors[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends, strict=True) if len(order) else ():
        if sorted_anchors[s] < 0 or e - s < 2:
            continue
        faces = order[s:e]
        root = int(faces[0])
        for f in faces[1:].tolist():
            root = groups.union(root, groups.find(f))
        groups.set_modes(root, _person_modes(x, faces, link))
    conflicts = 0
    for a, b in constraints.must_link:
        ra, rb = groups.find(int(a)), groups.find(int(b))
        if ra == rb:
            continue
        if groups.can_merge(ra, rb):
            groups.union(ra, rb)
        else:
            conflicts += 1
    return conflicts


def link_threshold(link: float, relief: float, size_a: int, size_b: int) -> float:
    """Least mean cross similarity for groups of ``size_a`` and ``size_b`` faces to merge:
    ``link - relief * (1 - 1/sqrt(size_a * size_b))``."""
    return link - relief * (1.0 - 1.0 / math.sqrt(size_a * size_b))


def person_modes(x: np.ndarray, faces: np.ndarray, link: float
                 ) -> list[tuple[np.ndarray, int]]:
    """A person's modes as ``(vector sum, size)``: average-linkage clusters of its faces
    cut at ``link`` (one mode for a single face or above :data:`MODES_MAX_FACES`)."""
    return _person_modes(x, faces, link) or [(x[faces].sum(axis=0), len(faces))]


def _agglomerate(groups: _Groups, ea: np.ndarray, eb: np.ndarray, link: float,
                 relief: float = 0.0) -> tuple[int, int]:
    """Average-linkage agglomeration restricted to graph edges: repeatedly merge the two
    edge-connected groups whose mean cross similarity most exceeds their threshold,
    while it does and their tags allow it. The threshold of groups of sizes a and b is
    ``link - relief * (1 - 1/sqrt(a*b))``: ``link`` for two single faces, down to
    ``link - relief`` for large groups, whose mean over many cross pairs is a far less
    noisy estimate than one pair's similarity. A lazy max-heap keyed by that margin: a
    popped entry whose current margin is lower is pushed back with it.
    Returns (merges, blocked)."""
    size = groups.size

    def margin(ra: int, rb: int) -> float:
        return groups.mean_similarity(ra, rb) - link_threshold(link, relief, size[ra],
                                                               size[rb])

    heap: list[tuple[float, int, int]] = []
    for a, b in zip(ea.tolist(), eb.tolist(), strict=True):
        ra, rb = groups.find(a), groups.find(b)
        if ra != rb:
            m = margin(ra, rb)
            if m >= 0:
                heap.append((-m, a, b))
    heapq.heapify(heap)
    merges = blocked = 0
    while heap:
        neg, a, b = heapq.heappop(heap)
        ra, rb = groups.find(a), groups.find(b)
        if ra == rb:
            continue
        m = margin(ra, rb)
        if m < -neg - 1e-6:
            if m >= 0:
                heapq.heappush(heap, (-m, a, b))
            continue
        if not groups.can_merge(ra, rb):
            blocked += 1
            continue
        groups.union(ra, rb)
        merges += 1
    return merges, blocked


@dataclass(frozen=True)
class _Hood:
    """The kNN lists the graph was built from, in global face indices: row r holds the
    neighbours (``idx``, -1 for none) and similarities of face ``nodes[r]``."""

    nodes: np.ndarray
    sims: np.ndarray
    idx: np.ndarray


def _edges(x: np.ndarray, graph_nodes: np.ndarray, sources: np.ndarray,
           params: ClusterParams, search: KnnSearch
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Hood]:
    """Graph edges with an end in ``sources``, sorted from most to least similar, and
    the kNN lists of the sources (for :func:`_absorb`)."""
    empty = np.empty(0, dtype=np.int64)
    if len(sources) == 0 or len(graph_nodes) < 2:
        return empty, empty, np.empty(0), _Hood(empty, np.empty((0, 1)),
                                                np.empty((0, 1), np.int64))
    local = np.full(len(x), -1, dtype=np.int64)
    local[graph_nodes] = np.arange(len(graph_nodes))
    src = local[sources]
    k = min(params.k, len(graph_nodes) - 1)
    sims, idx = drop_self(*search(x, graph_nodes, graph_nodes[src], k + 1), src, k)
    rows = [src]
    if len(src) < len(graph_nodes):
        # the neighbourhoods' own kNN lists, for mutual support (same as a full run)
        seen = np.zeros(len(graph_nodes), dtype=bool)
        seen[src] = True
        around = np.unique(idx[idx >= 0])
        around = around[~seen[around]]
        if len(around):
            s2, i2 = drop_self(*search(x, graph_nodes, graph_nodes[around], k + 1), around, k)
            sims, idx = np.vstack([sims, s2]), np.vstack([idx, i2])
            rows.append(around)
    nodes = np.concatenate(rows)
    keep = adaptive_keep(sims, params)
    a, b, w = edge_list(nodes, sims, idx, keep, src, params)
    order = np.lexsort((b, a, -w))
    n_src = len(src)
    glob = np.where(idx[:n_src] >= 0, graph_nodes[np.maximum(idx[:n_src], 0)], -1)
    hood = _Hood(graph_nodes[src], sims[:n_src], glob)
    return graph_nodes[a[order]], graph_nodes[b[order]], w[order], hood


def _absorb(groups: _Groups, hood: _Hood, params: ClusterParams, x: np.ndarray,
            graph_nodes: np.ndarray, search: KnnSearch) -> int:
    """Neighbour-consensus pass after the agglomeration. A small group (at most
    ``absorb_max_size`` faces) joins another group G when

    * at least ``absorb_share`` of its faces' k neighbour slots (outside itself) hold
      faces of G at similarity ``absorb_sim`` or more,
    * G has at least ``absorb_min_target`` faces,
    * its best similarity to G beats its best similarity to any other face by
      ``absorb_gap`` (when all k neighbours are in G, ``absorb_depth * k`` neighbours
      are searched for the runner-up; if even those are all G's, the weakest of them
      bounds what lies outside),
    * its mean similarity to G is at least ``absorb_sim`` and the tags allow it.

    This is what brings back a person's unusual photos (another decade, a profile, a
    costume): such a face is too far from a large person's *mean* for average linkage,
    yet its nearest faces are all that person's and clearly closer than anyone else's.
    A face that only resembles someone (LFW's single-photo people next to a person
    with 500 photos) has a runner-up about as close. Groups are taken most unanimous
    first. Returns the number of groups absorbed."""
    if params.absorb_share > 1.0 or len(hood.nodes) == 0:
        return 0
    face_root = {int(f): groups.find(int(f)) for f in hood.nodes.tolist()}
    small: dict[int, list[int]] = {}
    for row, f in enumerate(hood.nodes.tolist()):
        r = face_root[f]
        if groups.size[r] <= params.absorb_max_size:
            small.setdefault(r, []).append(row)
    candidates: list[tuple[float, int, int]] = []
    deep: list[tuple[float, int, int, list[int]]] = []
    for r, rows in small.items():
        if len(rows) != groups.size[r]:
            continue                        # some faces of the group were not searched
        votes: dict[int, int] = {}
        top: dict[int, float] = {}
        slots = 0
        floor = 1.0                         # similarity of the weakest slot looked at
        for row in rows:
            for j, s in zip(hood.idx[row].tolist(), hood.sims[row].tolist(), strict=True):
                if j < 0:
                    slots += 1
                    continue
                floor = min(floor, s)
                rj = groups.find(j)
                if rj == r:
                    continue
                slots += 1
                top[rj] = max(top.get(rj, -1.0), s)
                if s >= params.absorb_sim:
                    votes[rj] = votes.get(rj, 0) + 1
        if not votes or slots == 0:
            continue
        best = max(votes, key=lambda g: (votes[g], -g))
        share = votes[best] / slots
        runner_up = max((s for g, s in top.items() if g != best), default=floor)
        if share >= params.absorb_share and groups.size[best] >= params.absorb_min_target:
            if top[best] - runner_up >= params.absorb_gap:
                candidates.append((-share, r, best))
            elif params.absorb_depth > 1 and not any(
                    g != best for g in top):
                deep.append((share, r, best, [int(hood.nodes[row]) for row in rows]))
    candidates += _deeper(groups, x, graph_nodes, deep, hood.idx.shape[1], params, search)
    absorbed = 0
    for _neg, r, target in sorted(candidates):
        ra, rb = groups.find(r), groups.find(target)
        if ra == rb or not groups.can_merge(ra, rb):
            continue
        if groups.mean_similarity(ra, rb) < params.absorb_sim:
            continue
        groups.union(ra, rb)
        absorbed += 1
    return absorbed


def _deeper(groups: _Groups, x: np.ndarray, graph_nodes: np.ndarray,
            deep: list[tuple[float, int, int, list[int]]], k: int,
            params: ClusterParams, search: KnnSearch) -> list[tuple[float, int, int]]:
    """The gap test of :func:`_absorb` for groups whose k neighbours all lay in the
    target group: search ``absorb_depth * k`` neighbours to find the most similar face
    of anyone else (or a lower bound past which there is none)."""
    if not deep:
        return []
    faces = np.array([f for *_, fs in deep for f in fs], dtype=np.int64)
    depth = min(params.absorb_depth * k + 1, len(graph_nodes))
    sims, idx = search(x, graph_nodes, faces, depth)
    row = 0
    out = []
    for share, r, best, fs in deep:
        top, runner, floor = -1.0, -1.0, 1.0
        for _ in fs:
            for j, s in zip(idx[row].tolist(), sims[row].tolist(), strict=True):
                if j < 0:
                    continue
                floor = min(floor, s)
                g = groups.find(int(graph_nodes[j]))
                if g == best:
                    top = max(top, s)
                elif g != r:
                    runner = max(runner, s)
            row += 1
        if runner < 0:
            runner = floor
        if top - runner >= params.absorb_gap:
            out.append((-share, r, best))
    return out


def _name_groups(groups: _Groups, graph_nodes: np.ndarray, previous: np.ndarray,
                 params: ClusterParams, labels: np.ndarray, next_id: int) -> list[int]:
    """Give each group of graph nodes a person id (written into ``labels``)."""
    roots = np.array([groups.find(int(f)) for f in graph_nodes], dtype=np.int64)
    members: dict[int, list[int]] = {}
    for face, root in zip(graph_nodes.tolist(), roots.tolist(), strict=True):
        members.setdefault(root, []).append(face)
    person_of: dict[int, int] = {}
    taken: set[int] = set()
    for root in members:
        anchor = anchor_of(groups.tags.get(root))
        if anchor is not None:
            person_of[root] = anchor
            taken.add(anchor)
    # continuity: unanchored groups take the earlier person most of their faces had
    votes: dict[tuple[int, int], int] = {}
    for root, faces in members.items():
        if root in person_of:
            continue
        for p in previous[faces].tolist():
            if p >= 0:
                votes[(root, p)] = votes.get((root, p), 0) + 1
    for (root, p), _count in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
        if root in person_of or p in taken or p in forbidden_people(groups.tags.get(root)):
            continue
        person_of[root] = p
        taken.add(p)
    new_people: list[int] = []
    for root in sorted(members, key=lambda r: min(members[r])):
        if root not in person_of and len(members[root]) >= params.min_size:
            person_of[root] = next_id
            new_people.append(next_id)
            next_id += 1
    for root, faces in members.items():
        if root in person_of:
            labels[faces] = person_of[root]
    return new_people


def _attach(groups: _Groups, x: np.ndarray, graph_nodes: np.ndarray, low: np.ndarray,
            labels: np.ndarray, params: ClusterParams, search: KnnSearch) -> int:
    """Let low-quality faces join a person when confidently close; returns how many."""
    assigned = graph_nodes[labels[graph_nodes] >= 0]
    if len(low) == 0 or len(assigned) == 0:
        return 0
    k = min(params.k, len(assigned))
    sims, idx = search(x, assigned, low, k)
    choices: list[tuple[float, int, int]] = []
    for row, face in enumerate(low.tolist()):
        roots = {groups.find(int(assigned[j])) for j in idx[row] if j >= 0}
        scored = sorted(((float(groups.sums[r] @ x[face]) / groups.size[r], r) for r in roots),
                        reverse=True)
        if not scored or scored[0][0] < params.attach_sim:
            continue
        if len(scored) > 1 and scored[0][0] - scored[1][0] < params.attach_margin:
            continue
        choices.append((-scored[0][0], face, scored[0][1]))
    attached = 0
    for _neg, face, root in sorted(choices):
        own = groups.tags.get(face)
        if own and (not compatible(groups.tags.get(root), own)
                    or int(labels[root]) in forbidden_people(own)):
            continue
        merged = combine(groups.tags.pop(root, None), dict(own) if own else None)
        if merged:
            groups.tags[root] = merged
        labels[face] = labels[root]
        attached += 1
    return attached
