"""The sharded kNN graph (faceatlas.cluster.sharded) equals the single-machine graph, on
a small catalog in SQLite and in PostgreSQL, whatever the shard size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceatlas.cluster.graph import neighbours
from faceatlas.cluster.sharded import sharded_knn, store_loader
from faceatlas.store import ImageInfo, NewFace, open_store


def _fill(store, n: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(8, 16)).astype(np.float32)
    x = centres[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = []
    for i in range(0, n, 3):  # three faces a photo
        faces = [NewFace(box=(0, 0, 1, 1), landmarks=np.zeros(10, np.float32), det_score=1.0,
                         quality=1.0, model="m@1", vector=x[j]) for j in range(i, min(i + 3, n))]
        ids += store.save_image(ImageInfo(path=f"/p/{i}.jpg", folder="/p", album="p",
                                          content_hash=str(i), size=1, mtime_ns=1),
                                faces).face_ids
    return np.array(ids, np.int64), x


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_sharded_knn_equals_single_machine(kind: str, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if kind == "postgres" else None
    with open_store(tmp_path, url) as store:
        ids, x = _fill(store, 61)
        k = 7
        sims, idx = neighbours(x, np.arange(len(x)), k)
        for shard_size in (9, 25, 1000):
            graph = sharded_knn(store.face_ids("m@1"), store_loader(store, "m@1"), k,
                                shard_size)
            assert np.array_equal(graph.face_ids, ids)
            assert np.allclose(graph.sims, sims, atol=1e-5)
            assert np.array_equal(graph.neighbours, ids[idx])  # no ties in random data
