"""What the SQL stores share: the column lists, the conversion of rows into records, and
the queries that read the same in every SQL dialect (with the driver's placeholder
``_PH``). Each store supplies ``_PH``, ``_query`` (run one statement, return its rows) and
``close``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .base import (
    ApiKey,
    AssignedBy,
    CatalogState,
    Decision,
    FaceFilter,
    ImageInfo,
    ImageRecord,
    NotFace,
    Person,
)

IMAGE_COLS = ("id, path, folder, album, content_hash, size, mtime_ns, width, height, taken_at, "
              "taken_at_source, gps_lat, gps_lon, status, error, face_count, indexed_at, media, "
              "duration")
FACE_COLS = ("id, image_id, box_x, box_y, box_w, box_h, landmarks, det_score, quality, "
             "quality_components, person_id, assigned_by, t_start, t_end, shot")


class StoreRows:
    """Mixin of :class:`~faceatlas.store.sqlite.SQLiteStore` and
    :class:`~faceatlas.store.postgres.PostgresStore`."""

    _PERSON_COLS = "id, name, notes, hidden, do_not_recognise, created_at"
    _DECISION_COLS = "id, kind, face_id, person_id, other_person_id, created_at"
    #: The driver's parameter placeholder (``?`` for sqlite3, ``%s`` for psycopg).
    _PH: str
    _query: Callable[..., Sequence[Any]]
    close: Callable[[], None]

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        return int(self._query("SELECT version FROM schema_version")[0][0])

    def catalog_state(self) -> CatalogState:
        generation, revision = self._query(
            "SELECT generation, revision FROM catalog_state WHERE id = 1")[0]
        return CatalogState(int(generation), int(revision))

    # -- rows into records -------------------------------------------------------------
    @staticmethod
    def _image(row: Sequence[Any]) -> ImageRecord:
        (id_, path, folder, album, h, size, mtime, w, ht, taken, src, lat, lon, status, err,
         n, at, media, duration) = row
        return ImageRecord(id=id_, path=path, folder=folder, album=album, content_hash=h,
                           size=size, mtime_ns=mtime, width=w, height=ht, taken_at=taken,
                           taken_at_source=src, gps_lat=lat, gps_lon=lon, status=status,
                           error=err, face_count=n, indexed_at=at, media=media,
                           duration=duration)

    @staticmethod
    def _info_values(info: ImageInfo) -> tuple[Any, ...]:
        return (info.path, info.folder, info.album, info.content_hash, info.size, info.mtime_ns,
                info.width, info.height, info.taken_at, info.taken_at_source, info.gps_lat,
                info.gps_lon, info.status, info.error)

    @staticmethod
    def _person(row: Sequence[Any]) -> Person:
        id_, name, notes, hidden, dnr, at = row
        return Person(id=id_, name=name, notes=notes, hidden=bool(hidden),
                      do_not_recognise=bool(dnr), created_at=at)

    @staticmethod
    def _not_face(row: Sequence[Any]) -> NotFace:
        id_, h, x, y, w, bh, face_id, created = row
        return NotFace(id=id_, content_hash=h, box=(x, y, w, bh), face_id=face_id,
                       created_at=created)

    @staticmethod
    def _api_key(row: Any) -> ApiKey:
        id_, name, scope, prefix, key_hash, created, revoked = row
        return ApiKey(id=int(id_), name=name, scope=scope, prefix=prefix, key_hash=key_hash,
                      created_at=created, revoked_at=revoked)

    # -- face filters, in the SQL both dialects read ----------------------------------------
    def _filter_sql(self, flt: FaceFilter) -> tuple[str, list[str], list[object]]:
        """(extra join, WHERE terms, params) of a face filter over ``faces f JOIN images
        i``."""
        ph = self._PH
        where: list[str] = []
        params: list[object] = []
        if flt.folder is not None:
            folder = flt.folder.rstrip("/\\")
            where.append(f"(i.folder = {ph} OR substr(i.folder, 1, length(CAST({ph} AS TEXT)))"
                         f" = CAST({ph} AS TEXT))")
            params += [folder, folder + "/", folder + "/"]
        if flt.album is not None:
            where.append(f"i.album = {ph}")
            params.append(flt.album)
        if flt.since is not None:
            where.append(f"i.taken_at >= {ph}")
            params.append(flt.since)
        if flt.until is not None:
            until = flt.until if "T" in flt.until else flt.until + "T99"  # whole last day
            where.append(f"i.taken_at <= {ph}")
            params.append(until)
        if flt.person is not None:
            where.append(f"f.person_id = {ph}")
            params.append(flt.person)
        if flt.min_quality is not None:
            where.append(f"f.quality >= {ph}")
            params.append(flt.min_quality)
        join = ""
        if flt.enrolled_only:
            join = " JOIN people p ON p.id = f.person_id"
            where.append("NOT p.do_not_recognise")
        return join, where, params

    def face_ids(self, model: str, flt: FaceFilter | None = None) -> np.ndarray:
        join, where, params = self._filter_sql(flt or FaceFilter())
        rows = self._query(
            "SELECT f.id FROM faces f JOIN images i ON i.id = f.image_id "
            f"JOIN embeddings e ON e.face_id = f.id{join} WHERE "
            f"{' AND '.join([f'e.model = {self._PH}', *where])} ORDER BY f.id",
            [model, *params])
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    # -- reads without parameters ------------------------------------------------------
    def iter_images(self) -> Iterator[ImageRecord]:
        for r in self._query(f"SELECT {IMAGE_COLS} FROM images ORDER BY id"):
            yield self._image(r)

    def embedding_models(self) -> dict[str, int]:
        return {m: int(d) for m, d in self._query(
            "SELECT model, MAX(dim) FROM embeddings GROUP BY model ORDER BY model")}

    def people(self) -> list[Person]:
        return [self._person(r) for r in
                self._query(f"SELECT {self._PERSON_COLS} FROM people ORDER BY id")]

    def person_occurrences(self, include_hidden: bool = False
                           ) -> Iterator[tuple[int, int, str | None, int, str | None, int | None]]:
        """``(image_id, person_id, taken_at, mtime_ns, taken_at_source, shot)`` of every
        face linked to a person (hidden people only with ``include_hidden``), by image."""
        hidden = "" if include_hidden else " AND NOT p.hidden"
        for r in self._query(
                "SELECT f.image_id, f.person_id, i.taken_at, i.mtime_ns, i.taken_at_source, "
                "f.shot FROM faces f JOIN images i ON i.id = f.image_id "
                "JOIN people p ON p.id = f.person_id "
                f"WHERE f.person_id IS NOT NULL{hidden} ORDER BY f.image_id, f.person_id"):
            yield (int(r[0]), int(r[1]), r[2], int(r[3]), r[4],
                   None if r[5] is None else int(r[5]))

    def images_stamp(self) -> tuple[int, ...]:
        n, top, ms, at = self._query(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(mtime_ns / 1000000), 0), "
            "COALESCE(MAX(indexed_at), '') FROM images")[0]
        return int(n), int(top), int(ms), hash(str(at))

    def person_face_rows(self) -> list[tuple[int, int, float, AssignedBy | None]]:
        return [(int(p), int(f), float(q), by) for p, f, q, by in self._query(
            "SELECT person_id, id, quality, assigned_by FROM faces "
            "WHERE person_id IS NOT NULL ORDER BY person_id, id")]

    def decisions(self) -> list[Decision]:
        return [Decision(**dict(zip(self._DECISION_COLS.split(", "), r, strict=True)))
                for r in self._query(f"SELECT {self._DECISION_COLS} FROM decisions ORDER BY id")]
