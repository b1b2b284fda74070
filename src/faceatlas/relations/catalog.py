"""Reading occurrences from the library catalog (:mod:`faceatlas.store`).

The relation graph is derived data: it is rebuilt from the catalog's (image, person,
taken_at) triples each time it is opened (see ``docs/benchmarks.md``, ``## Relations``,
for the cost), so it can never disagree with the catalog after merges, splits, moved
faces or forgotten people. Long-lived processes keep it current with the
:class:`~faceatlas.relations.graph.RelationGraph` update methods instead.

:class:`CatalogOccurrences` works with any :class:`~faceatlas.store.CatalogStore`: it
reads every triple in one query (``person_occurrences``).

A **video** counts once per shot, not once per file: two people are together when they
are in the same shot. Each shot of a video is an occurrence "photo" of its own, with the
negative id :func:`shot_photo_id` (``-(image_id * SHOTS_PER_VIDEO + shot + 1)``); its
path is the video's, followed by ``#shot=N``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from ..errors import NotFoundError
from ..store import CatalogStore, open_store
from ..store.base import ESTIMATED_DATE_SOURCES
from .occurrences import Occurrence, as_time

#: Room for shot numbers in the occurrence id of a video shot (:func:`shot_photo_id`).
SHOTS_PER_VIDEO = 1_000_000

def shot_photo_id(image_id: int, shot: int | None) -> int:
    """The occurrence "photo" id of a face: its image id, or for a face track of a video
    (``shot`` not None) the negative id of that video's shot."""
    if shot is None:
        return int(image_id)
    return -(int(image_id) * SHOTS_PER_VIDEO + int(shot) + 1)


def shot_of(photo_id: int) -> tuple[int, int | None]:
    """``(image id, shot)`` of an occurrence photo id (shot None for a photo)."""
    if photo_id >= 0:
        return int(photo_id), None
    key = -int(photo_id) - 1
    return key // SHOTS_PER_VIDEO, key % SHOTS_PER_VIDEO


def _image_time(taken_at: str | None, mtime_ns: int) -> datetime:
    """The photo's local wall-clock time (a stored UTC offset is dropped, not applied:
    a photo taken at 23:30 abroad stays on that day)."""
    if not taken_at:
        return datetime.fromtimestamp(mtime_ns / 1e9)
    try:
        return datetime.fromisoformat(taken_at).replace(tzinfo=None)
    except ValueError:
        return as_time(taken_at)


def _estimated(source: str | None) -> bool:
    """Whether a date from this source is an estimate (file time, or no source)."""
    return source is None or source in ESTIMATED_DATE_SOURCES


class CatalogOccurrences:
    """An :class:`~faceatlas.relations.occurrences.OccurrenceSource` over a catalog.

    Args:
        store: an open catalog.
        include_hidden: also count people marked ``hidden`` (left out by default).
        exact_dates: leave out photos whose date is an estimate (the file time).

    After :meth:`occurrences` has been read, :attr:`estimated_photos` holds the photos
    with estimated dates that were met: listed (or, with ``exact_dates``, left out).
    """

    def __init__(self, store: CatalogStore, include_hidden: bool = False,
                 exact_dates: bool = False) -> None:
        self.store = store
        self.include_hidden = include_hidden
        self.exact_dates = exact_dates
        self.estimated_photos: set[int] = set()
        people = store.people()
        self._names = {p.id: p.name for p in people if p.name}
        self._hidden = {p.id for p in people if p.hidden}

    def occurrences(self) -> Iterator[Occurrence]:
        cache: dict[tuple[str | None, int], datetime] = {}
        for image_id, person_id, taken_at, mtime_ns, src, shot in \
                self.store.person_occurrences(self.include_hidden):
            if _estimated(src):
                self.estimated_photos.add(shot_photo_id(image_id, shot))
                if self.exact_dates:
                    continue
            key = (taken_at, mtime_ns)
            t = cache.get(key)
            if t is None:
                t = cache[key] = _image_time(taken_at, mtime_ns)
            yield Occurrence(shot_photo_id(image_id, shot), person_id, t)

    def person_names(self) -> Mapping[int, str]:
        return self._names

    def thumbnail(self, person_id: int) -> np.ndarray | None:
        """The stored thumbnail of the person's best-quality face, as BGR."""
        faces = sorted(self.store.person_faces(person_id), key=lambda f: (-f.quality, f.id))
        for face in faces[:3]:
            data = self.store.thumbnail(face.id)
            if data:
                img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if img is not None:
                    return img
        return None

    def photo_paths(self, photo_ids: Sequence[int]) -> dict[int, str]:
        out = {}
        for pid in photo_ids:
            image_id, shot = shot_of(int(pid))
            img = self.store.get_image(image_id)
            if img is not None:
                out[int(pid)] = img.path if shot is None else f"{img.path}#shot={shot}"
        return out


def open_catalog(library: str | Path, include_hidden: bool = False,
                 exact_dates: bool = False) -> CatalogOccurrences:
    """Occurrences of the library folder ``library`` (which must hold a catalog)."""
    from ..store import CATALOG_FILE

    path = Path(library) / CATALOG_FILE
    if not path.is_file():
        raise NotFoundError(f"{library}: no catalog here ({CATALOG_FILE}); index the photos "
                             "first with `faceatlas index`")
    return CatalogOccurrences(open_store(Path(library)), include_hidden, exact_dates)
