""""Not a face" corrections: a user takes detections out of the library for good.

:func:`mark_not_faces` deletes the faces (from people, clustering, the vector indexes
and so from search, identify and the relation graph, which all read the catalog) and
records, per face, the photo's content hash and the box
(:meth:`~faceatlas.store.CatalogStore.mark_not_faces`). When the same bytes are
analysed again (``index`` of a changed-then-restored file, a copy at another path, an
interrupted run), :func:`screen_not_faces` drops every detection overlapping a recorded
box (IoU >= :data:`NOT_FACE_IOU`) before it is stored. :func:`undo_not_faces` deletes
records and, given an engine, analyses the photo again to bring the face back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..detection import box_iou
from ..engine import FaceEngine
from ..errors import FaceAtlasError
from ..image import decode_bytes
from ..store import CatalogStore, Erasure, NewFace, NotFace
from .analysis import to_new_face
from .core import Library

#: A new detection overlapping a not-a-face box at least this much (IoU) is dropped.
NOT_FACE_IOU = 0.5


@dataclass
class NotFaceResult:
    """What :func:`mark_not_faces` / :func:`undo_not_faces` changed."""

    face_ids: list[int] = field(default_factory=list)       # faces removed / restored
    records: list[NotFace] = field(default_factory=list)    # records written / deleted
    people_removed: list[int] = field(default_factory=list)  # people left without faces
    missing: list[str] = field(default_factory=list)        # undo: photos not re-analysed

    def to_dict(self) -> dict[str, object]:
        return {"faces": self.face_ids, "records": [r.id for r in self.records],
                "people_removed": self.people_removed, "not_reanalysed": self.missing}


def mark_not_faces(lib: Library, face_ids: Sequence[int] = (),
                   person_id: int | None = None) -> NotFaceResult:
    """Take these faces (and, with ``person_id``, every face of that person, whose
    record then goes too) out of the library and keep them out on re-index."""
    store = lib.store
    ids = sorted({int(i) for i in face_ids})
    unknown = [i for i in ids if i not in store.faces(ids)]
    if unknown:
        raise FaceAtlasError(f"no face with id {', '.join(map(str, unknown))} in the library")
    if person_id is not None:
        ids = sorted(set(ids) | {f.id for f in store.person_faces(person_id)})
    owners = {f.person_id for f in store.faces(ids).values() if f.person_id is not None}
    for model in store.embedding_models():
        lib.vectors.get(model)  # open (and check) before the catalog changes
    records = store.mark_not_faces(ids)
    lib.vectors.remove(ids)
    emptied = []
    for pid in sorted(owners | ({person_id} if person_id is not None else set())):
        person = store.get_person(pid)
        if person is not None and not store.person_faces(pid) and (
                pid == person_id or person.name is None):
            emptied.append(pid)
    if emptied:
        store.erase(Erasure(person_ids=emptied))
    return NotFaceResult(face_ids=ids, records=records, people_removed=emptied)


def screen_not_faces(store: CatalogStore, content_hash: str | None,
                     faces: Sequence[NewFace]) -> tuple[list[NewFace], int]:
    """(faces to store, number dropped): faces of a photo with these bytes that overlap
    a not-a-face record are dropped."""
    if content_hash is None or not faces:
        return list(faces), 0
    boxes = [r.box for r in store.not_faces(content_hash)]
    if not boxes:
        return list(faces), 0
    kept = [f for f in faces if max(box_iou(f.box, b) for b in boxes) < NOT_FACE_IOU]
    return kept, len(faces) - len(kept)


def undo_not_faces(lib: Library, record_ids: Sequence[int],
                   engine: FaceEngine | None = None) -> NotFaceResult:
    """Delete not-a-face records. With an ``engine``, every photo in the library with
    those bytes is analysed again and the detection at the recorded place is stored as
    a face again (unassigned); without one, it comes back when the photo is next
    analysed."""
    store = lib.store
    known = {r.id for r in store.not_faces()}
    unknown = sorted({int(i) for i in record_ids} - known)
    if unknown:
        raise FaceAtlasError(f"no not-a-face record {', '.join(map(str, unknown))}: see "
                             "`faceatlas people notface --list`")
    records = store.delete_not_faces(record_ids)
    result = NotFaceResult(records=records)
    if engine is None:
        return result
    by_hash: dict[str, list[NotFace]] = {}
    for r in records:
        by_hash.setdefault(r.content_hash, []).append(r)
    for h, recs in by_hash.items():
        for image in store.images_by_hash(h):
            try:
                with open(image.path, "rb") as fh:
                    bgr = decode_bytes(fh.read(), image.path)
            except (OSError, FaceAtlasError):
                result.missing.append(image.path)
                continue
            faces = engine.analyze_image(bgr, engine.detector.detect(bgr)).faces
            still = [r.box for r in store.not_faces(h)]
            back = [to_new_face(bgr, f) for f in faces
                    if max(box_iou(f.box, r.box) for r in recs) >= NOT_FACE_IOU
                    and max((box_iou(f.box, b) for b in still), default=0.0) < NOT_FACE_IOU]
            stored = {tuple(round(v) for v in f.box) for f in store.faces_of_image(image.id)}
            back = [f for f in back if tuple(round(v) for v in f.box) not in stored]
            if not back:
                continue
            for model in {f.model for f in back}:
                lib.vectors.get(model)
            new_ids = store.add_faces(image.id, back)
            for fid, f in zip(new_ids, back, strict=True):
                if f.vector is not None:
                    lib.vectors.add(f.model, np.array([fid], np.int64), f.vector[None])
            result.face_ids += new_ids
    return result
