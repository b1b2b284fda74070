"""The catalog interface: records and the :class:`CatalogStore` protocol.

The catalog is the source of truth of a photo library. Every caller (the ``index``,
``enroll``, ``identify`` and ``search`` commands, clustering, the relation graph) talks
to a :class:`CatalogStore`; :class:`~faceatlas.store.sqlite.SQLiteStore` is the
implementation shipped, and another backend (e.g. PostgreSQL + pgvector) plugs in by
implementing the same protocol.

Data model (one row per...):

* **image** — a file: path (unique), content hash, size, mtime, pixel size, when it was
  taken (EXIF ``DateTimeOriginal``, else the file's mtime), GPS position, folder, album,
  ``status`` (``ok`` faces found / ``noface`` / ``error`` with its message) and
  ``face_count`` (the number of face rows written with it, in the same transaction).
* **face** — one detected face of an image: box, five landmarks, detector score,
  quality (with its cues), a small JPEG thumbnail, and an optional link to a person
  (``assigned_by`` ``"user"`` for enrolments and corrections, ``"auto"`` for clustering).
  In a **video** (``media='video'``, with its ``duration``) a face row is one *track*:
  one person in one shot, with its time range (``t_start``, ``t_end``, seconds) and
  ``shot``; its box, landmarks and thumbnail are those of the track's best-quality
  face and its embedding is the track's quality-weighted mean. Nothing else of the
  video's frames is stored.
* **embedding** — the vector of a face for one recognition model; several models may
  coexist and are never mixed.
* **person** — name (unique, case-insensitive, may be empty for unnamed clusters), notes,
  ``hidden`` and ``do_not_recognise`` flags.
* **decision** — the log of user corrections (kind, face, person, other person, time),
  kept so that automatic steps can respect them.
* **opt-out template** — for a person marked ``do_not_recognise``, one unit vector per
  embedding model (the mean of their faces erased at opt-out), the only biometric data
  kept of them, used to refuse their face in photos indexed later
  (:mod:`faceatlas.privacy`).

Face and image ids are never reused, so an id always names the same face; the vector
index (derived data) is keyed by face id.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from ..errors import FaceAtlasError, NotFoundError

ImageStatus = Literal["ok", "noface", "error"]
#: What an image row holds: a photo, or a video whose faces are tracks.
MediaKind = Literal["photo", "video"]
AssignedBy = Literal["auto", "user"]

#: Decision kinds written by faceatlas; other stages may add their own strings.
DECISION_KINDS = ("enroll", "assign", "unassign", "merge", "split", "reject", "rename")


#: Where ``taken_at`` comes from (see :mod:`faceatlas.library.dates`).
DateSource = Literal["exif", "xmp", "filename", "mtime"]
#: Sources whose dates are estimates, not capture times (relations count them apart).
ESTIMATED_DATE_SOURCES = frozenset({"mtime"})


@dataclass(frozen=True, kw_only=True)
class ImageInfo:
    """What is known about an image file when it is (re)indexed."""

    path: str                       # absolute path, the file's identity in the catalog
    folder: str                     # absolute path of the parent folder
    album: str                      # parent folder name unless given
    content_hash: str | None        # blake2b-256 hex of the bytes; None if unreadable
    size: int
    mtime_ns: int
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None     # ISO 8601 local time, "YYYY-MM-DDTHH:MM:SS[+HH:MM]"
    taken_at_source: DateSource | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    status: ImageStatus = "ok"
    error: str | None = None
    media: MediaKind = "photo"
    duration: float | None = None   # seconds, videos only


@dataclass(frozen=True, kw_only=True)
class ImageRecord(ImageInfo):
    """An image row of the catalog."""

    id: int
    face_count: int = 0
    indexed_at: str = ""


@dataclass(frozen=True, kw_only=True)
class NewFace:
    """A face to store with its image: detection, quality, thumbnail and embedding."""

    box: tuple[float, float, float, float]          # x, y, w, h in pixels
    landmarks: np.ndarray                           # (5, 2) float32
    det_score: float
    quality: float
    quality_components: dict[str, float] = field(default_factory=dict)
    thumbnail: bytes | None = None                  # JPEG, ~64 px
    model: str = ""                                 # embedding model id
    vector: np.ndarray | None = None                # (dim,) float32, unit norm
    t_start: float | None = None                    # video track: first seen (s)
    t_end: float | None = None                      # video track: last seen (s)
    shot: int | None = None                         # video track: shot number


@dataclass(frozen=True, kw_only=True)
class FaceRecord:
    """A face row of the catalog (thumbnail and vectors are fetched separately)."""

    id: int
    image_id: int
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    det_score: float
    quality: float
    quality_components: dict[str, float]
    person_id: int | None
    assigned_by: AssignedBy | None
    t_start: float | None = None    # video tracks: time range (s) and shot; None in photos
    t_end: float | None = None
    shot: int | None = None


@dataclass(frozen=True, kw_only=True)
class Person:
    """A person row."""

    id: int
    name: str | None
    notes: str = ""
    hidden: bool = False
    do_not_recognise: bool = False
    created_at: str = ""

    @property
    def label(self) -> str:
        """The person's name, or ``person #ID`` for an unnamed one (see
        :func:`person_label`)."""
        return person_label(self.id, self.name)


def person_label(person_id: int, name: str | None = None) -> str:
    """How a person is shown: their name, or ``person #ID`` when unnamed. Every command
    that takes a person accepts this label back (:func:`parse_person_ref`)."""
    return name or f"person #{person_id}"


def parse_person_ref(ref: str) -> tuple[str, int | None, bool]:
    """Read a reference to a person typed by a user: ``(name, id, id_only)``.

    ``#12`` and ``person #12`` (the label of an unnamed person) mean id 12 only
    (``id_only``); any other text is a name first, and, when it is all digits, id as a
    fallback when no person has that name (so a person named ``2019`` wins over id 2019;
    write ``#2019`` for the id).
    """
    text = ref.strip()
    lowered = text.casefold()
    for prefix in ("person #", "#"):
        if lowered.startswith(prefix) and text[len(prefix):].strip().isdigit():
            return text, int(text[len(prefix):].strip()), True
    return text, (int(text) if text.isdigit() else None), False


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One logged user correction."""

    id: int
    kind: str
    face_id: int | None
    person_id: int | None
    other_person_id: int | None
    created_at: str


@dataclass(frozen=True, kw_only=True)
class FaceFilter:
    """Restrictions on which faces take part in a search (all optional, combined with AND).

    ``folder`` matches the folder and its sub-folders; ``since``/``until`` compare with
    ``taken_at`` (ISO dates or date-times, inclusive); ``person`` is a person id;
    ``enrolled_only`` keeps faces linked to a person who may be recognised.
    """

    folder: str | None = None
    album: str | None = None
    since: str | None = None
    until: str | None = None
    person: int | None = None
    min_quality: float | None = None
    enrolled_only: bool = False

    @property
    def is_empty(self) -> bool:
        return self == FaceFilter()


@dataclass(frozen=True, kw_only=True)
class Erasure:
    """What :meth:`CatalogStore.erase` removes, in one transaction.

    ``face_ids`` go with their embeddings, thumbnails and the decisions naming them (the
    images keep their other faces); ``image_ids`` go whole (every face and all metadata);
    ``person_ids`` go with every decision naming them; ``optout`` stores, for each person
    id, the templates ``{model: unit vector}`` to keep (with the number of faces each
    averages) and marks the person ``do_not_recognise``.
    """

    face_ids: Sequence[int] = ()
    image_ids: Sequence[int] = ()
    person_ids: Sequence[int] = ()
    optout: dict[int, dict[str, tuple[np.ndarray, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ErasureCounts:
    """Rows removed by :meth:`CatalogStore.erase`."""

    faces: int = 0
    embeddings: int = 0
    thumbnails: int = 0
    decisions: int = 0
    images: int = 0
    people: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True, kw_only=True)
class OptOutTemplate:
    """The template kept for a person who opted out, for one embedding model."""

    person_id: int
    model: str
    vector: np.ndarray      # (dim,) float32, unit norm
    faces: int              # faces averaged into it
    created_at: str = ""


@dataclass(frozen=True, kw_only=True)
class NotFace:
    """A detection a user marked "not a face": the photo's bytes (content hash) and the
    box; the face row itself is gone."""

    id: int
    content_hash: str
    box: tuple[float, float, float, float]
    face_id: int | None = None
    created_at: str = ""


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """A key of the REST service (the secret itself is never stored, only its hash)."""

    id: int
    name: str
    scope: str
    prefix: str
    key_hash: str
    created_at: str = ""
    revoked_at: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The key's public fields (never the hash)."""
        return {"name": self.name, "scope": self.scope, "prefix": self.prefix,
                "created_at": self.created_at, "revoked_at": self.revoked_at}


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One line of the audit log: who (key name) did what, when, with which outcome."""

    id: int
    at: str
    actor: str
    action: str
    target: str | None = None
    status: int | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action,
                "target": self.target, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class SaveResult:
    """Outcome of :meth:`CatalogStore.save_image`."""

    image_id: int
    face_ids: list[int]
    removed_face_ids: list[int]
    generation: int | None = None  # catalog generation right after this change


@dataclass(frozen=True)
class CatalogState:
    """Two counters that only grow, for processes sharing one catalog (see
    docs/architecture.md, "Coordination between processes").

    * ``generation`` grows with every committed change that removes or replaces what a
      copy held elsewhere may contain: a face or an embedding deleted (forget, opt-out,
      a re-analysed or deleted photo, "not a face", a model dropped), an embedding
      replaced, an opt-out template added, changed or deleted. Vector indexes (in memory
      or on disk) and the opt-out screen of a running ``index`` are checked against it.
      Adding faces does not move it.
    * ``revision`` grows with every committed change of people, of face-person links
      (``person_id``/``assigned_by``), of decisions, and with every face deleted.
      ``cluster`` applies its result only if it is unchanged since its read.

    A backend keeps them in the same transaction as the change (SQLite: triggers)."""

    generation: int
    revision: int


class CatalogStore(Protocol):
    """The catalog of a photo library. Each mutating method is one transaction: it is
    applied whole or not at all."""

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Close the catalog."""

    def schema_version(self) -> int:
        """The schema version the catalog is at."""

    def check(self) -> list[str]:
        """Integrity problems found (empty when the catalog is consistent)."""

    def stats(self) -> dict[str, int]:
        """Row counts: images (and per status), faces, embeddings, people, decisions, and
        ``unassigned`` faces (linked to no person)."""

    # -- images ------------------------------------------------------------------------
    def get_image(self, image_id: int) -> ImageRecord | None:
        """The image with this id."""

    def image_by_path(self, path: str) -> ImageRecord | None:
        """The image stored at this absolute path."""

    def images_by_hash(self, content_hash: str) -> list[ImageRecord]:
        """Images whose bytes have this hash (duplicates, moved files)."""

    def images_under(self, roots: Sequence[str]) -> list[ImageRecord]:
        """Images whose path is one of ``roots`` or lies inside one of them."""

    def iter_images(self) -> Iterator[ImageRecord]:
        """Every image, by id."""

    def catalog_state(self) -> CatalogState:
        """The current :class:`CatalogState`."""
        ...

    def apply_clustering(self, moves: Mapping[int, Sequence[int]], new_people: Sequence[int],
                         expect: CatalogState) -> dict[int, int]:
        """In one transaction, only if the catalog state still equals ``expect`` (else
        :class:`StaleCatalogError`, nothing changed): create one unnamed person per
        temporary id of ``new_people``, then link the faces of each ``moves`` entry to its
        key (a person id, a temporary id, or -1 for none) with ``assigned_by='auto'``
        (``None`` for -1). Faces assigned by a user are never changed. Returns
        ``{temporary id: new person id}``."""
        ...

    def save_image(self, info: ImageInfo, faces: Sequence[NewFace],
                   expect_generation: int | None = None) -> SaveResult:
        """Insert or replace (by path) an image with all its faces and embeddings, in one
        transaction. Faces previously stored for that path are deleted (their ids are
        returned so derived indexes can drop them). With ``expect_generation``, the
        transaction first checks that the catalog generation still has that value, and
        raises :class:`StaleCatalogError` (nothing written) if not."""

    def record_error(self, info: ImageInfo) -> int:
        """Store a file that could not be indexed (``status='error'``) unless the path
        already holds a good image, which is kept untouched. Returns the image id."""

    def relocate_image(self, image_id: int, info: ImageInfo) -> list[int]:
        """Give an image a new path / size / mtime (moved, renamed or touched file),
        keeping its faces and person links. A different image stored at the new path is
        deleted first; its face ids are returned."""

    def delete_images(self, image_ids: Sequence[int]) -> list[int]:
        """Delete images with their faces and embeddings; returns the deleted face ids."""

    # -- faces -------------------------------------------------------------------------
    def get_face(self, face_id: int) -> FaceRecord | None:
        """The face with this id."""

    def faces_of_image(self, image_id: int) -> list[FaceRecord]:
        """Every face of an image."""

    def faces(self, face_ids: Sequence[int]) -> dict[int, FaceRecord]:
        """Faces by id (unknown ids are left out)."""

    def thumbnail(self, face_id: int) -> bytes | None:
        """The face's JPEG thumbnail."""

    def face_ids(self, model: str, flt: FaceFilter | None = None) -> np.ndarray:
        """Ids (int64, ascending) of faces with an embedding of ``model`` that pass
        ``flt``."""

    def assign_faces(self, face_ids: Sequence[int], person_id: int | None,
                     by: AssignedBy, decision: str | None = None) -> None:
        """Link faces to a person (or unlink with None); when ``decision`` is given the
        change is logged as a decision of that kind for each face."""

    # -- embeddings --------------------------------------------------------------------
    def embedding_models(self) -> dict[str, int]:
        """Models with stored embeddings and their dimension."""

    def embeddings(self, model: str, face_ids: Sequence[int] | None = None,
                   batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids int64 (n,), vectors float32 (n, dim)) batches, by ascending id."""

    def put_embeddings(self, model: str, face_ids: Sequence[int], vectors: np.ndarray) -> None:
        """Store (or replace) embeddings of existing faces for ``model``."""

    # -- people ------------------------------------------------------------------------
    def create_person(self, name: str | None, notes: str = "") -> Person:
        """Add a person; names are unique ignoring case."""

    def get_person(self, person_id: int) -> Person | None:
        """The person with this id."""

    def person_by_name(self, name: str) -> Person | None:
        """The person with this name (case-insensitive)."""

    def people(self) -> list[Person]:
        """Every person, by id."""

    def update_person(self, person_id: int, *, name: str | None = None,
                      notes: str | None = None, hidden: bool | None = None,
                      do_not_recognise: bool | None = None) -> Person:
        """Change a person's fields (None leaves a field as is)."""

    def person_faces(self, person_id: int) -> list[FaceRecord]:
        """Faces linked to a person."""

    def person_occurrences(self, include_hidden: bool = False
                           ) -> Iterator[tuple[int, int, str | None, int, str | None, int | None]]:
        """``(image_id, person_id, taken_at, mtime_ns, taken_at_source, shot)`` of every
        face linked to a person, ordered by image (hidden people only with
        ``include_hidden``): what the relation graph is built from, in one read."""

    def images_stamp(self) -> tuple[int, ...]:
        """A cheap fingerprint of the images table (count, highest id, sum of the file
        times in ms, last indexing time as a number): it changes when a photo is added,
        removed, re-indexed, moved or touched, which the catalog's generation and revision
        counters do not follow. Caches of data built on photo dates add it to their key."""

    def person_face_rows(self) -> list[tuple[int, int, float, AssignedBy | None]]:
        """``(person id, face id, quality, assigned_by)`` of every face linked to a
        person, by person then face id: what listing every person needs, in one read."""

    # -- decisions ---------------------------------------------------------------------
    def record_decision(self, kind: str, face_id: int | None = None,
                        person_id: int | None = None,
                        other_person_id: int | None = None) -> Decision:
        """Log a user correction."""

    def decisions(self) -> list[Decision]:
        """Every logged decision, oldest first."""

    # -- not faces ---------------------------------------------------------------------
    def mark_not_faces(self, face_ids: Sequence[int]) -> list[NotFace]:
        """Record each face (its image's content hash and box) as "not a face" and delete
        the face rows with their embeddings and the decisions naming them, in one
        transaction. Unknown ids are skipped; faces of an image without a content hash
        are deleted without a record."""

    def not_faces(self, content_hash: str | None = None) -> list[NotFace]:
        """Not-a-face records, of one content hash or all, by id."""

    def delete_not_faces(self, ids: Sequence[int]) -> list[NotFace]:
        """Delete not-a-face records (undo); returns those deleted."""

    def add_faces(self, image_id: int, faces: Sequence[NewFace]) -> list[int]:
        """Add faces (with embeddings) to a stored image, keeping its other faces;
        returns the new face ids."""

    # -- privacy and maintenance -------------------------------------------------------
    def erase(self, erasure: Erasure) -> ErasureCounts:
        """Remove faces, images and people (and store opt-out templates) in one
        transaction, overwriting the deleted content (see :class:`Erasure`)."""

    def scrub(self) -> bool:
        """Leave no trace of deleted rows in the catalog's files (rebuild the file, empty
        any journal). False when another connection kept part of the journal alive."""

    def optout_templates(self, model: str | None = None) -> list[OptOutTemplate]:
        """Opt-out templates, of one model or all, by person id."""

    def clear_optout(self, person_id: int) -> int:
        """Delete a person's opt-out templates and clear ``do_not_recognise``; returns the
        number of templates deleted."""

    def delete_embeddings(self, model: str) -> int:
        """Delete every embedding of ``model``; returns how many."""

    def snapshot(self, dest: str | os.PathLike[str]) -> None:
        """Write a consistent, compact copy of the whole catalog to a new file ``dest``
        (safe while other connections write)."""

    def rewrite_paths(self, old_prefix: str, new_prefix: str) -> int:
        """Replace the ``old_prefix`` folder of image paths (and folders) with
        ``new_prefix``; returns the number of images changed."""

    def add_api_key(self, name: str, scope: str, prefix: str, key_hash: str) -> ApiKey:
        """Store a new key (its hash); a :class:`ConstraintError` when an active key
        already has this name."""

    def api_keys(self, prefix: str | None = None, include_revoked: bool = True
                 ) -> list[ApiKey]:
        """Keys, oldest first (only those whose ``prefix`` matches, when given)."""

    def revoke_api_key(self, name: str) -> ApiKey | None:
        """Revoke the active key called ``name``; None when there is none."""

    def record_audit(self, actor: str, action: str, target: str | None = None,
                     status: int | None = None, detail: str | None = None) -> None:
        """Append a line to the audit log."""

    def audit_log(self, limit: int = 100, since_id: int = 0) -> list[AuditEntry]:
        """The newest ``limit`` audit lines after ``since_id``, newest first."""


class CatalogError(FaceAtlasError):
    """The catalog cannot be opened or written (locked, corrupt, newer schema...)."""

    exit_code = 6


class StaleCatalogError(CatalogError):
    """A change conditioned on the catalog state found it moved (``state``: the current
    one); nothing was changed. The caller re-reads and tries again."""

    def __init__(self, message: str, state: CatalogState) -> None:
        super().__init__(message)
        self.state = state


class DiskFullError(CatalogError):
    """The catalog could not be written because the disk (or its size limit) is full."""

    exit_code = 11


class ConstraintError(CatalogError):
    """A change conflicts with what the catalog holds (a name already taken, a face or
    person that another change removed...): the catalog is fine, the change was not
    made."""

    exit_code = 1


class RecordNotFoundError(CatalogError, NotFoundError):
    """A change names a person (or other record) that the catalog does not hold."""

    exit_code = NotFoundError.exit_code
