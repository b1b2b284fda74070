"""The co-occurrence graph: who appears with whom, how often, from when to when.

People are nodes (attribute ``photos``: how many photos show them); an edge joins two
people seen in the same photo, with ``weight`` (number of shared photos), ``first``
and ``last`` (earliest and latest ``taken_at`` of those photos).

The graph is derived from the photos' memberships (which people, with how many faces,
in which photo). :meth:`RelationGraph.from_occurrences` builds it in bulk (numpy
grouping); the update methods (:meth:`~RelationGraph.add_photo`,
:meth:`~RelationGraph.move_face`, :meth:`~RelationGraph.merge`, ...) keep it equal to
a rebuild: every update is a sequence of membership changes of one person in one
photo (``0 -> n`` faces: *join*, ``n -> 0``: *leave*), and join/leave each restore
the invariant "edge ``(p, q)`` exists iff they share a photo, with weight = number of
shared photos, first/last = min/max date of those photos; node ``p`` exists iff
``p`` has a photo, with ``photos`` = their number".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import combinations
from typing import Any

import networkx as nx
import numpy as np

from .errors import RelationsError, UnknownPersonError
from .occurrences import Occurrence, as_time

EdgeData = tuple[int, datetime, datetime]


class RelationGraph:
    """Co-occurrence graph with exact incremental updates.

    Read it through :attr:`graph` (a ``networkx.Graph``; do not mutate it) and the
    accessors; change it only through the update methods.
    """

    def __init__(self) -> None:
        self.graph: nx.Graph = nx.Graph()
        self._taken: dict[int, datetime] = {}
        self._members: dict[int, tuple[int, ...]] = {}  # sorted multiset of person ids
        self._photos_of: dict[int, set[int]] = {}

    # ----------------------------------------------------------------- building
    @classmethod
    def from_occurrences(cls, occurrences: Iterable[Occurrence | tuple[int, int, Any]]
                         ) -> RelationGraph:
        """Build the graph from ``(photo_id, person_id, taken_at)`` items in one pass.

        ``taken_at`` is a datetime or ISO string; all items of a photo must agree on it.
        """
        self = cls()
        photo_l: list[int] = []
        person_l: list[int] = []
        taken = self._taken
        for photo, person, when in occurrences:
            photo, person = int(photo), int(person)
            t = taken.get(photo)
            if t is None:
                taken[photo] = as_time(when)
            elif when is not t and as_time(when) != t:
                raise RelationsError(f"photo {photo} has two dates ({t} and {when}); "
                                     "each photo must have one taken_at")
            photo_l.append(photo)
            person_l.append(person)
        if not photo_l:
            return self
        photos = np.asarray(photo_l, dtype=np.int64)
        people = np.asarray(person_l, dtype=np.int64)
        order = np.lexsort((people, photos))
        photos, people = photos[order], people[order]
        self._fill_members(photos, people)
        # distinct (photo, person) pairs
        keep = np.ones(len(photos), dtype=bool)
        keep[1:] = (photos[1:] != photos[:-1]) | (people[1:] != people[:-1])
        photos, people = photos[keep], people[keep]
        self._fill_photos_of(photos, people)
        self._fill_graph(photos, people)
        return self

    def _fill_members(self, photos: np.ndarray, people: np.ndarray) -> None:
        starts = np.flatnonzero(np.r_[True, photos[1:] != photos[:-1]])
        bounds = np.r_[starts, len(photos)].tolist()
        ids = photos[starts].tolist()
        plist = people.tolist()
        self._members = {pid: tuple(plist[a:b])
                         for pid, a, b in zip(ids, bounds[:-1], bounds[1:], strict=True)}

    def _fill_photos_of(self, photos: np.ndarray, people: np.ndarray) -> None:
        order = np.argsort(people, kind="stable")
        pe, ph = people[order], photos[order]
        starts = np.flatnonzero(np.r_[True, pe[1:] != pe[:-1]])
        bounds = np.r_[starts, len(pe)].tolist()
        phl = ph.tolist()
        self._photos_of = {pid: set(phl[a:b]) for pid, a, b in
                           zip(pe[starts].tolist(), bounds[:-1], bounds[1:], strict=True)}
        self.graph.add_nodes_from(
            (pid, {"photos": len(s)}) for pid, s in sorted(self._photos_of.items()))

    def _fill_graph(self, photos: np.ndarray, people: np.ndarray) -> None:
        uniq_photos, starts, sizes = np.unique(photos, return_index=True, return_counts=True)
        times = np.array([self._taken[p] for p in uniq_photos.tolist()], dtype="datetime64[us]")
        a_parts: list[np.ndarray] = []
        b_parts: list[np.ndarray] = []
        t_parts: list[np.ndarray] = []
        for k in np.unique(sizes[sizes >= 2]).tolist():
            sel = np.flatnonzero(sizes == k)
            block = people[starts[sel][:, None] + np.arange(k)]  # (n, k), ascending rows
            for i, j in combinations(range(k), 2):
                a_parts.append(block[:, i])
                b_parts.append(block[:, j])
                t_parts.append(times[sel])
        if not a_parts:
            return
        a, b, t = np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(t_parts)
        order = np.lexsort((t, b, a))
        a, b, t = a[order], b[order], t[order]
        starts_e = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
        ends_e = np.r_[starts_e[1:], len(a)]
        weights = (ends_e - starts_e).tolist()
        first = t[starts_e].astype(object).tolist()
        last = t[ends_e - 1].astype(object).tolist()
        self.graph.add_edges_from(
            (ea, eb, {"weight": w, "first": f, "last": la})
            for ea, eb, w, f, la in zip(a[starts_e].tolist(), b[starts_e].tolist(), weights,
                                        first, last, strict=True))

    # ---------------------------------------------------------------- accessors
    def people(self) -> list[int]:
        """Every person seen in at least one photo, ascending."""
        return sorted(self._photos_of)

    def photos(self) -> list[int]:
        """Every photo with at least one recognised person, ascending."""
        return sorted(self._members)

    def photos_of(self, person: int) -> frozenset[int]:
        """The photos showing ``person``."""
        return frozenset(self._photos_of_checked(person))

    def people_in(self, photo: int) -> tuple[int, ...]:
        """The distinct people of a photo, ascending (empty for an unknown photo)."""
        return tuple(sorted(set(self._members.get(photo, ()))))

    def faces_in(self, photo: int) -> tuple[int, ...]:
        """The person of every assigned face of a photo (repeats allowed), ascending."""
        return self._members.get(photo, ())

    def taken_at(self, photo: int) -> datetime:
        """The time of a photo."""
        try:
            return self._taken[photo]
        except KeyError:
            raise RelationsError(f"photo {photo} has no recognised person") from None

    def __contains__(self, person: object) -> bool:
        return person in self._photos_of

    def _photos_of_checked(self, person: int) -> set[int]:
        try:
            return self._photos_of[person]
        except KeyError:
            raise UnknownPersonError(f"person {person} appears in no photo of the "
                                     "relation graph") from None

    def signature(self) -> tuple[dict[int, int], dict[tuple[int, int], EdgeData],
                                 dict[int, tuple[datetime, tuple[int, ...]]]]:
        """Canonical content (nodes, edges, photos) for comparing two graphs."""
        nodes = {int(n): int(d["photos"]) for n, d in self.graph.nodes(data=True)}
        edges = {(min(a, b), max(a, b)): (d["weight"], d["first"], d["last"])
                 for a, b, d in self.graph.edges(data=True)}
        photos = {p: (self._taken[p], m) for p, m in self._members.items()}
        return nodes, edges, photos

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RelationGraph):
            return NotImplemented
        return self.signature() == other.signature()

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ updates
    def add_face(self, photo: int, person: int, taken_at: datetime | str | None = None) -> None:
        """One more face of ``person`` in ``photo`` (``taken_at`` needed for a new photo)."""
        if photo not in self._taken:
            if taken_at is None:
                raise RelationsError(f"photo {photo} is new to the relation graph: give its "
                                     "taken_at")
            self._taken[photo] = as_time(taken_at)
            self._members[photo] = ()
        elif taken_at is not None and as_time(taken_at) != self._taken[photo]:
            raise RelationsError(f"photo {photo} is dated {self._taken[photo]}, not {taken_at}")
        self._set_count(photo, person, self._count(photo, person) + 1)

    def remove_face(self, photo: int, person: int) -> None:
        """One face of ``person`` in ``photo`` is gone (deleted or unassigned)."""
        n = self._count(photo, person)
        if n == 0:
            raise RelationsError(f"person {person} has no face in photo {photo}")
        self._set_count(photo, person, n - 1)

    def add_photo(self, photo: int, people: Iterable[int], taken_at: datetime | str) -> None:
        """A new photo with one assigned face per item of ``people``."""
        if photo in self._members:
            raise RelationsError(f"photo {photo} is already in the relation graph; "
                                 "remove it first")
        when = as_time(taken_at)
        for person in people:
            self.add_face(photo, int(person), when)

    def remove_photo(self, photo: int) -> bool:
        """Forget a photo; ``False`` if it had no recognised person."""
        if photo not in self._members:
            return False
        for person in set(self._members[photo]):
            self._set_count(photo, person, 0)
        return True

    def move_face(self, photo: int, source: int, target: int) -> None:
        """One face of ``photo`` is reassigned from ``source`` to ``target``."""
        if source == target:
            return
        n = self._count(photo, source)
        if n == 0:
            raise RelationsError(f"person {source} has no face in photo {photo}")
        self._set_count(photo, target, self._count(photo, target) + 1)  # first: keeps photo
        self._set_count(photo, source, n - 1)

    def merge(self, keep: int, other: int) -> None:
        """``other`` is the same person as ``keep``: every face of ``other`` goes to ``keep``."""
        if keep == other:
            raise RelationsError("cannot merge a person with themselves")
        for photo in sorted(self._photos_of_checked(other)):
            self._transfer(photo, other, keep)

    def split(self, person: int, new_person: int, photos: Iterable[int]) -> None:
        """Move every face of ``person`` in ``photos`` to ``new_person``."""
        if person == new_person:
            raise RelationsError("split needs a different person id for the moved faces")
        own = self._photos_of_checked(person)
        chosen = sorted(set(photos))
        stray = [p for p in chosen if p not in own]
        if stray:
            raise RelationsError(f"person {person} is not in photo(s) "
                                 f"{', '.join(map(str, stray[:5]))}")
        for photo in chosen:
            self._transfer(photo, person, new_person)

    def forget(self, person: int) -> None:
        """Remove a person: their node, every edge, every face of theirs."""
        for photo in sorted(self._photos_of_checked(person)):
            self._set_count(photo, person, 0)

    # ---------------------------------------------------------------- internals
    def _count(self, photo: int, person: int) -> int:
        return self._members.get(photo, ()).count(person)

    def _transfer(self, photo: int, source: int, target: int) -> None:
        n = self._count(photo, source)
        self._set_count(photo, target, self._count(photo, target) + n)  # first: keeps photo
        self._set_count(photo, source, 0)

    def _set_count(self, photo: int, person: int, n: int) -> None:
        members = self._members[photo]
        before = members.count(person)
        if n == before:
            return
        if before == 0:
            self._join(photo, person)
        rest = [m for m in members if m != person]
        self._members[photo] = tuple(sorted(rest + [person] * n))
        if n == 0:
            self._leave(photo, person)
            if not rest:
                del self._members[photo]
                del self._taken[photo]

    def _join(self, photo: int, person: int) -> None:
        t = self._taken[photo]
        g = self.graph
        for other in set(self._members[photo]):
            if g.has_edge(person, other):
                d = g[person][other]
                d["weight"] += 1
                d["first"] = min(d["first"], t)
                d["last"] = max(d["last"], t)
            else:
                g.add_edge(person, other, weight=1, first=t, last=t)
        photos = self._photos_of.setdefault(person, set())
        photos.add(photo)
        if person in g:
            g.nodes[person]["photos"] = len(photos)
        else:
            g.add_node(person, photos=len(photos))

    def _leave(self, photo: int, person: int) -> None:
        t = self._taken[photo]
        g = self.graph
        photos = self._photos_of[person]
        photos.discard(photo)
        for other in set(self._members[photo]) - {person}:
            d = g[person][other]
            d["weight"] -= 1
            if d["weight"] == 0:
                g.remove_edge(person, other)
            elif t in (d["first"], d["last"]):
                shared = [self._taken[p] for p in photos & self._photos_of[other]]
                d["first"], d["last"] = min(shared), max(shared)
        if photos:
            g.nodes[person]["photos"] = len(photos)
        else:
            del self._photos_of[person]
            g.remove_node(person)

    def iter_occurrences(self) -> Iterator[Occurrence]:
        """The occurrences this graph holds (one per face), by photo."""
        for photo, members in sorted(self._members.items()):
            for person in members:
                yield Occurrence(photo, person, self._taken[photo])
