"""SQLite implementation of :class:`~faceatlas.store.base.CatalogStore`.

One file (``catalog.sqlite``) in WAL mode with foreign keys on and ``secure_delete`` on
(deleted content is overwritten with zeros, not left in free pages). Each mutating method runs
in one ``BEGIN IMMEDIATE`` transaction, so a crash (even SIGKILL) leaves either the whole
change or none of it; ``synchronous=NORMAL`` keeps that guarantee for process crashes
(after a power cut the last few commits may be lost, never half of one). SQLite errors
become :class:`CatalogError` / :class:`DiskFullError` with an actionable message.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .base import (
    ApiKey,
    AssignedBy,
    AuditEntry,
    CatalogError,
    CatalogState,
    ConstraintError,
    Decision,
    DiskFullError,
    Erasure,
    ErasureCounts,
    FaceRecord,
    ImageInfo,
    ImageRecord,
    NewFace,
    NotFace,
    OptOutTemplate,
    Person,
    RecordNotFoundError,
    SaveResult,
    StaleCatalogError,
)
from .rows import FACE_COLS, IMAGE_COLS, StoreRows
from .schema import MIGRATIONS, SCHEMA_VERSION

_CHUNK = 500  # ids per IN (...) query, below SQLite's variable limit


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of ``script``, split at the semicolons that end one (not those
    inside a trigger body)."""
    current = ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                yield current
            current = ""
    if current.strip(" \n\t;"):
        yield current


#: Tables whose row counts describe an exported catalog (:func:`catalog_file_facts`).
COUNTED_TABLES = ("images", "faces", "embeddings", "people", "decisions", "optout_templates",
                  "not_faces")


def catalog_file_facts(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Schema version, row counts (:data:`COUNTED_TABLES` present) and embedding models of
    a catalog file, read-only after an integrity check; :class:`CatalogError` when the file
    is damaged or not a catalog."""
    conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        if problems:
            raise CatalogError(f"the catalog is damaged ({problems[0]})")
        version = int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")}
        counts = {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                  for t in COUNTED_TABLES if t in tables}
        models = {m: {"dim": int(d), "embeddings": int(n)} for m, d, n in conn.execute(
            "SELECT model, MAX(dim), COUNT(*) FROM embeddings GROUP BY model ORDER BY model")}
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"the catalog cannot be read ({exc})") from None
    finally:
        conn.close()
    return {"schema_version": version, "counts": counts, "models": models}


class CatalogBusyError(CatalogError):
    """Another connection holds the catalog's write lock beyond the busy timeout, or
    SQLite refused at once to wait for it (as it does while two connections set up a new
    catalog together)."""


#: Attempts at setting up a connection (WAL mode, migrations) while another process
#: does the same; SQLite may answer "busy" at once there instead of waiting.
OPEN_ATTEMPTS = 40


class SQLiteStore(StoreRows):
    """The catalog in one SQLite file (see :class:`~faceatlas.store.base.CatalogStore`)."""

    _PH = "?"

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        # One connection, shared by the threads of this process (a server's request
        # threads): every use of it holds this lock, a transaction from BEGIN to COMMIT.
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=timeout,
                                         isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise CatalogError(f"{self.path}: cannot open the catalog ({exc})") from None
        for attempt in range(OPEN_ATTEMPTS):
            try:
                with self._errors():
                    self._conn.execute("PRAGMA foreign_keys = ON")
                    self._conn.execute("PRAGMA journal_mode = WAL")
                    self._conn.execute("PRAGMA synchronous = NORMAL")
                    self._conn.execute("PRAGMA secure_delete = ON")
                    self._migrate()
                break
            except CatalogBusyError:
                if attempt == OPEN_ATTEMPTS - 1:
                    self._conn.close()
                    raise
                time.sleep(0.05 + random.random() * 0.2)

    # -- plumbing ----------------------------------------------------------------------
    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (for diagnostics and fault-injection in tests)."""
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except sqlite3.OperationalError as exc:
            raise self._translate(exc) from None
        except sqlite3.IntegrityError as exc:
            raise ConstraintError(f"{self.path}: the change conflicts with the catalog "
                                  f"({exc}); nothing was changed") from None
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{self.path}: the catalog is damaged ({exc}); restore it "
                               "from a backup or index the photos into a new library") from None

    def _translate(self, exc: sqlite3.OperationalError) -> CatalogError:
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
            return DiskFullError(f"{self.path}: disk full while writing the catalog; free "
                                 "some space and run the command again (what was saved is kept)")
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
            return CatalogBusyError(f"{self.path}: the catalog is busy (another faceatlas "
                                    "command is writing it); try again when it has finished")
        return CatalogError(f"{self.path}: catalog error ({exc})")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row | tuple[Any, ...]]:
        with self._errors():
            return list(self._conn.execute(sql, params))

    def _migrate(self) -> None:
        self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise CatalogError(f"{self.path}: catalog schema v{version} is newer than this "
                               f"faceatlas (v{SCHEMA_VERSION}); upgrade faceatlas")
        if version == SCHEMA_VERSION:
            return
        # Foreign keys off while migrating (SQLite's procedure for rebuilding a table: a
        # dropped parent table must not cascade to its children), checked before commit.
        # The version is read again inside each transaction: another process opening the
        # same catalog may have migrated it meanwhile.
        self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            while True:
                with self._tx() as c:
                    row = c.execute("SELECT version FROM schema_version").fetchone()
                    target = int(row[0]) if row else 0
                    if target >= SCHEMA_VERSION:
                        return
                    for stmt in _statements(MIGRATIONS[target]):
                        c.execute(stmt)
                    if c.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        raise CatalogError(f"{self.path}: migration to schema v{target + 1} "
                                           "would break references; catalog left unchanged")
                    c.execute("DELETE FROM schema_version")
                    c.execute("INSERT INTO schema_version VALUES (?)", (target + 1,))
        finally:
            self._conn.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _expect(c: sqlite3.Connection, generation: int | None = None,
                state: CatalogState | None = None) -> None:
        """Inside a transaction: refuse to go on if the catalog state moved."""
        g, r = c.execute("SELECT generation, revision FROM catalog_state WHERE id = 1"
                         ).fetchone()
        now = CatalogState(int(g), int(r))
        if generation is not None and now.generation != generation:
            raise StaleCatalogError(f"the catalog changed underneath (generation {generation} "
                                    f"-> {now.generation})", now)
        if state is not None and now != state:
            raise StaleCatalogError(f"the catalog changed underneath ({state} -> {now})", now)

    def __enter__(self) -> SQLiteStore:
        return self

    def check(self) -> list[str]:
        problems = [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in self._query("PRAGMA foreign_key_check")]
        for image_id, path, expected, found in self._query(
                "SELECT i.id, i.path, i.face_count, COUNT(f.id) FROM images i "
                "LEFT JOIN faces f ON f.image_id = i.id GROUP BY i.id "
                "HAVING COUNT(f.id) != i.face_count"):
            problems.append(f"image {image_id} ({path}): {found} faces stored, {expected} "
                            "expected")
        for (face_id,) in self._query("SELECT f.id FROM faces f WHERE NOT EXISTS "
                                      "(SELECT 1 FROM embeddings e WHERE e.face_id = f.id)"):
            problems.append(f"face {face_id} has no embedding")
        return problems

    def stats(self) -> dict[str, int]:
        out = {"images": 0, "ok": 0, "noface": 0, "error": 0}
        for status, n in self._query("SELECT status, COUNT(*) FROM images GROUP BY status"):
            out[status] = n
            out["images"] += n
        for table in ("faces", "embeddings", "people", "decisions"):
            out[table] = int(self._query(f"SELECT COUNT(*) FROM {table}")[0][0])
        out["unassigned"] = int(self._query(
            "SELECT COUNT(*) FROM faces WHERE person_id IS NULL")[0][0])
        return out

    # -- images ------------------------------------------------------------------------
    def get_image(self, image_id: int) -> ImageRecord | None:
        rows = self._query(f"SELECT {IMAGE_COLS} FROM images WHERE id = ?", (image_id,))
        return self._image(rows[0]) if rows else None

    def image_by_path(self, path: str) -> ImageRecord | None:
        rows = self._query(f"SELECT {IMAGE_COLS} FROM images WHERE path = ?", (path,))
        return self._image(rows[0]) if rows else None

    def images_by_hash(self, content_hash: str) -> list[ImageRecord]:
        return [self._image(r) for r in self._query(
            f"SELECT {IMAGE_COLS} FROM images WHERE content_hash = ? ORDER BY id",
            (content_hash,))]

    def images_under(self, roots: Sequence[str]) -> list[ImageRecord]:
        out: dict[int, ImageRecord] = {}
        for root in roots:
            prefix = root.rstrip("/\\") + "/"
            for r in self._query(
                    f"SELECT {IMAGE_COLS} FROM images WHERE path = ? OR "
                    "substr(path, 1, length(?)) = ?", (root, prefix, prefix)):
                rec = self._image(r)
                out[rec.id] = rec
        return [out[k] for k in sorted(out)]

    def _face_ids_of(self, c: sqlite3.Connection, image_ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for i in range(0, len(image_ids), _CHUNK):
            part = list(image_ids[i:i + _CHUNK])
            marks = ",".join("?" * len(part))
            out += [r[0] for r in c.execute(
                f"SELECT id FROM faces WHERE image_id IN ({marks}) ORDER BY id", part)]
        return out

    def save_image(self, info: ImageInfo, faces: Sequence[NewFace],
                   expect_generation: int | None = None) -> SaveResult:
        with self._tx() as c:
            if expect_generation is not None:
                self._expect(c, generation=expect_generation)
            row = c.execute("SELECT id FROM images WHERE path = ?", (info.path,)).fetchone()
            removed: list[int] = []
            values = (*self._info_values(info), len(faces), _now(), info.media,
                      info.duration)
            if row is None:
                image_id = int(c.execute(
                    "INSERT INTO images (path, folder, album, content_hash, size, mtime_ns, "
                    "width, height, taken_at, taken_at_source, gps_lat, gps_lon, status, "
                    "error, face_count, indexed_at, media, duration) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    values).lastrowid or 0)
            else:
                image_id = int(row[0])
                removed = self._face_ids_of(c, [image_id])
                c.execute("DELETE FROM faces WHERE image_id = ?", (image_id,))
                c.execute(
                    "UPDATE images SET path=?, folder=?, album=?, content_hash=?, size=?, "
                    "mtime_ns=?, width=?, height=?, taken_at=?, taken_at_source=?, gps_lat=?, "
                    "gps_lon=?, status=?, error=?, face_count=?, indexed_at=?, media=?, duration=? "
                    "WHERE id=?",
                    (*values, image_id))
            face_ids = [self._insert_face(c, image_id, f) for f in faces]
            generation = int(c.execute("SELECT generation FROM catalog_state WHERE id = 1"
                                       ).fetchone()[0])
        return SaveResult(image_id, face_ids, removed, generation)

    @staticmethod
    def _insert_face(c: sqlite3.Connection, image_id: int, f: NewFace) -> int:
        lm = np.asarray(f.landmarks, np.float32).reshape(10)
        face_id = int(c.execute(
            "INSERT INTO faces (image_id, box_x, box_y, box_w, box_h, landmarks, det_score, "
            "quality, quality_components, thumbnail, t_start, t_end, shot) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (image_id, *(float(v) for v in f.box), lm.tobytes(), float(f.det_score),
             float(f.quality), json.dumps(f.quality_components), f.thumbnail, f.t_start,
             f.t_end, f.shot)).lastrowid or 0)
        if f.vector is not None:
            vec = np.asarray(f.vector, np.float32).reshape(-1)
            c.execute("INSERT INTO embeddings (face_id, model, dim, vector) VALUES (?,?,?,?)",
                      (face_id, f.model, vec.size, vec.tobytes()))
        return face_id

    def record_error(self, info: ImageInfo) -> int:
        with self._tx() as c:
            row = c.execute("SELECT id, status FROM images WHERE path = ?",
                            (info.path,)).fetchone()
            if row is not None and row[1] != "error":
                return int(row[0])
            if row is not None:
                c.execute("UPDATE images SET error = ?, indexed_at = ? WHERE id = ?",
                          (info.error, _now(), row[0]))
                return int(row[0])
            return int(c.execute(
                "INSERT INTO images (path, folder, album, content_hash, size, mtime_ns, width, "
                "height, taken_at, taken_at_source, gps_lat, gps_lon, status, error, "
                "face_count, indexed_at, media) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'error',?,0,?,?)",
                (*self._info_values(info)[:12], info.error, _now(), info.media)).lastrowid
                or 0)

    def relocate_image(self, image_id: int, info: ImageInfo) -> list[int]:
        with self._tx() as c:
            other = c.execute("SELECT id FROM images WHERE path = ? AND id != ?",
                              (info.path, image_id)).fetchone()
            removed: list[int] = []
            if other is not None:
                removed = self._face_ids_of(c, [int(other[0])])
                c.execute("DELETE FROM images WHERE id = ?", (other[0],))
            c.execute("UPDATE images SET path=?, folder=?, album=?, size=?, mtime_ns=? "
                      "WHERE id=?",
                      (info.path, info.folder, info.album, info.size, info.mtime_ns, image_id))
        return removed

    def delete_images(self, image_ids: Sequence[int]) -> list[int]:
        ids = [int(i) for i in image_ids]
        with self._tx() as c:
            removed = self._face_ids_of(c, ids)
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                c.execute(f"DELETE FROM images WHERE id IN ({','.join('?' * len(part))})", part)
        return removed

    # -- faces -------------------------------------------------------------------------
    @staticmethod
    def _face(row: Sequence[Any]) -> FaceRecord:
        (id_, image_id, x, y, w, h, lm, det, q, comps, person, by, t0, t1, shot) = row
        return FaceRecord(id=id_, image_id=image_id, box=(x, y, w, h),
                          landmarks=np.frombuffer(lm, np.float32).reshape(5, 2),
                          det_score=det, quality=q, quality_components=json.loads(comps),
                          person_id=person, assigned_by=by, t_start=t0, t_end=t1, shot=shot)

    def get_face(self, face_id: int) -> FaceRecord | None:
        rows = self._query(f"SELECT {FACE_COLS} FROM faces WHERE id = ?", (face_id,))
        return self._face(rows[0]) if rows else None

    def faces_of_image(self, image_id: int) -> list[FaceRecord]:
        return [self._face(r) for r in self._query(
            f"SELECT {FACE_COLS} FROM faces WHERE image_id = ? ORDER BY id", (image_id,))]

    def faces(self, face_ids: Sequence[int]) -> dict[int, FaceRecord]:
        ids = [int(i) for i in face_ids]
        out: dict[int, FaceRecord] = {}
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            for r in self._query(f"SELECT {FACE_COLS} FROM faces WHERE id IN "
                                 f"({','.join('?' * len(part))})", part):
                rec = self._face(r)
                out[rec.id] = rec
        return out

    def thumbnail(self, face_id: int) -> bytes | None:
        rows = self._query("SELECT thumbnail FROM faces WHERE id = ?", (face_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def assign_faces(self, face_ids: Sequence[int], person_id: int | None,
                     by: AssignedBy, decision: str | None = None) -> None:
        with self._tx() as c:
            for fid in face_ids:
                c.execute("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
                          (person_id, by if person_id is not None else None, int(fid)))
                if decision is not None:
                    c.execute("INSERT INTO decisions (kind, face_id, person_id, created_at) "
                              "VALUES (?,?,?,?)", (decision, int(fid), person_id, _now()))

    def apply_clustering(self, moves: Mapping[int, Sequence[int]], new_people: Sequence[int],
                         expect: CatalogState) -> dict[int, int]:
        with self._tx() as c:
            self._expect(c, state=expect)
            real: dict[int, int] = {}
            for tmp in new_people:
                real[int(tmp)] = int(c.execute(
                    "INSERT INTO people (name, notes, created_at) VALUES (NULL, '', ?)",
                    (_now(),)).lastrowid or 0)
            for target, face_ids in sorted(moves.items()):
                pid = real.get(int(target), int(target))
                for fid in face_ids:
                    c.execute("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ? "
                              "AND (assigned_by IS NULL OR assigned_by != 'user')",
                              (pid if pid >= 0 else None, "auto" if pid >= 0 else None,
                               int(fid)))
        return real

    # -- embeddings --------------------------------------------------------------------
    def embeddings(self, model: str, face_ids: Sequence[int] | None = None,
                   batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if face_ids is None:
            last = -1
            while True:
                rows = self._query("SELECT face_id, vector FROM embeddings WHERE model = ? "
                                   "AND face_id > ? ORDER BY face_id LIMIT ?",
                                   (model, last, batch))
                if not rows:
                    return
                yield self._batch(rows)
                last = int(rows[-1][0])
        ids = sorted(int(i) for i in face_ids)
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            rows = self._query(f"SELECT face_id, vector FROM embeddings WHERE model = ? AND "
                               f"face_id IN ({','.join('?' * len(part))}) ORDER BY face_id",
                               [model, *part])
            if rows:
                yield self._batch(rows)

    @staticmethod
    def _batch(rows: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.stack([np.frombuffer(r[1], np.float32) for r in rows])
        return ids, vecs

    def put_embeddings(self, model: str, face_ids: Sequence[int], vectors: np.ndarray) -> None:
        vecs = np.asarray(vectors, np.float32)
        with self._tx() as c:
            for fid, vec in zip(face_ids, vecs, strict=True):
                c.execute("INSERT OR REPLACE INTO embeddings (face_id, model, dim, vector) "
                          "VALUES (?,?,?,?)", (int(fid), model, vec.size, vec.tobytes()))

    # -- people ------------------------------------------------------------------------
    def create_person(self, name: str | None, notes: str = "") -> Person:
        if name is not None and self.person_by_name(name) is not None:
            raise ConstraintError(f"a person named '{name}' already exists")
        with self._tx() as c:
            pid = int(c.execute("INSERT INTO people (name, notes, created_at) VALUES (?,?,?)",
                                (name, notes, _now())).lastrowid or 0)
        person = self.get_person(pid)
        assert person is not None
        return person

    def get_person(self, person_id: int) -> Person | None:
        rows = self._query(f"SELECT {self._PERSON_COLS} FROM people WHERE id = ?", (person_id,))
        return self._person(rows[0]) if rows else None

    def person_by_name(self, name: str) -> Person | None:
        rows = self._query(f"SELECT {self._PERSON_COLS} FROM people WHERE name = ?", (name,))
        return self._person(rows[0]) if rows else None

    def update_person(self, person_id: int, *, name: str | None = None,
                      notes: str | None = None, hidden: bool | None = None,
                      do_not_recognise: bool | None = None) -> Person:
        fields = {"name": name, "notes": notes, "hidden": hidden,
                  "do_not_recognise": do_not_recognise}
        changes = {k: v for k, v in fields.items() if v is not None}
        if self.get_person(person_id) is None:
            raise RecordNotFoundError(f"no person with id {person_id}")
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            try:
                with self._tx() as c:
                    c.execute(f"UPDATE people SET {sets} WHERE id = ?",
                              (*changes.values(), person_id))
            except CatalogError as exc:
                if "UNIQUE" in str(exc):
                    raise ConstraintError(f"a person named '{name}' already exists") from None
                raise
        person = self.get_person(person_id)
        assert person is not None
        return person

    def person_faces(self, person_id: int) -> list[FaceRecord]:
        return [self._face(r) for r in self._query(
            f"SELECT {FACE_COLS} FROM faces WHERE person_id = ? ORDER BY id", (person_id,))]

    # -- decisions ---------------------------------------------------------------------
    def record_decision(self, kind: str, face_id: int | None = None,
                        person_id: int | None = None,
                        other_person_id: int | None = None) -> Decision:
        with self._tx() as c:
            did = int(c.execute(
                "INSERT INTO decisions (kind, face_id, person_id, other_person_id, created_at) "
                "VALUES (?,?,?,?,?)",
                (kind, face_id, person_id, other_person_id, _now())).lastrowid or 0)
        rows = self._query(f"SELECT {self._DECISION_COLS} FROM decisions WHERE id = ?", (did,))
        return Decision(**dict(zip(self._DECISION_COLS.split(", "), rows[0], strict=True)))

    # -- privacy and maintenance -------------------------------------------------------
    @staticmethod
    def _chunks(c: sqlite3.Connection, sql: str, ids: Sequence[int],
                head: Sequence[Any] = ()) -> Iterator[sqlite3.Cursor]:
        """Run ``sql`` (with ``{marks}`` for the id list) once per chunk of ``ids``."""
        for i in range(0, len(ids), _CHUNK):
            part = list(ids[i:i + _CHUNK])
            yield c.execute(sql.format(marks=",".join("?" * len(part))), [*head, *part])

    def erase(self, erasure: Erasure) -> ErasureCounts:
        images = sorted({int(i) for i in erasure.image_ids})
        people = sorted({int(i) for i in erasure.person_ids})
        if set(people) & set(erasure.optout):
            raise ConstraintError("a person cannot be both deleted and opted out")
        with self._tx() as c:
            faces = sorted({int(i) for i in erasure.face_ids} | set(self._face_ids_of(c, images)))

            def count(sql: str, ids: Sequence[int]) -> int:
                return sum(int(cur.fetchone()[0]) for cur in self._chunks(c, sql, ids))

            n_faces = count("SELECT COUNT(*) FROM faces WHERE id IN ({marks})", faces)
            n_thumbs = count("SELECT COUNT(*) FROM faces WHERE thumbnail IS NOT NULL AND id IN "
                             "({marks})", faces)
            n_embs = count("SELECT COUNT(*) FROM embeddings WHERE face_id IN ({marks})", faces)
            n_decisions = sum(cur.rowcount for cur in self._chunks(
                c, "DELETE FROM decisions WHERE face_id IN ({marks})", faces))
            for column in ("person_id", "other_person_id"):
                n_decisions += sum(cur.rowcount for cur in self._chunks(
                    c, f"DELETE FROM decisions WHERE {column} IN ({{marks}})", people))
            for pid, templates in erasure.optout.items():
                if c.execute("SELECT 1 FROM people WHERE id = ?", (pid,)).fetchone() is None:
                    raise RecordNotFoundError(f"no person with id {pid}")
                for model, (vector, n) in templates.items():
                    vec = np.asarray(vector, np.float32).reshape(-1)
                    c.execute("INSERT OR REPLACE INTO optout_templates (person_id, model, dim, "
                              "vector, faces, created_at) VALUES (?,?,?,?,?,?)",
                              (pid, model, vec.size, vec.tobytes(), int(n), _now()))
                c.execute("UPDATE people SET do_not_recognise = 1 WHERE id = ?", (pid,))
            removed_per_image: dict[int, int] = {}
            for cur in self._chunks(c, "SELECT image_id, COUNT(*) FROM faces WHERE id IN "
                                       "({marks}) GROUP BY image_id", faces):
                for image_id, n in cur:
                    gone = removed_per_image.get(int(image_id), 0) + int(n)
                    removed_per_image[int(image_id)] = gone
            for image_id, n in removed_per_image.items():
                c.execute("UPDATE images SET face_count = face_count - ? WHERE id = ?",
                          (n, image_id))
            for table, column in (("embeddings", "face_id"), ("faces", "id")):
                for _ in self._chunks(c, f"DELETE FROM {table} WHERE {column} IN ({{marks}})",
                                      faces):
                    pass
            n_images = sum(cur.rowcount for cur in self._chunks(
                c, "DELETE FROM images WHERE id IN ({marks})", images))
            n_people = sum(cur.rowcount for cur in self._chunks(
                c, "DELETE FROM people WHERE id IN ({marks})", people))
        return ErasureCounts(faces=n_faces, embeddings=n_embs, thumbnails=n_thumbs,
                             decisions=n_decisions, images=n_images, people=n_people)

    # -- not faces -----------------------------------------------------------------------
    def mark_not_faces(self, face_ids: Sequence[int]) -> list[NotFace]:
        ids = sorted({int(i) for i in face_ids})
        out: list[NotFace] = []
        with self._tx() as c:
            rows = [r for cur in self._chunks(
                c, "SELECT f.id, f.image_id, i.content_hash, f.box_x, f.box_y, f.box_w, "
                   "f.box_h FROM faces f JOIN images i ON i.id = f.image_id "
                   "WHERE f.id IN ({marks})", ids) for r in cur]
            now = _now()
            for face_id, image_id, h, x, y, w, bh in rows:
                if h is not None:
                    rid = int(c.execute(
                        "INSERT INTO not_faces (content_hash, box_x, box_y, box_w, box_h, "
                        "face_id, created_at) VALUES (?,?,?,?,?,?,?)",
                        (h, x, y, w, bh, face_id, now)).lastrowid or 0)
                    out.append(NotFace(id=rid, content_hash=h, box=(x, y, w, bh),
                                       face_id=face_id, created_at=now))
                c.execute("UPDATE images SET face_count = face_count - 1 WHERE id = ?",
                          (image_id,))
            for image_id in {int(r[1]) for r in rows}:
                c.execute("UPDATE images SET status = 'noface' WHERE id = ? AND face_count <= 0 "
                          "AND status = 'ok'", (image_id,))
            gone = [int(r[0]) for r in rows]
            for table, column in (("decisions", "face_id"), ("embeddings", "face_id"),
                                  ("faces", "id")):
                for _ in self._chunks(c, f"DELETE FROM {table} WHERE {column} IN ({{marks}})",
                                      gone):
                    pass
        return out

    def not_faces(self, content_hash: str | None = None) -> list[NotFace]:
        cols = "id, content_hash, box_x, box_y, box_w, box_h, face_id, created_at"
        if content_hash is None:
            rows = self._query(f"SELECT {cols} FROM not_faces ORDER BY id")
        else:
            rows = self._query(f"SELECT {cols} FROM not_faces WHERE content_hash = ? "
                               "ORDER BY id", (content_hash,))
        return [self._not_face(r) for r in rows]

    def delete_not_faces(self, ids: Sequence[int]) -> list[NotFace]:
        wanted = sorted({int(i) for i in ids})
        cols = "id, content_hash, box_x, box_y, box_w, box_h, face_id, created_at"
        with self._tx() as c:
            found = [self._not_face(r) for cur in self._chunks(
                c, f"SELECT {cols} FROM not_faces WHERE id IN ({{marks}})", wanted)
                for r in cur]
            for _ in self._chunks(c, "DELETE FROM not_faces WHERE id IN ({marks})", wanted):
                pass
        return found

    def add_faces(self, image_id: int, faces: Sequence[NewFace]) -> list[int]:
        with self._tx() as c:
            if c.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone() is None:
                raise CatalogError(f"no image with id {image_id}")
            new = [self._insert_face(c, image_id, f) for f in faces]
            c.execute("UPDATE images SET face_count = face_count + ?, status = CASE WHEN "
                      "face_count + ? > 0 AND status = 'noface' THEN 'ok' ELSE status END "
                      "WHERE id = ?", (len(new), len(new), image_id))
        return new

    def scrub(self) -> bool:
        with self._errors():
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
            busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        wal = Path(str(self.path) + "-wal")
        return int(busy) == 0 and (not wal.exists() or wal.stat().st_size == 0)

    def optout_templates(self, model: str | None = None) -> list[OptOutTemplate]:
        where, params = ("WHERE model = ?", (model,)) if model is not None else ("", ())
        return [OptOutTemplate(person_id=int(pid), model=m, vector=np.frombuffer(v, np.float32),
                               faces=int(n), created_at=at)
                for pid, m, v, n, at in self._query(
                    "SELECT person_id, model, vector, faces, created_at FROM optout_templates "
                    f"{where} ORDER BY person_id, model", params)]

    def clear_optout(self, person_id: int) -> int:
        with self._tx() as c:
            n = c.execute("DELETE FROM optout_templates WHERE person_id = ?",
                          (person_id,)).rowcount
            c.execute("UPDATE people SET do_not_recognise = 0 WHERE id = ?", (person_id,))
        return int(n)

    def delete_embeddings(self, model: str) -> int:
        with self._tx() as c:
            return int(c.execute("DELETE FROM embeddings WHERE model = ?", (model,)).rowcount)

    def snapshot(self, dest: str | os.PathLike[str]) -> None:
        target_path = Path(dest)
        if target_path.exists():
            raise ConstraintError(f"{target_path}: already exists; the snapshot needs a new file")
        with self._errors():
            target = sqlite3.connect(str(target_path), isolation_level=None)
            try:
                self._conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")
                target.execute("VACUUM")  # no free page of the copy keeps deleted content
            finally:
                target.close()

    def rewrite_paths(self, old_prefix: str, new_prefix: str) -> int:
        old, new = old_prefix.rstrip("/\\"), new_prefix.rstrip("/\\")
        if not old or not new:
            raise ConstraintError("path prefixes to rewrite must not be empty or '/'")
        match = "substr(a.path, 1, length(?) + 1) = ? || '/'"
        with self._tx() as c:
            clash = c.execute(f"SELECT b.path FROM images a JOIN images b ON b.path = ? || "
                              f"substr(a.path, length(?) + 1) WHERE {match} LIMIT 1",
                              (new, old, old, old)).fetchone()
            if clash is not None:
                raise ConstraintError(f"rewriting {old} to {new} would give two photos the path "
                                   f"{clash[0]}; choose other prefixes")
            return int(c.execute(
                "UPDATE images SET path = ? || substr(path, length(?) + 1), "
                "folder = ? || substr(folder, length(?) + 1) "
                f"WHERE {match.replace('a.path', 'path')}",
                (new, old, new, old, old, old)).rowcount)

    # -- service keys and audit log --------------------------------------------------------
    _KEY_COLS = "id, name, scope, prefix, key_hash, created_at, revoked_at"

    def add_api_key(self, name: str, scope: str, prefix: str, key_hash: str) -> ApiKey:
        with self._tx() as c:
            if c.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL",
                         (name,)).fetchone():
                raise ConstraintError(f"a key named '{name}' already exists; revoke it first "
                                      "or choose another name")
            now = _now()
            kid = int(c.execute("INSERT INTO api_keys (name, scope, prefix, key_hash, "
                                "created_at) VALUES (?,?,?,?,?)",
                                (name, scope, prefix, key_hash, now)).lastrowid or 0)
        return ApiKey(id=kid, name=name, scope=scope, prefix=prefix, key_hash=key_hash,
                      created_at=now)

    def api_keys(self, prefix: str | None = None, include_revoked: bool = True
                 ) -> list[ApiKey]:
        where, params = [], []
        if prefix is not None:
            where.append("prefix = ?")
            params.append(prefix)
        if not include_revoked:
            where.append("revoked_at IS NULL")
        sql = f"SELECT {self._KEY_COLS} FROM api_keys"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._api_key(r) for r in self._query(sql + " ORDER BY id", params)]

    def revoke_api_key(self, name: str) -> ApiKey | None:
        with self._tx() as c:
            row = c.execute(f"SELECT {self._KEY_COLS} FROM api_keys WHERE name = ? AND "
                            "revoked_at IS NULL", (name,)).fetchone()
            if row is None:
                return None
            now = _now()
            c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, row[0]))
        key = self._api_key(row)
        return ApiKey(id=key.id, name=key.name, scope=key.scope, prefix=key.prefix,
                      key_hash=key.key_hash, created_at=key.created_at, revoked_at=now)

    def record_audit(self, actor: str, action: str, target: str | None = None,
                     status: int | None = None, detail: str | None = None) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO audit_log (at, actor, action, target, status, detail) "
                      "VALUES (?,?,?,?,?,?)", (_now(), actor, action, target, status, detail))

    def audit_log(self, limit: int = 100, since_id: int = 0) -> list[AuditEntry]:
        rows = self._query("SELECT id, at, actor, action, target, status, detail FROM "
                           "audit_log WHERE id > ? ORDER BY id DESC LIMIT ?",
                           (since_id, limit))
        return [AuditEntry(id=int(r[0]), at=r[1], actor=r[2], action=r[3], target=r[4],
                           status=r[5], detail=r[6]) for r in rows]
