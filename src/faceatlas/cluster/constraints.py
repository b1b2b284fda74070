"""User decisions and photo facts as clustering constraints.

Every constraint becomes *tags* on faces: a tag is a key and a side, and two groups of
faces may not merge when they carry the same key with different sides. That one rule
expresses:

* **same photo** — key ``("photo", p)``, side = the face itself: two faces of one photo
  never end up in one person;
* **cannot-link** (from "not this person", from split) between two sets of faces —
  key ``("cl", c)``, side 0 on one set and 1 on the other;
* **fixed person** — faces a user put in person P carry ``("anchor",)`` with side P, so
  groups anchored to two different people never merge;
* **not this person** — face f carries ``("not", P)`` side 0 and every face anchored to
  P or currently in P carries side 1.

Must-links (from "merge", and between faces fixed to the same person) are applied up
front by uniting their faces.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

Tags = dict[Hashable, int]


@dataclass(frozen=True)
class Constraints:
    """Constraints on faces given by row index into the embeddings array.

    * ``cannot_link``: pairs of face-index sets that must stay in different people;
    * ``must_link``: pairs of faces that must be in the same person;
    * ``not_person``: ``(face, person id)`` — that face never goes to that person.
    """

    cannot_link: Sequence[tuple[Sequence[int], Sequence[int]]] = ()
    must_link: Sequence[tuple[int, int]] = ()
    not_person: Sequence[tuple[int, int]] = ()
    extra_tags: dict[int, Tags] = field(default_factory=dict)


def build_tags(n: int, photos: np.ndarray | None, anchors: np.ndarray, people: np.ndarray,
               constraints: Constraints) -> dict[int, Tags]:
    """Per-face tags (only faces that have any), from photos, anchors (person id per
    face or -1), current people (person id per face or -1) and user constraints.

    "Face f is not P" separates f from the faces anchored to P and from the faces P
    has now: a full re-cluster cannot regroup f with them under another id."""
    tags: dict[int, Tags] = {}

    def put(face: int | np.integer, key: Hashable, side: int) -> None:
        tags.setdefault(int(face), {})[key] = int(side)

    if photos is not None:
        photos = np.asarray(photos)
        order = np.argsort(photos, kind="stable")
        sorted_photos = photos[order]
        starts = np.flatnonzero(np.r_[True, sorted_photos[1:] != sorted_photos[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts, ends, strict=True):
            if e - s > 1 and sorted_photos[s] >= 0:
                for face in order[s:e]:
                    put(face, ("photo", int(sorted_photos[s])), int(face))
    anchored = np.flatnonzero(anchors >= 0)
    for face in anchored:
        put(face, ("anchor",), int(anchors[face]))
    for c, (left, right) in enumerate(constraints.cannot_link):
        for face in left:
            put(face, ("cl", c), 0)
        for face in right:
            put(face, ("cl", c), 1)
    not_persons = {int(p) for _, p in constraints.not_person}
    for face, person in constraints.not_person:
        put(face, ("not", int(person)), 0)
    if not_persons:
        for face in np.flatnonzero((anchors >= 0) | (people >= 0)):
            person = int(anchors[face]) if anchors[face] >= 0 else int(people[face])
            if person in not_persons:
                put(face, ("not", person), 1)
    for face, extra in constraints.extra_tags.items():
        for key, side in extra.items():
            put(face, key, side)
    return tags


def compatible(a: Tags | None, b: Tags | None) -> bool:
    """Whether two groups with these tags may merge."""
    if not a or not b:
        return True
    if len(a) > len(b):
        a, b = b, a
    for key, side in a.items():
        other = b.get(key)
        if other is not None and other != side:
            return False
    return True


def combine(a: Tags | None, b: Tags | None) -> Tags | None:
    """Tags of the union of two compatible groups (re-uses the larger dict)."""
    if not a:
        return b
    if not b:
        return a
    if len(a) < len(b):
        a, b = b, a
    a.update(b)
    return a


def forbidden_people(tags: Tags | None) -> set[int]:
    """People a group may not be given (its faces said "not P")."""
    if not tags:
        return set()
    return {key[1] for key, side in tags.items()
            if isinstance(key, tuple) and len(key) == 2 and key[0] == "not" and side == 0}


def anchor_of(tags: Tags | None) -> int | None:
    """The person a group is anchored to, if any."""
    if not tags:
        return None
    return tags.get(("anchor",))


