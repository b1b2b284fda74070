"""Calibrate 1:N (open-set) thresholds as a function of gallery size at target FPIRs from
LFW embeddings, and write ``src/faceatlas/verification/data/openset.json``.

    nice python3 bench/calibrate_openset.py --embeddings sface=/work/cache/lfw_sface.npz \
        [--repeats 20] [--write]

Protocol (one repeat): the 5,749 LFW identities are shuffled; each identity's photos of
quality >= TEMPLATE_MIN_QUALITY build its template with the library's own code
(:class:`faceatlas.cluster.templates.PersonTemplate`, several modes when a person's
photos form several looks). A gallery of N modes is the first identities of the shuffled
order until N modes are reached; the probes are every photo, passing the identify
quality gate, of the identities NOT in that gallery (strangers to it). The best
similarity of each probe over the gallery is an impostor maximum; pooled over repeats,
the (1 - FPIR) quantile of those maxima is the threshold at N. No independence
assumption and no extrapolation inside the measured range; the library interpolates
linearly in log N between measured sizes and extrapolates beyond the largest.

For reference the script also prints the threshold the independence model would give
(the 1:1 impostor threshold at FAR = 1 - (1 - FPIR)^(1/N), from every cross-identity
pair), to show how far real galleries are from independent draws.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from faceatlas.cluster.templates import PersonTemplate
from faceatlas.evaluation.lfw import LfwEmbeddings
from faceatlas.library.recognize import PROBE_MIN_QUALITY

FPIRS = (1e-2, 1e-3)
SIZES = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 3000, 4000)
OUT = Path(__file__).resolve().parents[1] / "src/faceatlas/verification/data/openset.json"


def identity_modes(emb: LfwEmbeddings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(modes (M, d), identity index of each mode, identity index of each photo)."""
    names, ident = np.unique(emb.identities, return_inverse=True)
    modes, owner = [], []
    order = np.argsort(ident, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(ident[order]) != 0, True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        t = PersonTemplate.from_vectors(emb.embeddings[rows], emb.quality[rows])
        modes.append(t.modes)
        owner.append(np.full(len(t.modes), ident[rows[0]], np.int64))
    return np.concatenate(modes), np.concatenate(owner), ident


def impostor_maxima(emb: LfwEmbeddings, repeats: int, seed: int
                    ) -> tuple[dict[int, np.ndarray], dict[str, int]]:
    """Per gallery size (modes actually reached), pooled best impostor similarities."""
    modes, owner, ident = identity_modes(emb)
    n_ids = int(ident.max()) + 1
    probe = emb.quality >= PROBE_MIN_QUALITY
    pv, pid = emb.embeddings[probe].astype(np.float32), ident[probe]
    sims = pv @ modes.T  # (probes, modes)
    rng = np.random.default_rng(seed)
    pooled: dict[int, list[np.ndarray]] = {n: [] for n in SIZES}
    reached: dict[int, list[int]] = {n: [] for n in SIZES}
    for _ in range(repeats):
        rank = rng.permutation(n_ids)              # identity -> position in the order
        cols = np.lexsort((np.arange(len(owner)), rank[owner]))
        running = np.maximum.accumulate(sims[:, cols], axis=1)
        pos = rank[owner[cols]]                    # order position of each column's owner
        for n in SIZES:
            if n > len(cols):
                continue
            last = pos[n - 1]                      # gallery: identities up to this one
            k = int(np.searchsorted(pos, last, side="right"))  # whole identities
            stranger = rank[pid] > last
            pooled[n].append(running[stranger, k - 1])
            reached[n].append(k)
    out = {n: np.concatenate(v) for n, v in pooled.items() if v}
    info = {"identities": n_ids, "modes": int(len(owner)), "probes": int(probe.sum())}
    return out, info | {f"reached_{n}": int(np.mean(reached[n])) for n in out}


def independence_thresholds(emb: LfwEmbeddings, fpir: float, sizes: list[int],
                            block: int = 1024) -> list[float]:
    """Thresholds if the N comparisons were independent 1:1 draws (reference only)."""
    x = emb.embeddings.astype(np.float32)
    _, ident = np.unique(emb.identities, return_inverse=True)
    fars = [1 - (1 - fpir) ** (1 / n) for n in sizes]
    total = len(x) * (len(x) - 1) // 2  # approximately the impostor count
    keep = int(min(total, max(f * total for f in fars) * 1.2 + 100))
    top = np.empty(0, np.float32)
    for start in range(0, len(x), block):
        stop = min(start + block, len(x))
        s = x[start:stop] @ x.T
        upper = np.arange(len(x))[None, :] > np.arange(start, stop)[:, None]
        vals = s[upper & (ident[start:stop, None] != ident[None, :])]
        top = np.concatenate([top, vals])
        if top.size > 4 * keep:
            top = np.partition(top, top.size - keep)[-keep:]
    top = np.sort(top)[::-1]
    return [float(top[max(0, int(f * total) - 1)]) for f in fars]


def calibrate(name: str, emb: LfwEmbeddings, repeats: int, seed: int) -> dict[str, object]:
    maxima, info = impostor_maxima(emb, repeats, seed)
    entry: dict[str, object] = {"fpir": {}, **info}
    for fpir in FPIRS:
        sizes, values, achieved = [], [], []
        for n, m in sorted(maxima.items()):
            t = math.ceil(float(np.quantile(m, 1 - fpir, method="higher")) * 1e6) / 1e6
            sizes.append(n)
            values.append(t)
            achieved.append(float(np.mean(m >= t)))
        values = list(np.maximum.accumulate(values))  # monotone in N
        indep = independence_thresholds(emb, fpir, sizes)
        entry["fpir"][f"{fpir:g}"] = {  # type: ignore[index]
            "n": sizes, "threshold": [round(v, 6) for v in values],
            "achieved_fpir": [round(a, 6) for a in achieved],
            "independence_model": [round(v, 6) for v in indep]}
        print(f"{name} FPIR {fpir:g}")
        for n, t, a, i in zip(sizes, values, achieved, indep, strict=True):
            print(f"  N={n:5d}  threshold {t:.4f}  (achieved {a:.4f})  independent-draw "
                  f"model {i:.4f}")
    entry["source"] = (
        f"LFW deep-funneled ({emb.model or name}); galleries of N template modes from "
        f"shuffled identities, probes = photos (quality >= {PROBE_MIN_QUALITY}) of the "
        f"identities left out; {repeats} repeats, seed {seed}; bench/calibrate_openset.py, "
        f"{datetime.now(UTC).date().isoformat()}")
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embeddings", action="append", required=True,
                    help="NAME=PATH of an LFW embeddings file (bench/lfw_embed.py)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help=f"update {OUT}")
    args = ap.parse_args()
    table = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for spec in args.embeddings:
        name, _, path = spec.partition("=")
        table[name] = calibrate(name, LfwEmbeddings.load(Path(path)), args.repeats,
                                args.seed)
    if args.write:
        OUT.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
