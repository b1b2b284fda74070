"""Relation graph at library scale: build, query and incremental-update times on a
synthetic library (default 1M photos, 50k people).

Synthetic assignments: people belong to social groups (log-normal sizes, 40% of people
in a second group); person activity is Zipf-like (weight 1/rank^0.9); a photo picks a
group in proportion to its members' activity, then 1-6 members (P = .35 .25 .17 .11 .07
.05) in proportion to activity; 10% of photos include a stranger drawn from the whole
population; dates are spread over ten years.

    python bench/relations_scale.py --photos 1000000 --people 50000 \
        [--catalog-dir /tmp/relcat]  # also time the rebuild from a SQLite catalog

Prints one JSON document (also written to --out if given).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from faceatlas.relations import Occurrence, RelationGraph
from faceatlas.relations import queries as q


def synthesize(n_photos: int, n_people: int, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]:
    """(photo ids, person ids, photo times as datetime64[s] per photo, primary group)."""
    rng = np.random.default_rng(seed)
    sizes = np.maximum(2, rng.lognormal(np.log(10), 0.7, size=n_people)).astype(int)
    sizes = sizes[np.cumsum(sizes) <= n_people]
    sizes = np.r_[sizes, n_people - sizes.sum()] if sizes.sum() < n_people else sizes
    sizes = sizes[sizes > 0]
    order = rng.permutation(n_people)
    primary = np.repeat(np.arange(len(sizes)), sizes)[np.argsort(order)]
    second = rng.random(n_people) < 0.4
    extra_groups = rng.choice(len(sizes), size=int(second.sum()), p=sizes / sizes.sum())
    mem_group = np.r_[primary, extra_groups]
    mem_person = np.r_[np.arange(n_people), np.flatnonzero(second)]
    activity = 1.0 / (rng.permutation(n_people) + 1.0) ** 0.9
    srt = np.lexsort((mem_person, mem_group))
    mem_group, mem_person = mem_group[srt], mem_person[srt]
    mem_w = activity[mem_person]
    cum = np.cumsum(mem_w)
    g_start = np.searchsorted(mem_group, np.arange(len(sizes)))
    g_end = np.searchsorted(mem_group, np.arange(len(sizes)), side="right")
    base = np.r_[0.0, cum][g_start]
    total = cum[g_end - 1] - base
    photo_group = rng.choice(len(sizes), size=n_photos, p=total / total.sum())
    k = rng.choice(np.arange(1, 7), size=n_photos, p=[.35, .25, .17, .11, .07, .05])
    slots = np.full((n_photos, 6), -1, dtype=np.int64)
    for j in range(6):
        on = np.flatnonzero(k > j)
        for _ in range(20):  # draw without replacement: redraw people already in the photo
            u = base[photo_group[on]] + rng.random(len(on)) * total[photo_group[on]]
            idx = np.minimum(np.searchsorted(cum, u, side="right"), g_end[photo_group[on]] - 1)
            slots[on, j] = mem_person[idx]
            on = on[(slots[on, :j] == slots[on, j:j + 1]).any(axis=1)]
            if not len(on):
                break
    stranger = rng.random(n_photos) < 0.1
    p_all = activity / activity.sum()
    slots[stranger, 0] = rng.choice(n_people, size=int(stranger.sum()), p=p_all)
    photo = np.repeat(np.arange(n_photos), 6)
    person = slots.ravel()
    keep = person >= 0
    photo, person = photo[keep], person[keep]
    pairs = np.unique(photo * n_people + person)  # small groups: fewer than k distinct
    photo, person = pairs // n_people, pairs % n_people
    start = np.datetime64("2015-01-01T00:00:00")
    times = start + rng.integers(0, 10 * 365 * 86400, size=n_photos).astype("timedelta64[s]")
    return photo, person, times, primary


def occurrences(photo: np.ndarray, person: np.ndarray, times: np.ndarray) -> list[Occurrence]:
    when = times.astype(object)  # datetime per photo (shared objects, as a reader caches)
    return [Occurrence(a, b, when[a]) for a, b in zip(photo.tolist(), person.tolist(),
                                                     strict=True)]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def mean_ms(fn: Callable[[int], object], items: list[int]) -> float:
    times = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        times.append(time.perf_counter() - t)
    return round(1000 * statistics.mean(times), 3)


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build_catalog(directory: Path, occ: list[Occurrence], n_people: int) -> Path:
    """A real SQLite catalog (schema of faceatlas.store) holding the occurrences."""
    from faceatlas.store import CATALOG_FILE, SQLiteStore

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CATALOG_FILE
    if path.exists():
        path.unlink()
    store = SQLiteStore(path)
    c = store.connection
    lm = np.zeros(10, np.float32).tobytes()
    c.execute("BEGIN")
    c.executemany("INSERT INTO people (id, name, created_at) VALUES (?, ?, '2025-01-01')",
                  ((p, f"person {p}") for p in range(1, n_people + 1)))
    photos = sorted({(o.photo_id, o.taken_at) for o in occ})
    c.executemany("INSERT INTO images (id, path, folder, album, size, mtime_ns, taken_at, "
                  "taken_at_source, status, face_count, indexed_at) VALUES "
                  "(?, ?, '/lib', 'lib', 1, 0, ?, 'exif', 'ok', 0, '2025-01-01')",
                  ((p + 1, f"/lib/{p:07d}.jpg", t.isoformat()) for p, t in photos))
    c.executemany("INSERT INTO faces (image_id, box_x, box_y, box_w, box_h, landmarks, "
                  "det_score, quality, person_id, assigned_by) VALUES "
                  "(?, 0, 0, 1, 1, ?, 1, 1, ?, 'auto')",
                  ((o.photo_id + 1, lm, o.person_id + 1) for o in occ))
    c.execute("COMMIT")
    store.close()
    return directory


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-photos", type=int, default=100_000,
                    help="Photos for the add_photo-one-by-one baseline build.")
    ap.add_argument("--catalog-dir", type=Path, default=None,
                    help="Also write a SQLite catalog here and time the rebuild from it.")
    ap.add_argument("--communities", default="louvain,label-propagation")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    res: dict[str, object] = {"photos": args.photos, "people": args.people}
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731

    t, (photo, person, times, primary) = timed(
        lambda: synthesize(args.photos, args.people, args.seed))  # type: ignore[misc]
    res["synthesize_s"] = round(t, 2)
    t, occ = timed(lambda: occurrences(photo, person, times))
    res["occurrences"] = len(occ)  # type: ignore[arg-type]
    res["to_tuples_s"] = round(t, 2)
    log("occurrences", len(occ), "in", t)  # type: ignore[arg-type]

    t, rg = timed(lambda: RelationGraph.from_occurrences(occ))
    assert isinstance(rg, RelationGraph)
    g = rg.graph
    res["bulk_build_s"] = round(t, 2)
    res["nodes"], res["edges"] = g.number_of_nodes(), g.number_of_edges()
    res["rss_after_build_mb"] = rss_mb()
    log("bulk build", t, g.number_of_nodes(), g.number_of_edges())

    # baseline: the same library added photo by photo with the incremental path
    n_base = min(args.baseline_photos, args.photos)
    sub = [o for o in occ if o.photo_id < n_base]  # type: ignore[union-attr]
    t_bulk_sub, rg_bulk_sub = timed(lambda: RelationGraph.from_occurrences(sub))

    def one_by_one() -> RelationGraph:
        inc = RelationGraph()
        by_photo: dict[int, list[int]] = {}
        when: dict[int, datetime] = {}
        for o in sub:
            by_photo.setdefault(o.photo_id, []).append(o.person_id)
            when[o.photo_id] = o.taken_at
        for p, people in by_photo.items():
            inc.add_photo(p, people, when[p])
        return inc

    t_inc_sub, rg_inc_sub = timed(one_by_one)
    res["baseline"] = {"photos": n_base, "bulk_s": round(t_bulk_sub, 3),
                       "add_photo_one_by_one_s": round(t_inc_sub, 3),
                       "speedup_bulk_vs_incremental": round(t_inc_sub / t_bulk_sub, 1),
                       "equal": rg_inc_sub == rg_bulk_sub}
    log("baseline", res["baseline"])

    rnd = random.Random(args.seed)
    people = rg.people()
    deg = sorted(people, key=lambda p: -g.nodes[p]["photos"])
    sample = rnd.sample(people, 200)
    edges = rnd.sample(list(g.edges()), 200)
    queries: dict[str, object] = {
        "top_companions_ms": mean_ms(lambda p: q.top_companions(rg, p, 10), sample),
        "top_companions_busiest_ms": mean_ms(lambda p: q.top_companions(rg, p, 10), deg[:20]),
        "photos_together_ms": mean_ms(lambda i: q.photos_together(rg, edges[i]),
                                      list(range(len(edges)))),
        "photos_together_without_ms": mean_ms(
            lambda i: q.photos_together(rg, edges[i], without=[deg[0]]),
            list(range(len(edges)))),
        "timeline_ms": mean_ms(lambda p: q.timeline(rg, p), sample),
        "timeline_busiest_ms": mean_ms(lambda p: q.timeline(rg, p), deg[:5]),
    }
    pairs = [tuple(rnd.sample(people, 2)) for _ in range(20)]
    lengths: list[int] = []

    def chain(i: int) -> None:
        c = q.shortest_chain(rg, *pairs[i])
        lengths.append(-1 if c is None else len(c.hops))

    queries["shortest_chain_ms"] = mean_ms(chain, list(range(len(pairs))))
    queries["shortest_chain_lengths"] = lengths
    res["queries"] = queries
    log("queries", queries)

    from sklearn.metrics import normalized_mutual_info_score

    comm: dict[str, object] = {}
    for method in [m for m in args.communities.split(",") if m]:
        t, groups = timed(lambda m=method: q.communities(rg, m, seed=0, min_size=1))
        assert isinstance(groups, list)
        label = {p: i for i, grp in enumerate(groups) for p in grp}
        nodes = sorted(label)
        import networkx as nx

        comm[method] = {
            "seconds": round(t, 2), "communities": len(groups),
            "of_size_2_plus": sum(len(x) > 1 for x in groups),
            "modularity": round(nx.community.modularity(g, [set(x) for x in groups]), 4),
            "nmi_vs_primary_group": round(normalized_mutual_info_score(
                [int(primary[n]) for n in nodes], [label[n] for n in nodes]), 4)}
        log("communities", method, comm[method])
    res["communities"] = comm

    # incremental updates on the full graph
    nxt = [args.photos + 10]
    photos = rg.photos()
    upd: dict[str, float] = {}

    def add(_: int) -> None:
        p = nxt[0]
        nxt[0] += 1
        rg.add_photo(p, rnd.sample(people, rnd.randint(1, 6)), datetime(2024, 1, 1))

    upd["add_photo_ms"] = mean_ms(add, list(range(1000)))
    victims = rnd.sample(photos, 1000)
    upd["remove_photo_ms"] = mean_ms(lambda p: rg.remove_photo(p), victims)
    live = [p for p in rnd.sample(rg.photos(), 2000)][:1000]
    upd["move_face_ms"] = mean_ms(
        lambda p: rg.move_face(p, rg.faces_in(p)[0], rnd.choice(people)), live)
    merges = [(deg[i], deg[-1 - i]) for i in range(50, 70)]
    upd["merge_small_into_busy_ms"] = mean_ms(lambda i: rg.merge(*merges[i]), list(range(20)))
    busy_pairs = [(deg[2 * i + 100], deg[2 * i + 101]) for i in range(5)]
    upd["merge_two_busy_ms"] = mean_ms(lambda i: rg.merge(*busy_pairs[i]), list(range(5)))
    splits = [deg[i] for i in range(200, 220)]

    def split(p: int) -> None:
        own = sorted(rg.photos_of(p))
        rg.split(p, 10_000_000 + p, own[: len(own) // 2])

    upd["split_half_ms"] = mean_ms(split, splits)
    upd["forget_busiest_ms"] = mean_ms(lambda p: rg.forget(p), deg[:5])
    upd["forget_random_ms"] = mean_ms(lambda p: rg.forget(p),
                                      [p for p in sample[:50] if p in rg])
    res["updates"] = upd
    log("updates", upd)
    t_check, rebuilt = timed(lambda: RelationGraph.from_occurrences(list(rg.iter_occurrences())))
    res["after_updates_equal_rebuild"] = rebuilt == rg
    res["rebuild_after_updates_s"] = round(t_check, 2)

    if args.catalog_dir is not None:
        from faceatlas.relations.catalog import CatalogOccurrences
        from faceatlas.store import open_store

        t, _ = timed(lambda: build_catalog(args.catalog_dir, occ, args.people))
        res["catalog_write_s"] = round(t, 1)
        store = open_store(args.catalog_dir)
        t_read, rows = timed(lambda: list(CatalogOccurrences(store).occurrences()))
        t_build, from_cat = timed(lambda: RelationGraph.from_occurrences(rows))  # type: ignore[arg-type]
        assert isinstance(from_cat, RelationGraph)
        res["catalog_open"] = {"read_s": round(t_read, 2), "build_s": round(t_build, 2),
                               "total_s": round(t_read + t_build, 2),
                               "edges_match": from_cat.graph.number_of_edges() == res["edges"],
                               "catalog_mb": round(sum(
                                   f.stat().st_size for f in args.catalog_dir.iterdir())
                                   / 2**20, 1)}
        store.close()
        log("catalog", res["catalog_open"])
    res["peak_rss_mb"] = rss_mb()
    text = json.dumps(res, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
