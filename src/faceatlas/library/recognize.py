"""Enrol people, identify faces (1:N, open set) and search photos in a library.

* :func:`enroll` indexes the given photos into the library (like ``index``), takes the
  largest face of each, refuses it when its quality is below ``min_quality`` (naming the
  weakest cue), and links it to the person with ``assigned_by='user'`` and an ``enroll``
  decision.
* :func:`identify` compares every face of an image with the faces linked to people
  (people marked ``do_not_recognise`` are left out); per face it returns the best
  similarity of each of the top-k people and decides the best one when it reaches the
  calibrated threshold, else ``unknown``.
* :func:`search` finds the library photos holding the face of an image, best first.

Filters (:class:`~faceatlas.store.FaceFilter`) become the ``allowed`` id set of the
vector search, which picks pre- or post-filtering itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np

from ..engine import FaceEngine
from ..errors import FaceAtlasError, ModelMismatchError, NoFaceError
from ..image import ImageInput, load_image
from ..store import FaceFilter, FaceRecord, Person
from ..types import Face, model_name
from ..verification import Threshold, resolve_threshold
from .analysis import EngineSettings
from .core import Library
from .indexer import Indexer
from .scan import absolute

#: Default minimum quality of an enrolment face.
ENROLL_MIN_QUALITY = 0.5
UNKNOWN = "unknown"


def person_label(person: Person) -> str:
    """A person's name, or ``person #id`` for an unnamed one."""
    return person.name or f"person #{person.id}"


# -- enrolment -------------------------------------------------------------------------
@dataclass(frozen=True)
class EnrollOutcome:
    """What happened to one enrolment photo: ``enrolled``, ``already`` or ``refused``."""

    image: str
    status: str
    reason: str = ""
    face_id: int | None = None
    quality: float | None = None
    faces: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"image": self.image, "status": self.status, "reason": self.reason,
                "face_id": self.face_id,
                "quality": None if self.quality is None else round(self.quality, 4),
                "faces_in_image": self.faces}


def quality_refusal(face: FaceRecord, min_quality: float) -> str | None:
    """Why a face is too poor to enrol (None when it passes): the score and its weakest
    cues."""
    if face.quality >= min_quality:
        return None
    cues = sorted(face.quality_components.items(), key=lambda kv: kv[1])
    weak = [f"{k} {v:.2f}" for k, v in cues if v < min_quality] or \
        [f"{k} {v:.2f}" for k, v in cues[:1]]
    return (f"face quality {face.quality:.2f} is below {min_quality:.2f} "
            f"(weakest cue: {', '.join(weak)})")


def enroll(library: Library, name: str, images: list[str | os.PathLike[str]],
           engine: FaceEngine, min_quality: float = ENROLL_MIN_QUALITY,
           notes: str = "") -> tuple[Person | None, list[EnrollOutcome]]:
    """Enrol ``name`` from ``images`` (see module docs). A new person is created with
    their first enrolled face: when every photo is refused, no person is left behind and
    the person returned is ``None`` (unless they existed before)."""
    name = name.strip()
    if not name:
        raise FaceAtlasError("the person's name is empty")
    if not images:
        raise FaceAtlasError("give at least one photo of the person")
    store = library.store
    paths = [absolute(p) for p in images]
    for raw, path in zip(images, paths, strict=True):
        if not os.path.isfile(path):
            raise FaceAtlasError(f"{raw}: no such file")
    Indexer(library, EngineSettings(), workers=0, engine=engine).run(list(paths))
    person = store.person_by_name(name)
    outcomes = []
    for path in paths:
        outcome = _enroll_one(library, person, path, min_quality)
        if outcome.status == "enrolled" and person is None:  # first accepted face
            person = store.create_person(name, notes)
            outcome = _enroll_one(library, person, path, min_quality)
        outcomes.append(outcome)
    return person, outcomes


def _enroll_one(library: Library, person: Person | None, path: str,
                min_quality: float) -> EnrollOutcome:
    """Enrol the largest face of ``path`` as ``person``; with ``person`` None, only say
    whether it would be enrolled."""
    store = library.store
    rec = store.image_by_path(path)
    if rec is None or rec.status == "error":
        reason = rec.error if rec is not None and rec.error else "could not be indexed"
        return EnrollOutcome(path, "refused", reason)
    faces = store.faces_of_image(rec.id)
    if not faces:
        return EnrollOutcome(path, "refused", "no face found")
    face = max(faces, key=lambda f: f.box[2] * f.box[3])
    refusal = quality_refusal(face, min_quality)
    if refusal is not None:
        return EnrollOutcome(path, "refused", refusal, face.id, face.quality, len(faces))
    if person is not None and face.person_id == person.id and face.assigned_by == "user":
        return EnrollOutcome(path, "already", "already enrolled", face.id, face.quality,
                             len(faces))
    if face.person_id is not None and face.assigned_by == "user":
        other = store.get_person(face.person_id)
        label = person_label(other) if other else f"#{face.person_id}"
        return EnrollOutcome(path, "refused", f"this face is already enrolled as {label}",
                             face.id, face.quality, len(faces))
    if person is not None:
        store.assign_faces([face.id], person.id, "user", decision="enroll")
    note = "" if len(faces) == 1 else f"largest of {len(faces)} faces"
    return EnrollOutcome(path, "enrolled", note, face.id, face.quality, len(faces))


def require_model(library: Library, model: str) -> None:
    """Refuse to compare faces of ``model`` with a library embedded by other models
    (embeddings of different models are never mixed)."""
    models = library.store.embedding_models()
    if models and model not in models:
        names = ", ".join(sorted({model_name(m) for m in models}))
        raise ModelMismatchError(
            f"this library's faces are embedded with {', '.join(models)}, not {model}: run "
            f"with --recognizer {names}, or migrate the library with `faceatlas reembed "
            f"--recognizer {model_name(model)}`")


# -- identification --------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    person: str
    person_id: int
    similarity: float
    face_id: int


@dataclass
class FaceIdentity:
    """Identification of one query face."""

    face: Face
    matches: list[Match] = field(default_factory=list)
    decision: str = UNKNOWN

    def to_dict(self) -> dict[str, object]:
        return {"box": [round(float(v), 2) for v in self.face.box],
                "matches": [{"person": m.person, "similarity": round(m.similarity, 6)}
                            for m in self.matches],
                "decision": self.decision}


def _query_faces(engine: FaceEngine, image: ImageInput) -> list[Face]:
    bgr = load_image(image)
    return engine.analyze(bgr)


def _best_per_group(library: Library, model: str, query: np.ndarray,
                    allowed: np.ndarray | None, groups: int, key: str,
                    floor: float | None = None) -> list[tuple[int, float, int]]:
    """(group id, best similarity, face id) of the ``groups`` best groups, where a group is
    a person (``key='person'``) or an image (``key='image'``); widens the search until
    enough groups are found, every allowed face (every face when ``allowed`` is None) is
    ranked, or the faces reached are already below ``floor``."""
    index = library.vectors.get(model)
    total = len(index) if index is not None and allowed is None else \
        (0 if allowed is None else int(allowed.size))
    if index is None or total == 0:
        return []
    k = min(total, max(groups * 10, 64))
    while True:
        sims, ids = index.search(query[None, :].astype(np.float32), k, allowed=allowed)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0]
        faces = library.store.faces([i for i, _ in hits])
        best: dict[int, tuple[float, int]] = {}
        for fid, sim in hits:
            rec = faces.get(fid)
            if rec is None:
                continue
            gid = rec.person_id if key == "person" else rec.image_id
            if gid is not None and (gid not in best or sim > best[gid][0]):
                best[gid] = (sim, fid)
        below_floor = floor is not None and bool(hits) and hits[-1][1] < floor
        if len(best) >= groups or k >= total or below_floor:
            ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:groups]
            return [(gid, sim, fid) for gid, (sim, fid) in ranked]
        k = min(total, k * 4)


@dataclass
class IdentifyResult:
    """Identification of every face of an image."""

    image: str
    model: str
    threshold: Threshold
    faces: list[FaceIdentity]

    def to_dict(self) -> dict[str, object]:
        return {"image": self.image, "model": self.model,
                "threshold": round(self.threshold.value, 6), "far": self.threshold.far,
                "faces": [f.to_dict() for f in self.faces]}


def identify(library: Library, engine: FaceEngine, image: str | os.PathLike[str],
             top_k: int = 5, threshold: float | None = None, far: float | None = None,
             flt: FaceFilter | None = None) -> IdentifyResult:
    """Who is each face of ``image``, among the library's people (see module docs)."""
    if top_k < 1:
        raise FaceAtlasError("--top-k must be at least 1")
    model = engine.model_id
    t = resolve_threshold(engine.recognizer.spec.name, threshold, far)
    store = library.store
    require_model(library, model)
    if store.face_ids(model, FaceFilter(enrolled_only=True)).size == 0:
        raise FaceAtlasError("nobody is enrolled in this library (for model "
                             f"{model}): run `faceatlas enroll NAME PHOTOS...` first")
    base = flt or FaceFilter()
    allowed = store.face_ids(model, replace(base, enrolled_only=True))
    people = {p.id: p for p in store.people()}
    out = []
    for face in _query_faces(engine, image):
        ident = FaceIdentity(face)
        for pid, sim, fid in _best_per_group(library, model, face.embedding.vector, allowed,
                                             top_k, "person"):
            ident.matches.append(Match(person_label(people[pid]), pid, sim, fid))
        if ident.matches and ident.matches[0].similarity >= t.value:
            ident.decision = ident.matches[0].person
        out.append(ident)
    return IdentifyResult(str(image), model, t, out)


# -- search ----------------------------------------------------------------------------
@dataclass
class SearchResult:
    """Library photos holding the query face, best first."""

    image: str
    model: str
    threshold: Threshold
    query: Face
    photos: list[dict[str, object]]

    def to_dict(self) -> dict[str, object]:
        return {"image": self.image, "model": self.model,
                "threshold": round(self.threshold.value, 6), "far": self.threshold.far,
                "query_box": [round(float(v), 2) for v in self.query.box],
                "photos": self.photos}


def search(library: Library, engine: FaceEngine, image: str | os.PathLike[str],
           limit: int = 20, face_index: int | None = None, threshold: float | None = None,
           far: float | None = None, flt: FaceFilter | None = None) -> SearchResult:
    """Photos of the library that contain the face of ``image`` (its largest face, or the
    ``face_index``-th by size), best first, at or above the threshold."""
    if limit < 1:
        raise FaceAtlasError("--limit must be at least 1")
    model = engine.model_id
    t = resolve_threshold(engine.recognizer.spec.name, threshold, far)
    faces = _query_faces(engine, image)
    if not faces:
        raise NoFaceError(f"{image}: no face found")
    by_size = sorted(faces, key=lambda f: -f.box[2] * f.box[3])
    if face_index is not None and not 0 <= face_index < len(by_size):
        raise FaceAtlasError(f"{image}: face {face_index} requested but the image has "
                             f"{len(by_size)} face(s) (0 is the largest)")
    query = by_size[face_index or 0]
    store = library.store
    require_model(library, model)
    if model not in store.embedding_models():
        raise FaceAtlasError(f"the library holds no faces embedded with model {model}: "
                             "index photos with the same --recognizer first")
    allowed = None if flt is None or flt.is_empty else store.face_ids(model, flt)
    ranked = _best_per_group(library, model, query.embedding.vector, allowed, limit, "image",
                             floor=t.value)
    faces_by_id = store.faces([fid for _, _, fid in ranked])
    people = {p.id: p for p in store.people()}
    photos: list[dict[str, object]] = []
    for image_id, sim, fid in ranked:
        if sim < t.value:
            break
        rec = store.get_image(image_id)
        face = faces_by_id[fid]
        if rec is None:
            continue
        person = people.get(face.person_id) if face.person_id is not None else None
        photos.append({"path": rec.path, "similarity": round(sim, 6), "face_id": fid,
                       "box": [round(float(v), 2) for v in face.box],
                       "person": person_label(person) if person else None,
                       "album": rec.album, "taken_at": rec.taken_at})
    return SearchResult(str(image), model, t, query, photos)
