"""Library use cases: index, enroll, identify, search, status."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library import Library
    from ..library.analysis import EngineSettings
    from ..library.indexer import Analyze, Progress
    from ..store import FaceFilter


def default_workers() -> int:
    """Worker processes of an index run by default."""
    return max(1, min(8, os.cpu_count() or 1))


def parse_date(value: str | None, option: str = "date") -> str | None:
    """``YYYY-MM-DD[THH:MM:SS]`` normalised to ISO form; a clear error otherwise."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).isoformat() if "T" in value \
            else datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        raise FaceAtlasError(f"{option} '{value}' is not a date: use YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM:SS") from None


@dataclass(frozen=True)
class Scope:
    """Which library faces a query searches (every field optional)."""

    folder: str | os.PathLike[str] | None = None
    album: str | None = None
    since: str | None = None
    until: str | None = None
    person: str | None = None
    min_quality: float | None = None

    def to_filter(self, library: Library) -> FaceFilter:
        """The store filter; the person is resolved with
        :func:`~faceatlas.cluster.people.resolve_person`."""
        from ..cluster.people import resolve_person
        from ..library.scan import absolute
        from ..store import FaceFilter

        person_id = None if self.person is None else resolve_person(library.store,
                                                                    self.person).id
        return FaceFilter(folder=absolute(self.folder) if self.folder is not None else None,
                          album=self.album, since=parse_date(self.since, "--since"),
                          until=parse_date(self.until, "--until"), person=person_id,
                          min_quality=self.min_quality)


def expand_images(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Image files of ``paths`` (files as given, folders expanded recursively), in order."""
    from ..library.scan import scan

    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += [f.path for f in scan([str(path)]).files]
        elif path.is_file():
            out.append(str(path))
        else:
            raise FaceAtlasError(f"{path}: no such file or folder")
    if not out:
        raise FaceAtlasError("no image found in the given folder(s)")
    return out


def index(library: Library, paths: Sequence[str | os.PathLike[str]],
          settings: EngineSettings | None = None, workers: int = 1,
          album: str | None = None, progress: Progress | None = None,
          engine: FaceEngine | None = None, videos: bool = True,
          video_interval: float | None = None, ray: str | None = None) -> dict[str, Any]:
    """Index photo and video files and folders into the library (``videos=False`` skips
    the videos; ``ray`` analyses the photos on Ray actors, see
    :mod:`faceatlas.library.ray_ingest`): the run's counts (``interrupted`` and
    ``stopped`` say whether it ended early), the library's totals and the state of its
    vector indexes."""
    from ..library import Indexer
    from ..library.videos import VIDEO_INTERVAL

    if settings is not None:
        settings.validate()
    interval = VIDEO_INTERVAL if video_interval is None else video_interval
    summary = Indexer(library, settings, workers, album, progress=progress, engine=engine,
                      videos=videos, video_interval=interval, ray=ray).run(
                          [str(p) for p in paths])
    stats = library.store.stats()
    checks = [c.to_dict() for c in library.vectors.checks.values()]
    return {**summary.to_dict(), "library": str(library.root), "totals": stats,
            "vector_indexes": checks}


def enroll(library: Library, engine: FaceEngine, name: str,
           images: Sequence[str | os.PathLike[str]],
           min_quality: float | None = None, analyze: Analyze | None = None
           ) -> dict[str, Any]:
    """Enrol ``name`` from ``images`` (largest face of each, quality-gated). The result's
    ``enrolled`` counts the photos not refused (0: nothing was enrolled). ``analyze``
    analyses the photos elsewhere (see :class:`~faceatlas.library.Indexer`)."""
    from ..library.recognize import ENROLL_MIN_QUALITY
    from ..library.recognize import enroll as enroll_images

    threshold = ENROLL_MIN_QUALITY if min_quality is None else min_quality
    person, outcomes = enroll_images(library, name, [str(p) for p in images], engine,
                                     threshold, analyze=analyze)
    total = 0 if person is None else len(library.store.person_faces(person.id))
    return {"person": person.name if person else name.strip(),
            "person_id": person.id if person else None, "enrolled_faces": total,
            "images": [o.to_dict() for o in outcomes]}


def enrolled_count(result: dict[str, Any]) -> int:
    """Photos of an :func:`enroll` result that were not refused."""
    return sum(o["status"] != "refused" for o in result["images"])


def identify(library: Library, engine: FaceEngine, images: Sequence[str | os.PathLike[str]],
             top_k: int = 5, threshold: float | None = None, fpir: float | None = None,
             margin: float | None = None, scope: Scope | None = None
             ) -> list[dict[str, Any]]:
    """Who is in these photos (open-set): one result per image, in order."""
    from ..library.recognize import identify_many

    flt = (scope or Scope()).to_filter(library)
    results = identify_many(library, engine, list(images), top_k, threshold, fpir, flt,
                            margin)
    return [r.to_dict() for r in results]


def search(library: Library, engine: FaceEngine, image: str | os.PathLike[str],
           limit: int = 20, face_index: int | None = None, threshold: float | None = None,
           far: float | None = None, scope: Scope | None = None) -> dict[str, Any]:
    """Photos of the library that contain the face of ``image``, best first."""
    from ..library.recognize import search as search_library

    flt = (scope or Scope()).to_filter(library)
    return search_library(library, engine, image, limit, face_index, threshold, far,
                          flt).to_dict()


def status(library: Library) -> dict[str, Any]:
    """What the library holds and whether each vector index is up to date."""
    from ..library.status import library_status

    return library_status(library).to_dict()
