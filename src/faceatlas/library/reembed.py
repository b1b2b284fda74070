"""Migrating a library to another recognition model.

Every stored face is embedded again from its photo with the new recognizer, aligned
with its **stored landmarks** (no detection is run, so face ids, boxes, qualities and
person links all stay). The new vectors are stored next to the old ones under the new
model id, one photo per transaction (an interrupted run resumes where it stopped: faces
that already have the new model's vector are skipped), then the vector indexes are
rebuilt. With ``drop_old`` the other models' embeddings are deleted — only when every
face got its new vector, so no face is left without one.

A photo whose file is missing, unreadable or changed since it was indexed (its content
hash differs, so the stored landmarks may not fit) is skipped and reported. Opt-out
templates cannot be migrated (the faces they average are gone): a migration to a model
for which an opted-out person has no template is refused unless ``force``; give a photo
of them with ``faceatlas optout NAME PHOTO --recognizer MODEL`` first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..alignment import align_face
from ..embedding import Recognizer
from ..errors import FaceAtlasError
from ..image import decode_bytes
from ..store import ImageRecord
from .analysis import content_hash
from .core import Library
from .rebuild import rebuild_indexes
from .scan import os_error_message

#: ``wrap(items, total, description)`` — a progress display around an iterator.
Progress = Callable[[Iterable[ImageRecord], int, str], Iterable[ImageRecord]]


@dataclass
class ReembedResult:
    """What a migration did."""

    model: str
    embedded: int = 0                 # faces given a new vector by this run
    already: int = 0                  # faces that had one (an earlier, interrupted run)
    skipped: int = 0                  # faces whose photo could not be used
    skipped_photos: list[dict[str, str]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


def _photo(rec: ImageRecord) -> tuple[np.ndarray | None, str]:
    """The decoded photo, or None and why it cannot be used."""
    try:
        with open(rec.path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return None, os_error_message(exc)
    if rec.content_hash is not None and content_hash(data) != rec.content_hash:
        return None, "changed since it was indexed: run `faceatlas index` on it first"
    try:
        return decode_bytes(data, rec.path), ""
    except FaceAtlasError as exc:
        return None, str(exc)


def reembed(library: Library, recognizer: Recognizer, drop_old: bool = False,
            force: bool = False, progress: Progress | None = None) -> ReembedResult:
    """Embed every face of ``library`` with ``recognizer`` (see module docs)."""
    start = time.perf_counter()
    store = library.store
    model = recognizer.model_id
    result = ReembedResult(model)
    if store.stats()["faces"] == 0:
        raise FaceAtlasError("the library holds no faces: run `faceatlas index FOLDER` first")
    templates = store.optout_templates()
    gap = {t.person_id for t in templates} - {t.person_id for t in templates
                                             if t.model == model}
    if gap and not force:
        raise FaceAtlasError(
            f"{len(gap)} opted-out person(s) (ids {', '.join(map(str, sorted(gap)))}) have no "
            f"template for {model}, so their faces would no longer be refused after the "
            f"migration: give a photo of each with `faceatlas optout NAME PHOTO --recognizer "
            f"{recognizer.name}`, or pass --force")
    have = set(store.face_ids(model).tolist())
    images = [r for r in store.iter_images() if r.face_count > 0]
    shown = progress(images, len(images), f"re-embedding with {recognizer.name}") \
        if progress else images
    for rec in shown:
        faces = store.faces_of_image(rec.id)
        todo = [f for f in faces if f.id not in have]
        result.already += len(faces) - len(todo)
        if not todo:
            continue
        bgr, why = (None, "a video: its tracks' embeddings are aggregates over frames; "
                    "index the video again with the new recognizer") \
            if rec.media == "video" else _photo(rec)
        if bgr is None:
            result.skipped += len(todo)
            result.skipped_photos.append({"path": rec.path, "reason": why})
            continue
        vecs = recognizer.embed_vectors([align_face(bgr, f.landmarks) for f in todo])
        store.put_embeddings(model, [f.id for f in todo], vecs)
        result.embedded += len(todo)
    if drop_old:
        if result.skipped:
            first = result.skipped_photos[0]
            raise FaceAtlasError(
                f"{result.skipped} face(s) could not be re-embedded (e.g. {first['path']}: "
                f"{first['reason']}); the old embeddings are kept: fix the photos (index "
                "them, or import with --remap) and run again, or run without --drop-old")
        for old in store.embedding_models():
            if old != model:
                result.dropped[old] = store.delete_embeddings(old)
    result.indexes = rebuild_indexes(library)
    if result.dropped:
        store.scrub()
    result.seconds = time.perf_counter() - start
    return result

