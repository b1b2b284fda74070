"""The catalog contract, run against both backends (SQLite and PostgreSQL + pgvector, a
real server from tests/pg_helpers.py): schema, transactions, filters, people, decisions,
failures; then what is specific to each backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceatlas.store import (
    CatalogError,
    CatalogStore,
    DiskFullError,
    Erasure,
    FaceFilter,
    ImageInfo,
    NewFace,
    SQLiteStore,
    open_store,
)
from faceatlas.store.pg_schema import PG_SCHEMA_VERSION
from faceatlas.store.schema import SCHEMA_VERSION

MODEL = "test@1"


def _vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _face(seed: int, quality: float = 0.9, model: str = MODEL) -> NewFace:
    return NewFace(box=(10.0, 20.0, 30.0, 40.0), landmarks=np.arange(10, dtype=np.float32),
                   det_score=0.95, quality=quality, quality_components={"pose": quality},
                   thumbnail=b"\xff\xd8jpeg", model=model, vector=_vec(seed))


def _info(path: str, h: str = "h", album: str | None = None, taken: str | None = None,
          status: str = "ok") -> ImageInfo:
    folder = str(Path(path).parent)
    return ImageInfo(path=path, folder=folder, album=album or Path(folder).name,
                     content_hash=h, size=100, mtime_ns=1, width=640, height=480,
                     taken_at=taken, taken_at_source="exif" if taken else None,
                     status=status)  # type: ignore[arg-type]


class Backend:
    """One catalog backend under test: ``open()`` (re)opens the same catalog."""

    def __init__(self, kind: str, tmp_path: Path, url: str | None) -> None:
        self.kind, self.tmp_path, self.url = kind, tmp_path, url

    def open(self) -> CatalogStore:
        return open_store(self.tmp_path, self.url)

    def execute(self, store: CatalogStore, sql: str, params: tuple[object, ...] = ()) -> None:
        """Raw SQL behind the interface's back (fault injection); ``?`` placeholders."""
        if self.kind == "postgres":
            store.connection.execute(sql.replace("?", "%s"), params)  # type: ignore[attr-defined]
        else:
            store.connection.execute(sql, params)  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return Backend(request.param, tmp_path, url)


@pytest.fixture()
def store(backend: Backend) -> Iterator[CatalogStore]:
    s = backend.open()
    yield s
    s.close()


def test_schema_created(store: CatalogStore, backend: Backend) -> None:
    assert store.schema_version() == (SCHEMA_VERSION if backend.kind == "sqlite"
                                      else PG_SCHEMA_VERSION)
    if isinstance(store, SQLiteStore):
        assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.save_image(_info("/p/a.jpg"), [_face(1)])
    store.close()
    again = backend.open()
    assert again.stats()["faces"] == 1 and again.check() == []
    assert again.schema_version() == store_schema_version(backend)
    again.close()


def store_schema_version(backend: Backend) -> int:
    return SCHEMA_VERSION if backend.kind == "sqlite" else PG_SCHEMA_VERSION


def test_newer_schema_is_refused(store: CatalogStore, backend: Backend) -> None:
    backend.execute(store, "UPDATE schema_version SET version = 999")
    store.close()
    with pytest.raises(CatalogError, match="newer than this faceatlas"):
        backend.open()


def test_save_image_replaces_faces_and_cascades(store: CatalogStore) -> None:
    first = store.save_image(_info("/p/a.jpg", "h1"), [_face(1), _face(2)])
    assert len(first.face_ids) == 2 and first.removed_face_ids == []
    img = store.image_by_path("/p/a.jpg")
    assert img is not None and img.face_count == 2 and img.status == "ok"
    ids, vecs = next(store.embeddings(MODEL))
    assert list(ids) == first.face_ids and np.allclose(vecs[0], _vec(1))
    second = store.save_image(_info("/p/a.jpg", "h2"), [_face(3)])
    assert second.image_id == first.image_id
    assert sorted(second.removed_face_ids) == sorted(first.face_ids)
    assert store.stats()["faces"] == 1 and store.stats()["embeddings"] == 1
    removed = store.delete_images([second.image_id])
    assert removed == second.face_ids
    assert store.stats() == {"images": 0, "ok": 0, "noface": 0, "error": 0, "faces": 0,
                             "embeddings": 0, "people": 0, "decisions": 0, "unassigned": 0}


def test_failed_save_leaves_nothing(store: CatalogStore) -> None:
    bad = NewFace(box=(0, 0, 1, 1), landmarks=np.zeros(3, np.float32), det_score=1.0,
                  quality=1.0, model=MODEL, vector=_vec(1))  # 3 landmarks: cannot be stored
    with pytest.raises(ValueError):
        store.save_image(_info("/p/a.jpg"), [_face(1), bad])
    assert store.stats()["images"] == 0 and store.stats()["faces"] == 0
    assert store.check() == []


def test_relocate_keeps_faces_and_person(store: CatalogStore) -> None:
    saved = store.save_image(_info("/p/a.jpg", "h1"), [_face(1)])
    person = store.create_person("Ada")
    store.assign_faces(saved.face_ids, person.id, "user", decision="enroll")
    other = store.save_image(_info("/q/b.jpg", "h2"), [_face(2)])
    removed = store.relocate_image(saved.image_id, _info("/q/b.jpg", "h1"))
    assert removed == other.face_ids  # the image that was at the new path is gone
    moved = store.image_by_path("/q/b.jpg")
    assert moved is not None and moved.id == saved.image_id and moved.album == "q"
    face = store.get_face(saved.face_ids[0])
    assert face is not None and face.person_id == person.id and face.assigned_by == "user"
    assert [d.kind for d in store.decisions()] == ["enroll"]


def test_record_error_never_overwrites_a_good_image(store: CatalogStore) -> None:
    saved = store.save_image(_info("/p/a.jpg"), [_face(1)])
    err = ImageInfo(path="/p/a.jpg", folder="/p", album="p", content_hash=None, size=0,
                    mtime_ns=0, status="error", error="permission denied")
    assert store.record_error(err) == saved.image_id
    rec = store.get_image(saved.image_id)
    assert rec is not None and rec.status == "ok" and rec.face_count == 1
    new_id = store.record_error(ImageInfo(**{**err.__dict__, "path": "/p/b.jpg"}))
    bad = store.get_image(new_id)
    assert bad is not None and bad.status == "error" and bad.error == "permission denied"


def test_face_filters(store: CatalogStore) -> None:
    a = store.save_image(_info("/photos/2019/a.jpg", "1", taken="2019-05-01T10:00:00"),
                         [_face(1, 0.9)])
    b = store.save_image(_info("/photos/2020/b.jpg", "2", taken="2020-07-01T10:00:00"),
                         [_face(2, 0.3)])
    c = store.save_image(_info("/other/c.jpg", "3", album="trip", taken="2021-01-01T00:00:00"),
                         [_face(3, 0.8), _face(4, 0.8, model="other@2")])
    fa, fb, fc = a.face_ids[0], b.face_ids[0], c.face_ids[0]
    ids = lambda **kw: list(store.face_ids(MODEL, FaceFilter(**kw)))  # noqa: E731
    assert ids() == [fa, fb, fc]
    assert list(store.face_ids("other@2")) == [c.face_ids[1]]  # models never mixed
    assert ids(folder="/photos") == [fa, fb]
    assert ids(folder="/photos/2019/") == [fa]
    assert ids(folder="/phot") == []
    assert ids(album="trip") == [fc]
    assert ids(since="2020-01-01") == [fb, fc]
    assert ids(until="2020-07-01") == [fa, fb]  # the whole last day counts
    assert ids(since="2019-06-01", until="2020-12-31") == [fb]
    assert ids(min_quality=0.5) == [fa, fc]
    ada, bob = store.create_person("Ada"), store.create_person("Bob")
    store.assign_faces([fa], ada.id, "user")
    store.assign_faces([fc], bob.id, "auto")
    assert ids(person=ada.id) == [fa]
    assert ids(enrolled_only=True) == [fa, fc]
    store.update_person(bob.id, do_not_recognise=True)
    assert ids(enrolled_only=True) == [fa]


def test_people_and_decisions(store: CatalogStore) -> None:
    ada = store.create_person("Ada", notes="friend")
    with pytest.raises(CatalogError, match="already exists"):
        store.create_person("ADA")
    assert store.person_by_name("ada") == ada
    unnamed = store.create_person(None)
    assert unnamed.name is None
    changed = store.update_person(unnamed.id, name="Bea", hidden=True)
    assert changed.name == "Bea" and changed.hidden and not changed.do_not_recognise
    with pytest.raises(CatalogError, match="already exists"):
        store.update_person(unnamed.id, name="Ada")
    d = store.record_decision("merge", person_id=ada.id, other_person_id=unnamed.id)
    assert d.kind == "merge" and d.other_person_id == unnamed.id
    assert [p.name for p in store.people()] == ["Ada", "Bea"]


def test_check_reports_missing_faces(store: CatalogStore, backend: Backend) -> None:
    saved = store.save_image(_info("/p/a.jpg"), [_face(1), _face(2)])
    assert store.check() == []
    backend.execute(store, "DELETE FROM faces WHERE id = ?", (saved.face_ids[0],))
    problems = store.check()
    assert any("1 faces stored, 2 expected" in p for p in problems)


def test_disk_full_is_a_clear_error_and_keeps_the_catalog(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "catalog.sqlite")  # SQLite only: its size limit
    store.save_image(_info("/p/a.jpg", "a"), [_face(1)])
    pages = store.connection.execute("PRAGMA page_count").fetchone()[0]
    store.connection.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = [NewFace(**{**_face(i).__dict__, "thumbnail": bytes(6000)}) for i in range(4)]
    with pytest.raises(DiskFullError, match="disk full.*free some space"):
        for i in range(20):
            store.save_image(_info(f"/p/{i}.jpg", str(i)), big)
    assert store.check() == []
    stats = store.stats()
    assert stats["faces"] == 1 + 4 * (stats["images"] - 1)


def test_locked_catalog_is_reported(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "catalog.sqlite", timeout=0.1)
    other = sqlite3.connect(tmp_path / "catalog.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CatalogError, match="busy"):
            store.save_image(_info("/p/a.jpg"), [_face(1)])
    finally:
        other.execute("ROLLBACK")
    assert store.check() == []


def test_erase_not_faces_and_optout(store: CatalogStore) -> None:
    a = store.save_image(_info("/p/a.jpg", "ha"), [_face(1), _face(2)])
    b = store.save_image(_info("/p/b.jpg", "hb"), [_face(3)])
    ada = store.create_person("Ada")
    store.assign_faces([a.face_ids[0]], ada.id, "user", decision="enroll")
    counts = store.erase(Erasure(face_ids=[a.face_ids[0]],
                                 optout={ada.id: {MODEL: (_vec(9), 1)}}))
    assert (counts.faces, counts.embeddings, counts.thumbnails, counts.decisions) == (1, 1, 1, 1)
    img = store.get_image(a.image_id)
    assert img is not None and img.face_count == 1 and store.check() == []
    [tpl] = store.optout_templates(MODEL)
    assert tpl.person_id == ada.id and np.allclose(tpl.vector, _vec(9))
    person = store.get_person(ada.id)
    assert person is not None and person.do_not_recognise
    assert store.clear_optout(ada.id) == 1
    marked = store.mark_not_faces([a.face_ids[1], 99999])
    assert [n.content_hash for n in marked] == ["ha"] and store.not_faces("ha") == marked
    img = store.get_image(a.image_id)
    assert img is not None and img.face_count == 0 and img.status == "noface"
    new = store.add_faces(a.image_id, [_face(4)])
    img = store.get_image(a.image_id)
    assert img is not None and img.status == "ok" and img.face_count == 1 and len(new) == 1
    assert store.delete_not_faces([marked[0].id]) == marked and store.not_faces() == []
    counts = store.erase(Erasure(image_ids=[b.image_id], person_ids=[ada.id]))
    assert counts.images == 1 and counts.people == 1 and counts.faces == 1
    store.scrub()
    assert store.stats()["images"] == 1 and store.check() == []


def test_embeddings_paths_and_snapshot(store: CatalogStore, tmp_path: Path) -> None:
    saved = [store.save_image(_info(f"/old/{i}.jpg", str(i)), [_face(i)]) for i in range(5)]
    ids = [s.face_ids[0] for s in saved]
    store.put_embeddings("m2", ids[:3], np.stack([_vec(i, 4) for i in range(3)]))
    assert store.embedding_models() == {MODEL: 8, "m2": 4}
    got = {int(i): v for b in store.embeddings("m2", ids) for i, v in zip(*b, strict=True)}
    assert sorted(got) == ids[:3] and np.allclose(got[ids[1]], _vec(1, 4))
    assert sum(len(b[0]) for b in store.embeddings(MODEL, batch=2)) == 5
    assert store.delete_embeddings("m2") == 3
    assert store.rewrite_paths("/old", "/new") == 5
    assert store.image_by_path("/new/3.jpg") is not None
    assert [r.path for r in store.images_under(["/new"])][:1] == ["/new/0.jpg"]
    store.save_image(_info("/old/0.jpg", "x"), [])
    with pytest.raises(CatalogError, match="two photos"):
        store.rewrite_paths("/new", "/old")
    store.snapshot(tmp_path / "snap.sqlite")
    with SQLiteStore(tmp_path / "snap.sqlite") as copy:
        assert copy.stats() == store.stats() and copy.check() == []
        assert [r.path for r in copy.iter_images()] == [r.path for r in store.iter_images()]
        a, b = next(copy.embeddings(MODEL)), next(store.embeddings(MODEL))
        assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])


def test_postgres_nearest_filters_in_sql(pg_url: str) -> None:
    from faceatlas.store.postgres import PostgresStore

    with PostgresStore(pg_url) as store:
        faces = {}
        for i in range(40):
            album = "even" if i % 2 == 0 else "odd"
            faces[i] = store.save_image(_info(f"/p/{album}/{i}.jpg", str(i)),
                                        [_face(i)]).face_ids[0]
        ids, sims = store.nearest(MODEL, _vec(7), k=3)
        assert ids[0] == faces[7] and sims[0] == pytest.approx(1.0, abs=2e-3)
        assert list(sims) == sorted(sims, reverse=True)
        ids, _ = store.nearest(MODEL, _vec(7), k=5, flt=FaceFilter(album="even"))
        assert len(ids) == 5 and faces[7] not in ids
        assert set(ids) <= set(store.face_ids(MODEL, FaceFilter(album="even")))
        assert store.nearest("unknown", _vec(1), k=3)[0].size == 0


def test_pgvector_ef_search_grows_with_the_catalog(monkeypatch: pytest.MonkeyPatch,
                                                   pg_url: str) -> None:
    """hnsw.ef_search follows the catalog's size (identity recall falls at a fixed value,
    docs/benchmarks.md), never below k; an operator can fix it, and a bad value is a
    clear error."""
    from faceatlas.errors import FaceAtlasError
    from faceatlas.store.postgres import EF_SEARCH_ENV, PostgresStore, ef_search_for

    monkeypatch.delenv(EF_SEARCH_ENV, raising=False)
    assert [ef_search_for(n, 10) for n in (0, 100_000, 300_000, 500_000, 1e6, 1e7)] == \
        [100, 100, 100, 200, 400, 400]
    assert ef_search_for(0, 250) == 250 and ef_search_for(1e6, 5000) == 1000
    monkeypatch.setenv(EF_SEARCH_ENV, "64")
    assert ef_search_for(1e6, 10) == 64 and ef_search_for(1e6, 80) == 80
    with PostgresStore(pg_url) as store:
        face = store.save_image(_info("/p/a.jpg", "a"), [_face(3)]).face_ids[0]
        assert list(store.nearest(MODEL, _vec(3), k=1)[0]) == [face]
        for bad in ("0", "abc", "5000"):
            monkeypatch.setenv(EF_SEARCH_ENV, bad)
            with pytest.raises(FaceAtlasError, match=EF_SEARCH_ENV):
                store.nearest(MODEL, _vec(3), k=1)


def _writer(url: str, worker: int, n: int) -> None:
    from faceatlas.store.postgres import PostgresStore

    with PostgresStore(url) as store:
        for i in range(n):  # shared paths (both workers) and own paths
            for path in (f"/shared/{i}.jpg", f"/own{worker}/{i}.jpg"):
                store.save_image(_info(path, f"{worker}-{i}"), [_face(i), _face(i + 1000)])


def test_postgres_concurrent_writers_neither_lose_nor_duplicate(pg_url: str) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(pg_url, w, 15)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(Path("/nonexistent"), pg_url) as store:
        stats = store.stats()
        assert stats["images"] == 45 and stats["faces"] == 90 and stats["embeddings"] == 90
        assert store.check() == []
        for img in store.iter_images():
            assert len(store.faces_of_image(img.id)) == img.face_count == 2


def test_catalog_state_and_conditional_changes(store: CatalogStore) -> None:
    from faceatlas.store import StaleCatalogError

    s0 = store.catalog_state()
    a = store.save_image(_info("/p/a.jpg", "a"), [_face(1), _face(2)])
    assert store.catalog_state().generation == s0.generation == a.generation  # adds only
    b = store.save_image(_info("/p/a.jpg", "a2"), [_face(3)], expect_generation=a.generation)
    assert b.generation is not None and b.generation > s0.generation  # faces replaced
    with pytest.raises(StaleCatalogError):
        store.save_image(_info("/p/c.jpg", "c"), [_face(4)], expect_generation=s0.generation)
    assert store.image_by_path("/p/c.jpg") is None
    ada = store.create_person("Ada")
    s1 = store.catalog_state()
    assert s1.revision > s0.revision
    store.assign_faces(b.face_ids, ada.id, "user")
    with pytest.raises(StaleCatalogError):
        store.apply_clustering({-1: b.face_ids}, [], s1)
    extra = store.save_image(_info("/p/d.jpg", "d"), [_face(5)])
    real = store.apply_clustering({-5: b.face_ids + extra.face_ids}, [-5],
                                  store.catalog_state())
    user_face, auto_face = store.get_face(b.face_ids[0]), store.get_face(extra.face_ids[0])
    assert user_face is not None and user_face.person_id == ada.id  # a user's link stays
    assert auto_face is not None and auto_face.person_id == real[-5]
    assert auto_face.assigned_by == "auto"


def test_video_tracks_round_trip(store: CatalogStore, tmp_path: Path) -> None:
    info = ImageInfo(**{**_info("/v/clip.mp4", "v").__dict__, "media": "video",
                        "duration": 12.5})
    track = NewFace(**{**_face(1).__dict__, "t_start": 1.0, "t_end": 4.5, "shot": 2})
    saved = store.save_image(info, [track])
    img = store.get_image(saved.image_id)
    assert img is not None and img.media == "video" and img.duration == 12.5
    face = store.get_face(saved.face_ids[0])
    assert face is not None and (face.t_start, face.t_end, face.shot) == (1.0, 4.5, 2)
    store.snapshot(tmp_path / "copy.sqlite")
    with SQLiteStore(tmp_path / "copy.sqlite") as copy:
        copied = copy.get_face(saved.face_ids[0])
        assert copied is not None and copied.shot == 2


def test_api_keys_and_audit_log(store: CatalogStore) -> None:
    key = store.add_api_key("ci", "write", "fa_abc", "h1")
    assert key.name == "ci" and key.revoked_at is None
    with pytest.raises(CatalogError, match="already exists"):
        store.add_api_key("ci", "read", "fa_def", "h2")
    revoked = store.revoke_api_key("ci")
    assert revoked is not None and revoked.revoked_at is not None
    assert store.revoke_api_key("ci") is None
    store.add_api_key("ci", "read", "fa_def", "h2")  # a revoked name may be reused
    assert [k.key_hash for k in store.api_keys(include_revoked=False)] == ["h2"]
    assert [k.key_hash for k in store.api_keys(prefix="fa_abc")] == ["h1"]
    store.record_audit("ci", "POST /x", target="3", status=200)
    store.record_audit("ci", "DELETE /y")
    log = store.audit_log()
    assert [e.action for e in log] == ["DELETE /y", "POST /x"] and log[1].status == 200
    assert [e.action for e in store.audit_log(since_id=log[1].id)] == ["DELETE /y"]


def test_person_occurrences_in_one_read(store: CatalogStore) -> None:
    """What the relation graph is built from: (image, person, dates, shot) per linked face,
    hidden people only on request."""
    a = store.save_image(_info("/p/a.jpg", "a", taken="2020-05-01T10:00:00"), [_face(1), _face(2)])
    b = store.save_image(_info("/p/b.jpg", "b"), [_face(3)])
    ada, bea = store.create_person("Ada"), store.create_person("Bea")
    store.assign_faces([a.face_ids[0], b.face_ids[0]], ada.id, "user")
    store.assign_faces([a.face_ids[1]], bea.id, "user")
    rows = list(store.person_occurrences())
    assert rows == [(a.image_id, ada.id, "2020-05-01T10:00:00", 1, "exif", None),
                    (a.image_id, bea.id, "2020-05-01T10:00:00", 1, "exif", None),
                    (b.image_id, ada.id, None, 1, None, None)]
    store.update_person(bea.id, hidden=True)
    assert [r[1] for r in store.person_occurrences()] == [ada.id, ada.id]
    assert len(list(store.person_occurrences(include_hidden=True))) == 3


def test_images_stamp_follows_photos(store: CatalogStore) -> None:
    empty = store.images_stamp()
    a = store.save_image(_info("/p/a.jpg", "a"), [_face(1)])
    added = store.images_stamp()
    assert added != empty and store.images_stamp() == added
    moved = _info("/p/moved.jpg", "a")
    store.relocate_image(a.image_id, ImageInfo(**{**moved.__dict__, "mtime_ns": 5 * 10**15}))
    assert store.images_stamp() != added
