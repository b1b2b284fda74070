"""PostgreSQL + pgvector implementation of :class:`~faceatlas.store.base.CatalogStore`.

Chosen by URL (``FACEATLAS_STORE=postgresql://...`` or ``--store URL``); needs
``pip install 'faceatlas[postgres]'`` (psycopg and pgvector). The library folder still
holds what is local (vector index files, thumbnails cache, erasure receipts).

Concurrency: every mutating method is one transaction (READ COMMITTED). Several indexing
workers and the service may write one catalog at once: an image row is found or created
with ``INSERT ... ON CONFLICT (path) DO NOTHING`` and then locked (``FOR UPDATE``) before its
faces are replaced, so two writers of the same path serialise on that row and the second one
replaces the first one's faces (never duplicates them); ``face_count`` changes are relative
updates. Schema migrations and vector-index creation take transaction-level advisory locks.

Vectors are pgvector values; each model has a partial HNSW index (cosine) on
``vector::halfvec(dim)`` (or ``::vector(dim)``), and :meth:`PostgresStore.nearest` runs
filtered k-nearest-neighbour search in SQL.

Erasure: :meth:`erase` deletes the rows in one transaction, :meth:`scrub` runs
``VACUUM FULL`` on the tables that held them (the table files are rewritten without the dead
tuples). What PostgreSQL still keeps after that (WAL segments until recycled, base backups,
replicas, archived WAL) is outside faceatlas' reach; see docs/deploy.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FaceAtlasError
from ..extras import require
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
    FaceFilter,
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
from .pg_schema import PG_MIGRATIONS, PG_SCHEMA_VERSION
from .rows import FACE_COLS, IMAGE_COLS, StoreRows

_MIGRATION_LOCK = 0x6661636561746C31   # advisory lock keys ("faceatl1", "faceatl2")
_INDEX_LOCK = 0x6661636561746C32
URL_PREFIXES = ("postgresql://", "postgres://")
#: ``hnsw.ef_search`` of a query by the number of vectors in the catalog (up to the first
#: number, the second): HNSW finds fewer of a person's faces as the catalog grows at a
#: fixed ``ef_search`` (bench/pgvector_search.py: identity recall 0.998 at 100k and 0.984
#: at 300k with 100; at 1M 0.90 with 100, 0.93 with 200, 0.95 with 400). The 600k step is
#: interpolated, not measured.
EF_SEARCH_STEPS: tuple[tuple[float, int], ...] = ((300_000, 100), (600_000, 200),
                                                   (float("inf"), 400))
#: Environment variable that fixes ``ef_search`` for every query (1-1000).
EF_SEARCH_ENV = "FACEATLAS_PG_EF_SEARCH"


def ef_search_for(vectors: float, k: int) -> int:
    """The ``hnsw.ef_search`` of a top-``k`` query over about ``vectors`` vectors:
    ``$FACEATLAS_PG_EF_SEARCH`` when set, else :data:`EF_SEARCH_STEPS`; never below
    ``k``, never above pgvector's limit of 1000."""
    fixed = os.environ.get(EF_SEARCH_ENV, "").strip()
    if fixed:
        if not fixed.isdigit() or not 1 <= int(fixed) <= 1000:
            raise FaceAtlasError(f"{EF_SEARCH_ENV}={fixed!r}: give a whole number from 1 "
                                  "to 1000 (pgvector's hnsw.ef_search)")
        ef = int(fixed)
    else:
        ef = next(e for limit, e in EF_SEARCH_STEPS if vectors <= limit)
    return min(max(ef, int(k)), 1000)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def is_postgres_url(url: str | None) -> bool:
    """Whether ``url`` names a PostgreSQL catalog."""
    return bool(url) and str(url).startswith(URL_PREFIXES)


def redact_url(url: str) -> str:
    """The URL without its password (for messages and ``faceatlas status``)."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class PostgresStore(StoreRows):
    """The catalog in a PostgreSQL database with pgvector (see the module docs)."""

    kind = "postgres"
    _PH = "%s"

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        feature = "a PostgreSQL catalog"
        psycopg = self._pg = require("psycopg", feature)
        register_vector = require("pgvector.psycopg", feature).register_vector
        self.url = url
        self.location = redact_url(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise CatalogError(f"{self.location}: cannot connect to the catalog "
                               f"({str(exc).strip().splitlines()[0]})") from None
        with self._errors():
            self._migrate()
            register_vector(self._conn)

    # -- plumbing ----------------------------------------------------------------------
    @property
    def connection(self) -> Any:
        """The raw psycopg connection (diagnostics and tests)."""
        return self._conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = self._pg
        try:
            yield
        except psycopg.errors.DiskFull:
            raise DiskFullError(f"{self.location}: the database server's disk is full; free "
                                "some space and run the command again") from None
        except psycopg.errors.IntegrityError as exc:
            raise ConstraintError(f"{self.location}: the change conflicts with the catalog "
                                  f"({_first_line(exc)}); nothing was changed") from None
        except psycopg.errors.OperationalError as exc:
            raise CatalogError(f"{self.location}: catalog unavailable ({_first_line(exc)})"
                               ) from None
        except psycopg.Error as exc:
            raise CatalogError(f"{self.location}: catalog error ({_first_line(exc)})") from None

    @contextmanager
    def _tx(self, state: bool = True) -> Iterator[Any]:
        """One transaction. With ``state`` it first locks the ``catalog_state`` row, which
        the triggers of any delete or link change update: taking it first gives every
        writer the same lock order (state, then rows), so concurrent writers queue instead
        of deadlocking. Pure inserts and reads pass ``state=False``."""
        with self._errors(), self._conn.transaction():
            if state:
                self._conn.execute("SELECT 1 FROM catalog_state WHERE id = 1 FOR UPDATE")
            yield self._conn

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._errors():
            return list(self._conn.execute(sql, params).fetchall())

    def _migrate(self) -> None:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version "
                               "(version INTEGER NOT NULL)")
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            version = int(row[0]) if row else 0
            if version > PG_SCHEMA_VERSION:
                raise CatalogError(f"{self.location}: catalog schema v{version} is newer than "
                                   f"this faceatlas (v{PG_SCHEMA_VERSION}); upgrade faceatlas")
            for target in range(version, PG_SCHEMA_VERSION):
                self._conn.execute(PG_MIGRATIONS[target])  # the whole script, one call
                self._conn.execute("DELETE FROM schema_version")
                self._conn.execute("INSERT INTO schema_version VALUES (%s)", (target + 1,))

    def close(self) -> None:
        self._conn.close()

    @staticmethod
    def _expect(c: Any, generation: int | None = None,
                state: CatalogState | None = None) -> None:
        """Inside a transaction: refuse to go on if the catalog state moved (the row is
        locked until commit, so the state cannot move between this check and the
        commit)."""
        g, r = c.execute("SELECT generation, revision FROM catalog_state WHERE id = 1 "
                         "FOR UPDATE").fetchone()
        now = CatalogState(int(g), int(r))
        if generation is not None and now.generation != generation:
            raise StaleCatalogError(f"the catalog changed underneath (generation {generation} "
                                    f"-> {now.generation})", now)
        if state is not None and now != state:
            raise StaleCatalogError(f"the catalog changed underneath ({state} -> {now})", now)

    def __enter__(self) -> PostgresStore:
        return self

    def check(self) -> list[str]:
        problems: list[str] = []
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
            out[status] = int(n)
            out["images"] += int(n)
        for table in ("faces", "embeddings", "people", "decisions"):
            out[table] = int(self._query(f"SELECT COUNT(*) FROM {table}")[0][0])
        out["unassigned"] = int(self._query(
            "SELECT COUNT(*) FROM faces WHERE person_id IS NULL")[0][0])
        return out

    def database_bytes(self) -> int:
        """Size of the database on the server (``pg_database_size``)."""
        return int(self._query("SELECT pg_database_size(current_database())")[0][0])

    # -- images ------------------------------------------------------------------------
    def get_image(self, image_id: int) -> ImageRecord | None:
        rows = self._query(f"SELECT {IMAGE_COLS} FROM images WHERE id = %s", (image_id,))
        return self._image(rows[0]) if rows else None

    def image_by_path(self, path: str) -> ImageRecord | None:
        rows = self._query(f"SELECT {IMAGE_COLS} FROM images WHERE path = %s", (path,))
        return self._image(rows[0]) if rows else None

    def images_by_hash(self, content_hash: str) -> list[ImageRecord]:
        return [self._image(r) for r in self._query(
            f"SELECT {IMAGE_COLS} FROM images WHERE content_hash = %s ORDER BY id",
            (content_hash,))]

    def images_under(self, roots: Sequence[str]) -> list[ImageRecord]:
        out: dict[int, ImageRecord] = {}
        for root in roots:
            prefix = root.rstrip("/\\") + "/"
            for r in self._query(
                    f"SELECT {IMAGE_COLS} FROM images WHERE path = %s OR "
                    "left(path, length(%s::text)) = %s::text", (root, prefix, prefix)):
                rec = self._image(r)
                out[rec.id] = rec
        return [out[k] for k in sorted(out)]

    @staticmethod
    def _face_ids_of(c: Any, image_ids: Sequence[int]) -> list[int]:
        return [int(r[0]) for r in c.execute(
            "SELECT id FROM faces WHERE image_id = ANY(%s) ORDER BY id",
            ([int(i) for i in image_ids],))]

    _INSERT_IMAGE = ("INSERT INTO images (path, folder, album, content_hash, size, mtime_ns, "
                     "width, height, taken_at, taken_at_source, gps_lat, gps_lon, status, "
                     "error, face_count, indexed_at, media, duration) VALUES "
                     "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ")

    def save_image(self, info: ImageInfo, faces: Sequence[NewFace],
                   expect_generation: int | None = None) -> SaveResult:
        self._ensure_indexes(faces)
        with self._tx(state=expect_generation is not None) as c:
            if expect_generation is not None:
                self._expect(c, generation=expect_generation)
            values = (*self._info_values(info), len(faces), _now(), info.media,
                      info.duration)
            removed: list[int] = []
            row = c.execute(self._INSERT_IMAGE + "ON CONFLICT (path) DO NOTHING RETURNING id",
                            values).fetchone()
            if row is not None:
                image_id = int(row[0])
            else:  # the path is stored: lock the state, then its row; replace its faces
                if expect_generation is None:
                    c.execute("SELECT 1 FROM catalog_state WHERE id = 1 FOR UPDATE")
                image_id = int(c.execute("SELECT id FROM images WHERE path = %s FOR UPDATE",
                                         (info.path,)).fetchone()[0])
                removed = self._face_ids_of(c, [image_id])
                c.execute("DELETE FROM faces WHERE image_id = %s", (image_id,))
                c.execute(
                    "UPDATE images SET path=%s, folder=%s, album=%s, content_hash=%s, size=%s, "
                    "mtime_ns=%s, width=%s, height=%s, taken_at=%s, taken_at_source=%s, "
                    "gps_lat=%s, gps_lon=%s, status=%s, error=%s, face_count=%s, indexed_at=%s, "
                    "media=%s, duration=%s WHERE id=%s", (*values, image_id))
            face_ids = [self._insert_face(c, image_id, f) for f in faces]
            generation = int(c.execute("SELECT generation FROM catalog_state WHERE id = 1"
                                       ).fetchone()[0])
        return SaveResult(image_id, face_ids, removed, generation)

    @staticmethod
    def _insert_face(c: Any, image_id: int, f: NewFace) -> int:
        lm = np.asarray(f.landmarks, np.float32).reshape(10)
        face_id = int(c.execute(
            "INSERT INTO faces (image_id, box_x, box_y, box_w, box_h, landmarks, det_score, "
            "quality, quality_components, thumbnail, t_start, t_end, shot) VALUES "
            "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
            (image_id, *(float(v) for v in f.box), lm.tobytes(), float(f.det_score),
             float(f.quality), json.dumps(f.quality_components), f.thumbnail, f.t_start,
             f.t_end, f.shot)).fetchone()[0])
        if f.vector is not None:
            vec = np.asarray(f.vector, np.float32).reshape(-1)
            c.execute("INSERT INTO embeddings (face_id, model, dim, vector) "
                      "VALUES (%s,%s,%s,%s)", (face_id, f.model, vec.size, vec))
        return face_id

    def record_error(self, info: ImageInfo) -> int:
        with self._tx(state=False) as c:
            row = c.execute(self._INSERT_IMAGE + "ON CONFLICT (path) DO NOTHING RETURNING id",
                            (*self._info_values(info)[:12], "error", info.error, 0,
                             _now(), info.media, info.duration)).fetchone()
            if row is not None:
                return int(row[0])
            image_id, status = c.execute("SELECT id, status FROM images WHERE path = %s "
                                         "FOR UPDATE", (info.path,)).fetchone()
            if status == "error":
                c.execute("UPDATE images SET error = %s, indexed_at = %s WHERE id = %s",
                          (info.error, _now(), image_id))
            return int(image_id)

    def relocate_image(self, image_id: int, info: ImageInfo) -> list[int]:
        with self._tx() as c:
            other = c.execute("SELECT id FROM images WHERE path = %s AND id != %s FOR UPDATE",
                              (info.path, image_id)).fetchone()
            removed: list[int] = []
            if other is not None:
                removed = self._face_ids_of(c, [int(other[0])])
                c.execute("DELETE FROM images WHERE id = %s", (other[0],))
            c.execute("UPDATE images SET path=%s, folder=%s, album=%s, size=%s, mtime_ns=%s "
                      "WHERE id=%s",
                      (info.path, info.folder, info.album, info.size, info.mtime_ns, image_id))
        return removed

    def delete_images(self, image_ids: Sequence[int]) -> list[int]:
        ids = [int(i) for i in image_ids]
        with self._tx() as c:
            removed = self._face_ids_of(c, ids)
            c.execute("DELETE FROM images WHERE id = ANY(%s)", (ids,))
        return removed

    # -- faces -------------------------------------------------------------------------
    @staticmethod
    def _face(row: Sequence[Any]) -> FaceRecord:
        (id_, image_id, x, y, w, h, lm, det, q, comps, person, by, t0, t1, shot) = row
        return FaceRecord(id=id_, image_id=image_id, box=(x, y, w, h),
                          landmarks=np.frombuffer(bytes(lm), np.float32).reshape(5, 2),
                          det_score=det, quality=q, quality_components=json.loads(comps),
                          person_id=person, assigned_by=by, t_start=t0, t_end=t1, shot=shot)

    def get_face(self, face_id: int) -> FaceRecord | None:
        rows = self._query(f"SELECT {FACE_COLS} FROM faces WHERE id = %s", (face_id,))
        return self._face(rows[0]) if rows else None

    def faces_of_image(self, image_id: int) -> list[FaceRecord]:
        return [self._face(r) for r in self._query(
            f"SELECT {FACE_COLS} FROM faces WHERE image_id = %s ORDER BY id", (image_id,))]

    def faces(self, face_ids: Sequence[int]) -> dict[int, FaceRecord]:
        ids = [int(i) for i in face_ids]
        rows = self._query(f"SELECT {FACE_COLS} FROM faces WHERE id = ANY(%s)", (ids,))
        return {int(r[0]): self._face(r) for r in rows}

    def thumbnail(self, face_id: int) -> bytes | None:
        rows = self._query("SELECT thumbnail FROM faces WHERE id = %s", (face_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def assign_faces(self, face_ids: Sequence[int], person_id: int | None,
                     by: AssignedBy, decision: str | None = None) -> None:
        ids = [int(i) for i in face_ids]
        with self._tx() as c:
            c.execute("UPDATE faces SET person_id = %s, assigned_by = %s WHERE id = ANY(%s)",
                      (person_id, by if person_id is not None else None, ids))
            if decision is not None:
                now = _now()
                with c.cursor() as cur:
                    cur.executemany("INSERT INTO decisions (kind, face_id, person_id, "
                                    "created_at) VALUES (%s,%s,%s,%s)",
                                    [(decision, fid, person_id, now) for fid in ids])

    def apply_clustering(self, moves: Mapping[int, Sequence[int]], new_people: Sequence[int],
                         expect: CatalogState) -> dict[int, int]:
        with self._tx() as c:
            self._expect(c, state=expect)
            real: dict[int, int] = {}
            for tmp in new_people:
                real[int(tmp)] = int(c.execute(
                    "INSERT INTO people (name, notes, created_at) VALUES (NULL, '', %s) "
                    "RETURNING id", (_now(),)).fetchone()[0])
            for target, face_ids in sorted(moves.items()):
                pid = real.get(int(target), int(target))
                c.execute("UPDATE faces SET person_id = %s, assigned_by = %s WHERE id = ANY(%s) "
                          "AND (assigned_by IS NULL OR assigned_by != 'user')",
                          (pid if pid >= 0 else None, "auto" if pid >= 0 else None,
                           [int(f) for f in face_ids]))
        return real

    # -- embeddings --------------------------------------------------------------------
    def embeddings(self, model: str, face_ids: Sequence[int] | None = None,
                   batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if face_ids is None:
            last = -1
            while True:
                rows = self._query("SELECT face_id, vector FROM embeddings WHERE model = %s "
                                   "AND face_id > %s ORDER BY face_id LIMIT %s",
                                   (model, last, batch))
                if not rows:
                    return
                yield self._batch(rows)
                last = int(rows[-1][0])
        ids = sorted(int(i) for i in face_ids)
        for i in range(0, len(ids), batch):
            rows = self._query("SELECT face_id, vector FROM embeddings WHERE model = %s AND "
                               "face_id = ANY(%s) ORDER BY face_id", (model, ids[i:i + batch]))
            if rows:
                yield self._batch(rows)

    @staticmethod
    def _batch(rows: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.stack([_array(r[1]) for r in rows])
        return ids, vecs

    def put_embeddings(self, model: str, face_ids: Sequence[int], vectors: np.ndarray) -> None:
        vecs = np.asarray(vectors, np.float32)
        if len(vecs):
            self.ensure_vector_index(model, int(vecs.shape[1]))
        with self._tx() as c, c.cursor() as cur:
            cur.executemany(
                "INSERT INTO embeddings (face_id, model, dim, vector) VALUES (%s,%s,%s,%s) "
                "ON CONFLICT (face_id, model) DO UPDATE SET dim = EXCLUDED.dim, "
                "vector = EXCLUDED.vector",
                [(int(fid), model, vec.size, vec)
                 for fid, vec in zip(face_ids, vecs, strict=True)])

    def _ensure_indexes(self, faces: Sequence[NewFace]) -> None:
        for f in faces:
            if f.vector is not None:
                self.ensure_vector_index(f.model, int(np.asarray(f.vector).size))

    def ensure_vector_index(self, model: str, dim: int, kind: str = "halfvec") -> str:
        """Create (once) the HNSW index of ``model``'s vectors (cosine distance), over
        ``halfvec(dim)`` (default: 31 % fewer bytes per face than ``vector(dim)`` for the
        same identity recall at 100k faces, docs/benchmarks.md) or ``vector(dim)``; the
        table keeps the float32 vectors either way. Returns the index name; an existing
        index is kept whatever ``kind``."""
        cache: dict[str, str] = self.__dict__.setdefault("_index_names", {})
        if model in cache:
            return cache[model]
        if kind not in ("vector", "halfvec"):
            raise ConstraintError(f"unknown vector index kind {kind!r} (vector or halfvec)")
        with self._tx(state=False) as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_LOCK,))
            row = c.execute("SELECT name FROM vector_indexes WHERE model = %s",
                            (model,)).fetchone()
            if row is None:
                n = int(c.execute("SELECT COUNT(*) FROM vector_indexes").fetchone()[0])
                name = f"embeddings_hnsw_{n + 1}"
                c.execute(f"CREATE INDEX {name} ON embeddings USING hnsw "
                          f"((vector::{kind}({int(dim)})) {kind}_cosine_ops) "
                          f"WHERE model = {_literal(model)}")
                c.execute("INSERT INTO vector_indexes (model, dim, kind, name) "
                          "VALUES (%s,%s,%s,%s)", (model, dim, kind, name))
                row = (name,)
        cache[model] = str(row[0])
        return cache[model]

    def nearest(self, model: str, vector: np.ndarray, k: int = 10,
                flt: FaceFilter | None = None, ef_search: int | None = None,
                allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` faces of ``model`` closest to ``vector`` that pass ``flt`` (and are
        among ``allowed`` face ids when given): (ids int64, cosine similarities float32),
        best first, through the model's HNSW index (filter applied in SQL, with iterative
        index scans so that a selective filter still returns ``k`` faces when they
        exist). ``ef_search`` None: :func:`ef_search_for` the catalog's size (PostgreSQL's
        row estimate of the embeddings table, kept by autovacuum's ANALYZE)."""
        rows = self._query("SELECT dim, kind FROM vector_indexes WHERE model = %s", (model,))
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        dim, kind = int(rows[0][0]), str(rows[0][1])
        vec = np.asarray(vector, np.float32).reshape(-1)
        if vec.size != dim:
            raise ConstraintError(f"query vector has {vec.size} dimensions, model {model} "
                                  f"has {dim}")
        join, where, params = self._filter_sql(flt or FaceFilter())
        if allowed is not None:
            where.append("e.face_id = ANY(%s)")
            params.append([int(i) for i in np.asarray(allowed).reshape(-1)])
        expr = f"e.vector::{kind}({dim}) <=> %s::{kind}({dim})"
        joined = any(not w.startswith("e.") for w in where)
        sql = (f"SELECT e.face_id, 1 - ({expr}) FROM embeddings e "
               + ("JOIN faces f ON f.id = e.face_id JOIN images i ON i.id = f.image_id"
                  f"{join} " if joined else "")
               + f"WHERE {' AND '.join([f'e.model = {_literal(model)}', *where])} "
               f"ORDER BY {expr} LIMIT %s")
        with self._tx(state=False) as c:
            if ef_search is None:
                est = c.execute("SELECT reltuples FROM pg_class "
                                "WHERE oid = 'embeddings'::regclass").fetchone()
                ef_search = ef_search_for(max(float(est[0]) if est else 0.0, 0.0), k)
            c.execute(f"SET LOCAL hnsw.ef_search = {min(max(int(ef_search), int(k)), 1000)}")
            c.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            out = c.execute(sql, (vec, *params, vec, int(k))).fetchall()
        out.sort(key=lambda r: -float(r[1]))
        return (np.array([r[0] for r in out], np.int64),
                np.array([r[1] for r in out], np.float32))

    def vector_index(self, model: str) -> PgVectorIndex | None:
        """``model``'s vectors as a :class:`~faceatlas.search.VectorIndex` searched in SQL
        (None while the catalog holds none of that model)."""
        rows = self._query("SELECT dim FROM vector_indexes WHERE model = %s", (model,))
        return PgVectorIndex(self, model, int(rows[0][0])) if rows else None

    # -- service keys and audit log --------------------------------------------------------
    _KEY_COLS = "id, name, scope, prefix, key_hash, created_at, revoked_at"

    def add_api_key(self, name: str, scope: str, prefix: str, key_hash: str) -> ApiKey:
        try:
            with self._tx(state=False) as c:
                row = c.execute("INSERT INTO api_keys (name, scope, prefix, key_hash, "
                                f"created_at) VALUES (%s,%s,%s,%s,%s) RETURNING {self._KEY_COLS}",
                                (name, scope, prefix, key_hash, _now())).fetchone()
        except ConstraintError:  # the unique index on active names (or the hash)
            raise ConstraintError(f"a key named '{name}' already exists; revoke it first "
                                  "or choose another name") from None
        return self._api_key(row)

    def api_keys(self, prefix: str | None = None, include_revoked: bool = True
                 ) -> list[ApiKey]:
        where: list[str] = []
        params: list[object] = []
        if prefix is not None:
            where.append("prefix = %s")
            params.append(prefix)
        if not include_revoked:
            where.append("revoked_at IS NULL")
        sql = f"SELECT {self._KEY_COLS} FROM api_keys"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._api_key(r) for r in self._query(sql + " ORDER BY id", params)]

    def revoke_api_key(self, name: str) -> ApiKey | None:
        with self._tx(state=False) as c:
            row = c.execute(f"UPDATE api_keys SET revoked_at = %s WHERE name = %s AND "
                            f"revoked_at IS NULL RETURNING {self._KEY_COLS}",
                            (_now(), name)).fetchone()
        return None if row is None else self._api_key(row)

    def record_audit(self, actor: str, action: str, target: str | None = None,
                     status: int | None = None, detail: str | None = None) -> None:
        with self._tx(state=False) as c:
            c.execute("INSERT INTO audit_log (at, actor, action, target, status, detail) "
                      "VALUES (%s,%s,%s,%s,%s,%s)", (_now(), actor, action, target, status,
                                                     detail))

    def audit_log(self, limit: int = 100, since_id: int = 0) -> list[AuditEntry]:
        rows = self._query("SELECT id, at, actor, action, target, status, detail FROM "
                           "audit_log WHERE id > %s ORDER BY id DESC LIMIT %s",
                           (since_id, limit))
        return [AuditEntry(id=int(r[0]), at=r[1], actor=r[2], action=r[3], target=r[4],
                           status=r[5], detail=r[6]) for r in rows]

    # -- people ------------------------------------------------------------------------
    def create_person(self, name: str | None, notes: str = "") -> Person:
        try:
            with self._tx() as c:
                row = c.execute(f"INSERT INTO people (name, notes, created_at) VALUES "
                                f"(%s,%s,%s) RETURNING {self._PERSON_COLS}",
                                (name, notes, _now())).fetchone()
        except ConstraintError:
            raise ConstraintError(f"a person named '{name}' already exists") from None
        return self._person(row)

    def get_person(self, person_id: int) -> Person | None:
        rows = self._query(f"SELECT {self._PERSON_COLS} FROM people WHERE id = %s",
                           (person_id,))
        return self._person(rows[0]) if rows else None

    def person_by_name(self, name: str) -> Person | None:
        rows = self._query(f"SELECT {self._PERSON_COLS} FROM people WHERE lower(name) = "
                           "lower(%s)", (name,))
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
            sets = ", ".join(f"{k} = %s" for k in changes)
            try:
                with self._tx() as c:
                    c.execute(f"UPDATE people SET {sets} WHERE id = %s",
                              (*changes.values(), person_id))
            except ConstraintError:
                raise ConstraintError(f"a person named '{name}' already exists") from None
        person = self.get_person(person_id)
        if person is None:
            raise RecordNotFoundError(f"no person with id {person_id}")
        return person

    def person_faces(self, person_id: int) -> list[FaceRecord]:
        return [self._face(r) for r in self._query(
            f"SELECT {FACE_COLS} FROM faces WHERE person_id = %s ORDER BY id", (person_id,))]

    # -- decisions ---------------------------------------------------------------------
    def record_decision(self, kind: str, face_id: int | None = None,
                        person_id: int | None = None,
                        other_person_id: int | None = None) -> Decision:
        with self._tx() as c:
            row = c.execute(
                "INSERT INTO decisions (kind, face_id, person_id, other_person_id, created_at) "
                f"VALUES (%s,%s,%s,%s,%s) RETURNING {self._DECISION_COLS}",
                (kind, face_id, person_id, other_person_id, _now())).fetchone()
        return Decision(**dict(zip(self._DECISION_COLS.split(", "), row, strict=True)))

    # -- privacy and maintenance -------------------------------------------------------
    def erase(self, erasure: Erasure) -> ErasureCounts:
        images = sorted({int(i) for i in erasure.image_ids})
        people = sorted({int(i) for i in erasure.person_ids})
        if set(people) & set(erasure.optout):
            raise ConstraintError("a person cannot be both deleted and opted out")
        with self._tx() as c:
            faces = sorted({int(i) for i in erasure.face_ids} | set(self._face_ids_of(c, images)))

            def one(sql: str, *params: Any) -> int:
                return int(c.execute(sql, params).fetchone()[0])

            n_faces = one("SELECT COUNT(*) FROM faces WHERE id = ANY(%s)", faces)
            n_thumbs = one("SELECT COUNT(*) FROM faces WHERE thumbnail IS NOT NULL AND "
                           "id = ANY(%s)", faces)
            n_embs = one("SELECT COUNT(*) FROM embeddings WHERE face_id = ANY(%s)", faces)
            n_decisions = c.execute("DELETE FROM decisions WHERE face_id = ANY(%s) OR "
                                    "person_id = ANY(%s) OR other_person_id = ANY(%s)",
                                    (faces, people, people)).rowcount
            for pid, templates in erasure.optout.items():
                if c.execute("SELECT 1 FROM people WHERE id = %s", (pid,)).fetchone() is None:
                    raise RecordNotFoundError(f"no person with id {pid}")
                for model, (vector, n) in templates.items():
                    vec = np.asarray(vector, np.float32).reshape(-1)
                    c.execute("INSERT INTO optout_templates (person_id, model, dim, vector, "
                              "faces, created_at) VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT "
                              "(person_id, model) DO UPDATE SET dim = EXCLUDED.dim, "
                              "vector = EXCLUDED.vector, faces = EXCLUDED.faces, "
                              "created_at = EXCLUDED.created_at",
                              (pid, model, vec.size, vec.tobytes(), int(n), _now()))
                c.execute("UPDATE people SET do_not_recognise = true WHERE id = %s", (pid,))
            c.execute("UPDATE images i SET face_count = i.face_count - g.n FROM (SELECT "
                      "image_id, COUNT(*) AS n FROM faces WHERE id = ANY(%s) GROUP BY "
                      "image_id) g WHERE i.id = g.image_id", (faces,))
            c.execute("DELETE FROM embeddings WHERE face_id = ANY(%s)", (faces,))
            c.execute("DELETE FROM faces WHERE id = ANY(%s)", (faces,))
            n_images = c.execute("DELETE FROM images WHERE id = ANY(%s)", (images,)).rowcount
            n_people = c.execute("DELETE FROM people WHERE id = ANY(%s)", (people,)).rowcount
        return ErasureCounts(faces=n_faces, embeddings=n_embs, thumbnails=n_thumbs,
                             decisions=n_decisions, images=n_images, people=n_people)

    # -- not faces -----------------------------------------------------------------------
    _NOT_FACE_COLS = "id, content_hash, box_x, box_y, box_w, box_h, face_id, created_at"

    def mark_not_faces(self, face_ids: Sequence[int]) -> list[NotFace]:
        ids = sorted({int(i) for i in face_ids})
        out: list[NotFace] = []
        with self._tx() as c:
            rows = c.execute("SELECT f.id, f.image_id, i.content_hash, f.box_x, f.box_y, "
                             "f.box_w, f.box_h FROM faces f JOIN images i ON i.id = f.image_id "
                             "WHERE f.id = ANY(%s) ORDER BY f.id FOR UPDATE OF f",
                             (ids,)).fetchall()
            now = _now()
            for face_id, image_id, h, x, y, w, bh in rows:
                if h is not None:
                    row = c.execute("INSERT INTO not_faces (content_hash, box_x, box_y, box_w, "
                                    "box_h, face_id, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s) "
                                    f"RETURNING {self._NOT_FACE_COLS}",
                                    (h, x, y, w, bh, face_id, now)).fetchone()
                    out.append(self._not_face(row))
                c.execute("UPDATE images SET face_count = face_count - 1 WHERE id = %s",
                          (image_id,))
            c.execute("UPDATE images SET status = 'noface' WHERE id = ANY(%s) AND "
                      "face_count <= 0 AND status = 'ok'", (sorted({int(r[1]) for r in rows}),))
            gone = [int(r[0]) for r in rows]
            for table, column in (("decisions", "face_id"), ("embeddings", "face_id"),
                                  ("faces", "id")):
                c.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (gone,))
        return out

    def not_faces(self, content_hash: str | None = None) -> list[NotFace]:
        if content_hash is None:
            rows = self._query(f"SELECT {self._NOT_FACE_COLS} FROM not_faces ORDER BY id")
        else:
            rows = self._query(f"SELECT {self._NOT_FACE_COLS} FROM not_faces WHERE "
                               "content_hash = %s ORDER BY id", (content_hash,))
        return [self._not_face(r) for r in rows]

    def delete_not_faces(self, ids: Sequence[int]) -> list[NotFace]:
        wanted = sorted({int(i) for i in ids})
        with self._tx() as c:
            rows = c.execute(f"DELETE FROM not_faces WHERE id = ANY(%s) RETURNING "
                             f"{self._NOT_FACE_COLS}", (wanted,)).fetchall()
        return sorted((self._not_face(r) for r in rows), key=lambda n: n.id)

    def add_faces(self, image_id: int, faces: Sequence[NewFace]) -> list[int]:
        self._ensure_indexes(faces)
        with self._tx(state=False) as c:
            if c.execute("SELECT 1 FROM images WHERE id = %s FOR UPDATE",
                         (image_id,)).fetchone() is None:
                raise CatalogError(f"no image with id {image_id}")
            new = [self._insert_face(c, image_id, f) for f in faces]
            c.execute("UPDATE images SET face_count = face_count + %s, status = CASE WHEN "
                      "face_count + %s > 0 AND status = 'noface' THEN 'ok' ELSE status END "
                      "WHERE id = %s", (len(new), len(new), image_id))
        return new

    def scrub(self) -> bool:
        """``VACUUM FULL`` of every catalog table: the table and index files are rewritten
        without dead tuples, and a ``CHECKPOINT`` is requested when the role may. Returns
        False: WAL segments written before the rewrite (and any archive, replica or
        backup) may still hold deleted rows until PostgreSQL recycles them
        (docs/deploy.md)."""
        with self._errors():
            for table in ("embeddings", "faces", "decisions", "images", "people",
                          "optout_templates", "not_faces"):
                self._conn.execute(f"VACUUM FULL {table}")
            with suppress(self._pg.errors.InsufficientPrivilege):
                self._conn.execute("CHECKPOINT")
        return False

    def optout_templates(self, model: str | None = None) -> list[OptOutTemplate]:
        where, params = ("WHERE model = %s", (model,)) if model is not None else ("", ())
        return [OptOutTemplate(person_id=int(pid), model=m,
                               vector=np.frombuffer(bytes(v), np.float32),
                               faces=int(n), created_at=at)
                for pid, m, v, n, at in self._query(
                    "SELECT person_id, model, vector, faces, created_at FROM optout_templates "
                    f"{where} ORDER BY person_id, model", params)]

    def clear_optout(self, person_id: int) -> int:
        with self._tx() as c:
            n = c.execute("DELETE FROM optout_templates WHERE person_id = %s",
                          (person_id,)).rowcount
            c.execute("UPDATE people SET do_not_recognise = false WHERE id = %s", (person_id,))
        return int(n)

    def delete_embeddings(self, model: str) -> int:
        with self._tx() as c:
            return int(c.execute("DELETE FROM embeddings WHERE model = %s", (model,)).rowcount)

    _SNAPSHOT_TABLES = (
        ("images", IMAGE_COLS),
        ("people", "id, name, notes, hidden, do_not_recognise, created_at"),
        ("faces", FACE_COLS.replace("quality_components,", "quality_components, thumbnail,")),
        ("embeddings", "face_id, model, dim, vector"),
        ("decisions", "id, kind, face_id, person_id, other_person_id, created_at"),
        ("optout_templates", "person_id, model, dim, vector, faces, created_at"),
        ("not_faces", "id, content_hash, box_x, box_y, box_w, box_h, face_id, created_at"),
    )

    def snapshot(self, dest: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the catalog to a new SQLite file ``dest`` (one
        REPEATABLE READ transaction; a portable, offline copy of a PostgreSQL catalog)."""
        from .sqlite import SQLiteStore

        target_path = Path(dest)
        if target_path.exists():
            raise ConstraintError(f"{target_path}: already exists; the snapshot needs a new file")
        target = SQLiteStore(target_path)
        try:
            tc = target.connection
            tc.execute("BEGIN IMMEDIATE")
            with self._errors(), self._conn.transaction():
                self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                for table, cols in self._SNAPSHOT_TABLES:
                    marks = ",".join("?" * len(cols.split(",")))
                    with self._conn.cursor(name=f"snap_{table}") as cur:
                        cur.execute(f"SELECT {cols} FROM {table}")
                        while rows := cur.fetchmany(2000):
                            tc.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                           [tuple(_sqlite_value(v) for v in r) for r in rows])
            tc.execute("COMMIT")
            tc.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()

    def rewrite_paths(self, old_prefix: str, new_prefix: str) -> int:
        old, new = old_prefix.rstrip("/\\"), new_prefix.rstrip("/\\")
        if not old or not new:
            raise ConstraintError("path prefixes to rewrite must not be empty or '/'")
        n = len(old)
        with self._tx() as c:
            clash = c.execute("SELECT b.path FROM images a JOIN images b ON b.path = %s || "
                              "substr(a.path, %s) WHERE left(a.path, %s) = %s LIMIT 1",
                              (new, n + 1, n + 1, old + "/")).fetchone()
            if clash is not None:
                raise ConstraintError(f"rewriting {old} to {new} would give two photos the path "
                                      f"{clash[0]}; choose other prefixes")
            return int(c.execute(
                "UPDATE images SET path = %s || substr(path, %s), "
                "folder = %s || substr(folder, %s) WHERE left(path, %s) = %s",
                (new, n + 1, new, n + 1, n + 1, old + "/")).rowcount)


class PgVectorIndex:
    """The :class:`~faceatlas.search.VectorIndex` of a model in a PostgreSQL catalog: the
    vectors and their HNSW index live in the database and follow its transactions, so
    ``add``/``remove``/``save`` have nothing to do; ``search`` runs in SQL
    (:meth:`PostgresStore.nearest`)."""

    kind = "pgvector"

    def __init__(self, store: PostgresStore, model: str, dim: int) -> None:
        self.store, self.model, self.dim = store, model, dim

    def __len__(self) -> int:
        return int(self.store._query("SELECT COUNT(*) FROM embeddings WHERE model = %s",
                                     (self.model,))[0][0])

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Nothing to do: the catalog holds the vectors."""

    def remove(self, ids: np.ndarray) -> None:
        """Nothing to do: deleting the faces deleted their vectors."""

    def save(self, path: Path) -> None:
        """Nothing to write: the index is in the database."""

    def ids(self) -> np.ndarray:
        return self.store.face_ids(self.model)

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, np.float32).reshape(-1, self.dim)
        sims = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        for row, vec in enumerate(q):
            found, s = self.store.nearest(self.model, vec, k, allowed=allowed)
            ids[row, :len(found)], sims[row, :len(found)] = found, s
        return sims, ids


def _array(value: Any) -> np.ndarray:
    """A pgvector value (``Vector``/``HalfVector`` or ndarray) as float32."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, np.float32)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _literal(text: str) -> str:
    """``text`` as an SQL string literal (index predicates cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, np.ndarray) or hasattr(value, "to_numpy"):
        return _array(value).tobytes()
    if isinstance(value, memoryview):
        return bytes(value)
    return value
