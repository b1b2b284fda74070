"""Enrol people, identify faces (1:N, open set) and search photos in a library.

* :func:`enroll` indexes the given photos into the library (like ``index``), takes the
  largest face of each, refuses it when its quality is below ``min_quality`` (naming the
  weakest cue), and links it to the person with ``assigned_by='user'`` and an ``enroll``
  decision.
* :func:`identify` (and :func:`identify_many`) compares every face of an image with the
  templates of the library's people (people marked ``do_not_recognise`` are left out):
  an open-set (1:N) decision at a target FPIR, with a margin over the runner-up and a
  size/quality gate on the query face; per face it returns the top-k people, the
  decision (a name, or ``unknown`` with a reason), the similarity and the margin.
* :func:`search` finds the library photos holding the face of an image, best first; a
  video is one item (``kind`` ``video``) with the time ranges of its matching tracks.

A video given to :func:`identify_many` is tracked as indexing does
(:mod:`.videos`): each track (one person in one shot) is one query face, its embedding
the track's aggregate, and gets the same open-set decision (threshold at the target FPIR,
margin) as a face of a photo, with its time range. Only the size/quality gate differs: a
track is judged on its evidence over its frames (:func:`track_refusal`), not on its single
best face, so a person seen over many frames of a wide shot, none of them good enough
alone, can be named; a track with too little evidence stays ``unknown`` with a reason.

Filters (:class:`~faceatlas.store.FaceFilter`) become the ``allowed`` id set of the
vector search, which picks pre- or post-filtering itself.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..cluster.templates import Gallery, PersonTemplate, person_templates
from ..engine import FaceEngine
from ..errors import FaceAtlasError, ModelMismatchError, NoFaceError
from ..image import ImageInput
from ..store import FaceFilter, FaceRecord, Person
from ..types import Face, model_name
from ..verification import Threshold, resolve_threshold
from ..verification.openset import OpenSetThreshold, resolve_openset_threshold
from ..video import Track
from .analysis import EngineSettings
from .core import Library
from .indexer import Analyze, Indexer
from .scan import absolute
from .videos import VIDEO_INTERVAL, is_video, video_tracks

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
           notes: str = "", analyze: Analyze | None = None
           ) -> tuple[Person | None, list[EnrollOutcome]]:
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
    Indexer(library, EngineSettings(), workers=0, engine=engine,
            analyze=analyze).run(list(paths))
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
#: Probe faces below this quality score are not named (decision ``unknown``, with reason).
PROBE_MIN_QUALITY = 0.35
#: Probe faces whose box is narrower or lower than this (pixels) are not named.
PROBE_MIN_SIZE = 32
#: A name needs the best person this much above the runner-up (cosine); chosen by
#: ``bench/open_set.py`` on its development split (docs/benchmarks.md).
IDENTIFY_MARGIN = 0.125


@dataclass(frozen=True)
class Match:
    """One candidate person for a face: their best similarity over template modes."""

    person: str
    person_id: int
    similarity: float


def probe_refusal(quality: float, box: tuple[float, float, float, float]) -> str | None:
    """Why a probe face is too small or too poor to be named (None when it may be)."""
    side = min(float(box[2]), float(box[3]))
    if side < PROBE_MIN_SIZE:
        return f"face too small to name ({side:.0f} px < {PROBE_MIN_SIZE} px)"
    if quality < PROBE_MIN_QUALITY:
        return f"face quality {quality:.2f} too low to name (< {PROBE_MIN_QUALITY:.2f})"
    return None


#: A video track whose best face is below the photo gate may still be named when at least
#: this many of its frames hold a face of at least :data:`PROBE_MIN_SIZE` pixels and
#: :data:`TRACK_FRAME_MIN_QUALITY` quality (2.5 s of evidence at the default sampling).
TRACK_MIN_FRAMES = 5
#: Quality a frame's face needs to count as evidence for its track (scores under 0.15
#: are faces the quality model finds hardly recognisable: tiny, blurred, profile).
TRACK_FRAME_MIN_QUALITY = 0.15


def track_evidence(track: Track, min_quality: float = TRACK_FRAME_MIN_QUALITY) -> int:
    """How many frames of ``track`` hold an embedded face of at least
    :data:`PROBE_MIN_SIZE` px and ``min_quality`` quality."""
    return sum(1 for f in track.faces if f.embedding is not None
               and min(float(f.box[2]), float(f.box[3])) >= PROBE_MIN_SIZE
               and f.quality >= min_quality)


def track_refusal(track: Track, min_frames: int = TRACK_MIN_FRAMES,
                  min_quality: float = TRACK_FRAME_MIN_QUALITY) -> str | None:
    """Why a video track is too weak to be named (None when it may be): it may when its
    best face passes the photo gate (:func:`probe_refusal`), or when at least
    ``min_frames`` of its frames are usable evidence (:func:`track_evidence`); the
    similarity decision itself (threshold, margin) is the photo's."""
    embedded = [f for f in track.faces if f.embedding is not None]
    if not embedded:
        return "no face of the track was embedded"
    best = track.best(1)[0]
    single = probe_refusal(best.quality, best.box)
    if single is None:
        return None
    usable = track_evidence(track, min_quality)
    if usable >= min_frames:
        return None
    return (f"track too weak to name ({single} for its best face) and {usable} of its "
            f"{len(track.faces)} frames hold a face of at least {PROBE_MIN_SIZE} px and "
            f"quality {min_quality:.2f} (needs {min_frames})")


def open_set_decisions(scores: np.ndarray, threshold: float, margin: float,
                       gallery: Gallery | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open-set decisions from (n, P) person scores (``gallery.people`` order): (index of
    the person named or -1, best score, margin over the runner-up; +inf without one).

    A face is named when its best score reaches ``threshold`` and leads the runner-up by
    ``margin``. With ``gallery``, the runner-up is the best person whose template does not
    itself match the best person's at ``threshold`` (:meth:`Gallery.twins`): a person
    split into two people (say a named one and an unnamed cluster) is no rival to itself.
    """
    s = np.asarray(scores, np.float32)
    n = len(s)
    if s.ndim != 2 or s.shape[1] == 0:
        return (np.full(n, -1, np.int64), np.full(n, -np.inf, np.float32),
                np.full(n, np.inf, np.float32))
    order = np.argsort(-s, axis=1, kind="stable")
    rows = np.arange(n)
    best = s[rows, order[:, 0]]
    second = s[rows, order[:, 1]] if s.shape[1] > 1 else np.full(n, -np.inf, np.float32)
    gap = best - second
    if gallery is not None and margin > 0:
        twins: dict[int, np.ndarray] = {}
        for i in np.flatnonzero((best >= threshold) & (gap < margin)):
            j = int(order[i, 0])
            if j not in twins:
                twins[j] = gallery.twins(j, threshold)
            rivals = np.where(twins[j], -np.inf, s[i])
            gap[i] = best[i] - rivals.max()
    named = (best >= threshold) & (gap >= margin)
    return np.where(named, order[:, 0], -1), best, gap


@dataclass
class FaceIdentity:
    """Identification of one query face: candidates best first, the decision (a name or
    ``unknown``), why it is unknown, and the figures it rests on."""

    face: Face
    matches: list[Match] = field(default_factory=list)
    decision: str = UNKNOWN
    person_id: int | None = None
    similarity: float | None = None
    margin: float | None = None
    reason: str = ""
    track: dict[str, object] | None = None   # video: track, shot, start, end (s), faces

    def to_dict(self) -> dict[str, object]:
        return {**(self.track or {}), "box": [round(float(v), 2) for v in self.face.box],
                "quality": round(float(self.face.quality.score), 4),
                "matches": [{"person": m.person, "person_id": m.person_id,
                             "similarity": round(m.similarity, 6)} for m in self.matches],
                "decision": self.decision, "person_id": self.person_id,
                "similarity": None if self.similarity is None else round(self.similarity, 6),
                "margin": None if self.margin is None else round(self.margin, 6),
                "reason": self.reason}


def _query_faces(engine: FaceEngine, image: ImageInput) -> list[Face]:
    # the engine decodes (in the service, a worker process does: nothing heavy here)
    return engine.analyze(str(image) if isinstance(image, os.PathLike) else image)


def _best_per_group(library: Library, model: str, query: np.ndarray,
                    allowed: np.ndarray | None, groups: int,
                    floor: float | None = None) -> list[tuple[int, float, int]]:
    """(image id, best similarity, face id) of the ``groups`` best images; widens the
    search until enough images are found, every allowed face (every face when ``allowed``
    is None) is ranked, or the faces reached are already below ``floor``."""
    library.vectors.refresh()  # an erasure elsewhere drops what this process holds
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
            gid = rec.image_id
            if gid not in best or sim > best[gid][0]:
                best[gid] = (sim, fid)
        below_floor = floor is not None and bool(hits) and hits[-1][1] < floor
        if len(best) >= groups or k >= total or below_floor:
            ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:groups]
            return [(gid, sim, fid) for gid, (sim, fid) in ranked]
        k = min(total, k * 4)


@dataclass
class IdentifyGallery:
    """The people a search compares with: their templates stacked (``gallery``), the
    1:N ``threshold`` for that many modes, and the ``margin`` required over the
    runner-up."""

    model: str
    templates: dict[int, PersonTemplate]
    gallery: Gallery
    people: dict[int, Person]
    threshold: OpenSetThreshold
    margin: float

    def identify_faces(self, faces: list[Face], top_k: int = 5,
                       refusals: Sequence[str | None] | None = None) -> list[FaceIdentity]:
        """Decide each face (see :func:`identify`). ``refusals`` replaces the photo gate
        (:func:`probe_refusal` of each face) with a reason per face, None where it may be
        named (a video's tracks: :func:`track_refusal`)."""
        if refusals is not None and len(refusals) != len(faces):
            raise ValueError("one refusal per face")
        out = [FaceIdentity(f) for f in faces]
        if not faces or not self.gallery.people:
            for ident in out:
                ident.reason = "nobody to compare with"
            return out
        scores = self.gallery.person_scores(np.stack([f.embedding.vector for f in faces]))
        named, best, gap = open_set_decisions(scores, self.threshold.value, self.margin,
                                              self.gallery)
        t = self.threshold.value
        for i, ident in enumerate(out):
            order = np.argsort(-scores[i], kind="stable")[:top_k]
            for j in order:
                pid = self.gallery.people[int(j)]
                ident.matches.append(Match(person_label(self.people[pid]), pid,
                                           float(scores[i, j])))
            ident.similarity = float(best[i])
            ident.margin = None if not np.isfinite(gap[i]) else float(gap[i])
            refusal = probe_refusal(ident.face.quality.score, ident.face.box) \
                if refusals is None else refusals[i]
            top = ident.matches[0]
            if refusal is not None:
                ident.reason = refusal
            elif named[i] >= 0:
                ident.decision, ident.person_id = top.person, top.person_id
            elif best[i] < t:
                ident.reason = f"best similarity {best[i]:.3f} is below the threshold {t:.3f}"
            else:
                ident.reason = (f"too close to call: {top.person} {top.similarity:.3f} "
                                f"leads the next person by {gap[i]:.3f} < margin "
                                f"{self.margin:.3f}")
        return out


def identify_gallery(library: Library, model: str, fpir: float | None = None,
                     threshold: float | None = None, flt: FaceFilter | None = None,
                     margin: float | None = None) -> IdentifyGallery:
    """Templates of the people who may be recognised (restricted by ``flt``) and the
    1:N threshold at ``fpir`` for their number of modes (``threshold`` overrides)."""
    store = library.store
    require_model(library, model)
    if store.face_ids(model, FaceFilter(enrolled_only=True)).size == 0:
        raise FaceAtlasError("nobody is enrolled in this library (for model "
                             f"{model}): run `faceatlas enroll NAME PHOTOS...` first")
    base = replace(flt or FaceFilter(), enrolled_only=True)
    # Cached in the Library per (model, filter) while the catalog's counters (changes of
    # people, links, decisions, deleted faces) and the set of faces taken part stay put.
    state = store.catalog_state()
    allowed = store.face_ids(model, base)
    stamp = (state.generation, state.revision, int(allowed.size),
             hashlib.blake2b(np.ascontiguousarray(allowed).tobytes(),
                             digest_size=16).hexdigest())

    def build() -> tuple[dict[int, PersonTemplate], Gallery, dict[int, Person]]:
        templates = person_templates(store, model, flt=base, recognisable_only=True)
        return templates, Gallery.of(templates), {p.id: p for p in store.people()}

    templates, gallery, people = library.memo(("identify_gallery", model, base), stamp,
                                              build)
    t = resolve_openset_threshold(model_name(model), gallery.size, fpir, threshold)
    return IdentifyGallery(model, templates, gallery, people, t,
                           IDENTIFY_MARGIN if margin is None else float(margin))


@dataclass
class IdentifyResult:
    """Identification of every face of an image."""

    image: str
    model: str
    threshold: OpenSetThreshold
    margin: float
    faces: list[FaceIdentity]
    kind: str = "photo"     # "video": each face is a track, with its time range

    def to_dict(self) -> dict[str, object]:
        t = self.threshold
        return {"image": self.image, "kind": self.kind, "model": self.model,
                "threshold": round(t.value, 6),
                "fpir": t.fpir, "threshold_source": t.source, "gallery_size": t.gallery_size,
                "margin_required": self.margin,
                **({"note": t.note} if t.note else {}),
                "faces": [f.to_dict() for f in self.faces]}


def identify_many(library: Library, engine: FaceEngine,
                  images: Sequence[str | os.PathLike[str]], top_k: int = 5,
                  threshold: float | None = None, fpir: float | None = None,
                  flt: FaceFilter | None = None, margin: float | None = None,
                  video_interval: float = VIDEO_INTERVAL) -> list[IdentifyResult]:
    """:func:`identify` for several images (the templates are built once), in order. A
    video gives one identification per track (see the module)."""
    if top_k < 1:
        raise FaceAtlasError("--top-k must be at least 1")
    g = identify_gallery(library, engine.model_id, fpir, threshold, flt, margin)
    out = []
    for image in images:
        if not isinstance(image, (str, os.PathLike)) or not is_video(image):
            out.append(IdentifyResult(str(image), g.model, g.threshold, g.margin,
                                      g.identify_faces(_query_faces(engine, image), top_k)))
            continue
        tracks = video_tracks(engine, image, video_interval)
        idents = g.identify_faces([face for _, face in tracks], top_k,
                                  refusals=[track_refusal(t) for t, _ in tracks])
        for (track, _), ident in zip(tracks, idents, strict=True):
            ident.track = {"track": track.id, "shot": track.shot,
                           "start": round(track.start, 3), "end": round(track.end, 3),
                           "frames": len(track.faces),
                           "usable_frames": track_evidence(track)}
        out.append(IdentifyResult(str(image), g.model, g.threshold, g.margin, idents,
                                  kind="video"))
    return out


def identify(library: Library, engine: FaceEngine, image: str | os.PathLike[str],
             top_k: int = 5, threshold: float | None = None, fpir: float | None = None,
             flt: FaceFilter | None = None, margin: float | None = None) -> IdentifyResult:
    """Who is each face of ``image``, among the library's people (open-set, 1:N).

    Each face is compared with every recognisable person's template
    (:mod:`faceatlas.cluster.templates`: quality-weighted modes of their faces, restricted
    by ``flt``), by the best similarity over the modes. It is named when that similarity
    reaches the 1:N threshold calibrated at ``fpir`` (default 0.01) for the number of
    modes compared (``threshold`` overrides), the best person leads the runner-up by at
    least ``margin`` (default :data:`IDENTIFY_MARGIN`), and the face is large and good
    enough (:func:`probe_refusal`); otherwise it is ``unknown`` with a reason."""
    return identify_many(library, engine, [image], top_k, threshold, fpir, flt, margin)[0]


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
    photos = search_face(library, model, query.embedding.vector, t, limit, flt)
    return SearchResult(str(image), model, t, query, photos)


def search_face(library: Library, model: str, query: np.ndarray, threshold: Threshold,
                limit: int = 20, flt: FaceFilter | None = None) -> list[dict[str, object]]:
    """The library photos holding the face embedded as ``query`` (model ``model``), best
    first, at or above ``threshold``: path, photo id, similarity, the matching face (id,
    box, person) and, for a video, its matching time ranges."""
    store = library.store
    require_model(library, model)
    if model not in store.embedding_models():
        raise FaceAtlasError(f"the library holds no faces embedded with model {model}: "
                             "index photos with the same --recognizer first")
    allowed = None if flt is None or flt.is_empty else store.face_ids(model, flt)
    ranked = _best_per_group(library, model, query, allowed, limit, floor=threshold.value)
    faces_by_id = store.faces([fid for _, _, fid in ranked])
    people = {p.id: p for p in store.people()}
    photos: list[dict[str, object]] = []
    for image_id, sim, fid in ranked:
        if sim < threshold.value:
            break
        rec = store.get_image(image_id)
        face = faces_by_id[fid]
        if rec is None:
            continue
        person = people.get(face.person_id) if face.person_id is not None else None
        item: dict[str, object] = {
            "path": rec.path, "photo": rec.id, "kind": rec.media,
            "similarity": round(sim, 6), "face_id": fid,
            "box": [round(float(v), 2) for v in face.box],
            "person": person_label(person) if person else None,
            "person_id": person.id if person else None,
            "album": rec.album, "taken_at": rec.taken_at}
        if rec.media == "video":
            item["duration"] = rec.duration
            item["ranges"] = video_ranges(library, model, rec.id, query, threshold.value,
                                          allowed)
        photos.append(item)
    return photos


def video_ranges(library: Library, model: str, image_id: int, query: np.ndarray,
                 threshold: float, allowed: np.ndarray | None = None
                 ) -> list[dict[str, object]]:
    """The time ranges (seconds) of the tracks of a video that match ``query`` at
    ``threshold``, in time order: ``{"start", "end", "similarity", "shot", "face_id"}``."""
    store = library.store
    tracks = {f.id: f for f in store.faces_of_image(image_id) if f.t_start is not None}
    ids = [i for i in sorted(tracks) if allowed is None or bool(np.isin(i, allowed))]
    out: list[tuple[float, int, dict[str, object]]] = []
    for fids, vecs in store.embeddings(model, ids):
        sims = vecs @ np.asarray(query, np.float32)
        for fid, sim in zip(fids.tolist(), sims.tolist(), strict=True):
            f = tracks[int(fid)]
            start = float(f.t_start or 0.0)
            if sim >= threshold:
                out.append((start, int(fid), {
                    "start": round(start, 3), "end": round(float(f.t_end or 0.0), 3),
                    "similarity": round(float(sim), 6), "shot": f.shot,
                    "face_id": int(fid)}))
    return [r for _, _, r in sorted(out, key=lambda x: (x[0], x[1]))]
