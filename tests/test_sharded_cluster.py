"""Clustering from the sharded neighbour graph (``faceatlas cluster --shard-size``,
``--ray``) gives the same people as the single-machine in-memory graph: on arrays, and
through the CLI on a small catalog in SQLite and in PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest
from typer.testing import CliRunner

from faceatlas.cli.main import app
from faceatlas.cluster import ClusterParams, cluster_faces
from faceatlas.cluster.graph import memory_search
from faceatlas.cluster.sharded import SHARD_ABOVE, ShardedSearch, choose_search, search_block
from faceatlas.errors import FaceAtlasError
from faceatlas.store import ImageInfo, NewFace, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import identity_clustered  # noqa: E402

runner = CliRunner()
MODEL = "synthetic@1"


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Many small faiss searches: OpenMP barriers stall them on a busy machine."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors, quality (every 7th face poor) and photos (pairs of faces share one)."""
    x, _ = identity_clustered(240, 30, seed=4, spread=0.8)
    quality = np.where(np.arange(len(x)) % 7 == 3, 0.05, 0.9).astype(np.float32)
    photos = np.arange(len(x)) // 2
    return x, quality, photos


def test_search_block_equals_the_in_memory_search() -> None:
    x, _ = identity_clustered(300, 30, seed=2)
    base = np.arange(0, 300, 2)
    queries = np.array([1, 4, 7, 150, 299])
    for shard in (1, 7, 64, 1000):
        s, i = search_block(x, base, shard, 12, queries)
        ms, mi = memory_search(x, base, queries, 12)
        assert np.array_equal(i, mi) and np.allclose(s, ms, atol=1e-6)
    s, i = search_block(x, base[:3], 2, 5, queries)       # fewer base faces than k
    assert (i[:, 3:] == -1).all() and np.isneginf(s[:, 3:]).all()


@pytest.mark.parametrize("full", [True, False])
def test_sharded_clustering_equals_in_memory(faces: tuple[np.ndarray, np.ndarray, np.ndarray],
                                             full: bool) -> None:
    x, quality, photos = faces
    people = np.full(len(x), -1, np.int64)
    if not full:  # incremental: the first 160 faces already belong to people
        people[:160] = cluster_faces(x[:160], quality=quality[:160],
                                     photos=photos[:160]).labels
    params = ClusterParams.from_strictness(0.4)
    one = cluster_faces(x, quality=quality, photos=photos, people=people, params=params,
                        full=full)
    search = ShardedSearch(shard_size=29)
    sharded = cluster_faces(x, quality=quality, photos=photos, people=people, params=params,
                            full=full, search=search)
    assert search.blocks > 3                          # the shards were really used
    assert one.stats["attached_low_quality"] > 0      # every search of the run was used
    assert np.array_equal(one.labels, sharded.labels)
    assert one.new_people == sharded.new_people
    assert {k: v for k, v in one.stats.items() if k != "seconds"} == \
        {k: v for k, v in sharded.stats.items() if k != "seconds"}


def test_choose_search() -> None:
    with choose_search(1000) as s:
        assert s is memory_search
    with choose_search(SHARD_ABOVE + 1) as s:
        assert isinstance(s, ShardedSearch) and s.shard_size == 20_000
    with choose_search(10, shard_size=3) as s:
        assert isinstance(s, ShardedSearch) and s.shard_size == 3
    with pytest.raises(FaceAtlasError), choose_search(10, shard_size=0):
        pass


def _fill(root: Path, url: str | None, x: np.ndarray, quality: np.ndarray,
          photos: np.ndarray, rows: range) -> None:
    with open_store(root, url) as store:
        for p in np.unique(photos[rows.start:rows.stop]).tolist():
            mine = [r for r in np.flatnonzero(photos == p).tolist() if r in rows]
            store.save_image(
                ImageInfo(path=f"/photos/{p}.jpg", folder="/photos", album="photos",
                          content_hash=str(p), size=1, mtime_ns=1),
                [NewFace(box=(0, 0, 64, 64), landmarks=np.zeros((5, 2), np.float32),
                         det_score=0.9, quality=float(quality[r]), model=MODEL,
                         vector=x[r]) for r in mine])


def _people(root: Path, url: str | None) -> dict[int, int | None]:
    with open_store(root, url) as store:
        ids = [int(i) for b in store.embeddings(MODEL) for i in b[0]]
        return {f: r.person_id for f, r in store.faces(ids).items()}


def _cluster(root: Path, url: str | None, *extra: str) -> dict[str, object]:
    args = ["cluster", "--library", str(root), "--json", *extra]
    res = runner.invoke(app, args + (["--store", url] if url else []))
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.stdout)
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_cluster_command_sharded_gives_the_same_people(
        kind: str, faces: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    x, quality, photos = faces
    urls: list[str | None] = [None, None]
    if kind == "postgres":
        from pg_helpers import fresh_url

        server = request.getfixturevalue("pg_server")
        urls = [fresh_url(server), fresh_url(server)]
    roots = [tmp_path / "memory", tmp_path / "sharded"]
    for root, url in zip(roots, urls, strict=True):
        _fill(root, url, x, quality, photos, range(0, 160))
    a = _cluster(roots[0], urls[0])
    b = _cluster(roots[1], urls[1], "--shard-size", "23")
    assert (a["graph"], b["graph"]) == ("memory", "sharded")
    assert a["people"] == b["people"] >= 15
    assert _people(roots[0], urls[0]) == _people(roots[1], urls[1])
    # new photos, an incremental run, then a full one
    for root, url in zip(roots, urls, strict=True):
        _fill(root, url, x, quality, photos, range(160, 240))
    for extra in ([], ["--full", "--strictness", "0.3"]):
        a = _cluster(roots[0], urls[0], *extra)
        b = _cluster(roots[1], urls[1], "--shard-size", "23", *extra)
        assert {k: v for k, v in a.items() if k not in ("seconds", "graph")} == \
            {k: v for k, v in b.items() if k not in ("seconds", "graph")}
        assert _people(roots[0], urls[0]) == _people(roots[1], urls[1])


def test_cluster_command_on_ray_gives_the_same_people(
        faces: tuple[np.ndarray, np.ndarray, np.ndarray], tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'faceatlas[ray]')")
    x, quality, photos = faces
    roots = [tmp_path / "memory", tmp_path / "ray"]
    for root in roots:
        _fill(root, None, x, quality, photos, range(0, 240))
    a = _cluster(roots[0], None)
    b = _cluster(roots[1], None, "--ray", "local", "--shard-size", "61")
    assert b["graph"] == "sharded" and a["people"] == b["people"]
    assert _people(roots[0], None) == _people(roots[1], None)
