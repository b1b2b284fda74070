"""Questions asked of a :class:`RelationGraph`: closest companions, photos together,
chains of shared photos, communities and timelines. Every answer is deterministic."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

import networkx as nx

from .errors import RelationsError
from .graph import RelationGraph

CommunityMethod = Literal["louvain", "label-propagation"]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Companion:
    """Someone who appears with the asked person: in ``weight`` photos, from ``first`` to
    ``last``."""

    person: int
    weight: int
    first: datetime
    last: datetime
    estimated: int = 0  # shared photos whose date is an estimate (file time)

    def to_dict(self) -> dict[str, object]:
        return {"person": self.person, "weight": self.weight, "first": _iso(self.first),
                "last": _iso(self.last), "estimated_dates": self.estimated}


def top_companions(rg: RelationGraph, person: int, n: int = 10,
                   estimated: Collection[int] = frozenset()) -> list[Companion]:
    """The ``n`` people who share most photos with ``person`` (ties: most recent, then id);
    ``estimated`` lists the photos whose dates are estimates (counted per companion)."""
    mine = rg.photos_of(person)  # raises for an unknown person
    found = [Companion(other, d["weight"], d["first"], d["last"])
             for other, d in rg.graph[person].items()]
    found.sort(key=lambda c: (-c.weight, -c.last.timestamp(), c.person))
    found = found[:max(n, 0)]
    if estimated:
        guessed = mine & frozenset(estimated)
        found = [replace(c, estimated=len(guessed & rg.photos_of(c.person)))
                 for c in found] if guessed else found
    return found


def photos_together(rg: RelationGraph, people: Collection[int],
                    without: Collection[int] = ()) -> list[int]:
    """Photos showing every one of ``people`` and none of ``without``, oldest first."""
    if not people:
        raise RelationsError("name at least one person")
    sets = sorted((rg.photos_of(p) for p in set(people)), key=len)
    found = set(sets[0]).intersection(*sets[1:])
    for p in set(without):
        if p in rg:
            found -= rg.photos_of(p)
    return sorted(found, key=lambda ph: (rg.taken_at(ph), ph))


@dataclass(frozen=True)
class Hop:
    """One link of a chain: ``a`` and ``b`` share ``photos`` (oldest first)."""

    a: int
    b: int
    photos: list[int]

    def to_dict(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "weight": len(self.photos), "photos": self.photos}


@dataclass(frozen=True)
class Chain:
    """The fewest-links path of shared photos between two people."""

    people: list[int]
    hops: list[Hop] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"people": self.people, "length": len(self.hops),
                "hops": [h.to_dict() for h in self.hops]}


def shortest_chain(rg: RelationGraph, a: int, b: int) -> Chain | None:
    """Fewest links from ``a`` to ``b``; among those, each step takes the strongest
    link (most shared photos, then lowest id). ``None`` when they are not connected."""
    rg.photos_of(a)
    rg.photos_of(b)
    g = rg.graph
    try:
        d = nx.shortest_path_length(g, a, b)
    except nx.NetworkXNoPath:
        return None
    to_b = nx.single_source_shortest_path_length(g, b, cutoff=d)
    path = [a]
    while path[-1] != b:
        here = path[-1]
        step = min((u for u in g[here] if to_b.get(u) == to_b[here] - 1),
                   key=lambda u: (-g[here][u]["weight"], u))
        path.append(step)
    hops = [Hop(x, y, photos_together(rg, (x, y))) for x, y in zip(path, path[1:], strict=False)]
    return Chain(path, hops)


def communities(rg: RelationGraph, method: CommunityMethod = "louvain", seed: int = 0,
                resolution: float = 1.0, min_size: int = 2) -> list[list[int]]:
    """Groups of people who appear together, largest first (members ascending).

    ``louvain`` maximises weighted modularity (networkx, seeded); ``label-propagation``
    is networkx's fast label propagation (seeded), quicker on very large graphs.
    """
    g = rg.graph
    if method == "louvain":
        found = nx.community.louvain_communities(g, weight="weight", resolution=resolution,
                                                 seed=seed)
    elif method == "label-propagation":
        found = nx.community.fast_label_propagation_communities(g, weight="weight", seed=seed)
    else:
        raise RelationsError(f"unknown community method '{method}'; use louvain or "
                             "label-propagation")
    groups = [sorted(c) for c in found if len(c) >= min_size]
    groups.sort(key=lambda c: (-len(c), c[0]))
    return groups


@dataclass(frozen=True)
class Month:
    """A person's photos in one calendar month and whom they were with."""

    month: str  # YYYY-MM
    photos: int
    with_people: list[tuple[int, int]]  # (person, shared photos), most first
    estimated: int = 0  # photos whose date is an estimate (file time)

    def to_dict(self) -> dict[str, object]:
        return {"month": self.month, "photos": self.photos, "estimated_dates": self.estimated,
                "with": [{"person": p, "photos": n} for p, n in self.with_people]}


def timeline(rg: RelationGraph, person: int,
             estimated: Collection[int] = frozenset()) -> list[Month]:
    """Photos of ``person`` per month (oldest first), with the people in them;
    ``estimated`` lists the photos whose dates are estimates (counted per month)."""
    guessed = frozenset(estimated)
    months: dict[str, list[int]] = defaultdict(list)
    for photo in rg.photos_of(person):
        months[rg.taken_at(photo).strftime("%Y-%m")].append(photo)
    out = []
    for month in sorted(months):
        counts: Counter[int] = Counter()
        for photo in months[month]:
            counts.update(p for p in rg.people_in(photo) if p != person)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append(Month(month, len(months[month]), ranked,
                         sum(p in guessed for p in months[month])))
    return out
