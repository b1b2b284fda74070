"""Calibrate decision thresholds at target false-accept rates from LFW embeddings and
write ``src/faceatlas/verification/data/thresholds.json``.

    nice python3 bench/calibrate_thresholds.py --embeddings sface=/work/cache/lfw_sface.npz \
        --pairs pairs.txt [--embeddings fusion=...npz] [--write]

The impostor distribution is every cross-identity pair of the 13,233 LFW images
(about 87 million pairs, scored block by block with numpy), so FAR 1e-3 rests on
~87,000 false accepts rather than the 3 of the 3,000 impostor pairs of the 6000-pair
protocol (which is reported alongside). Genuine pairs are every same-identity pair.
Thresholds are rounded up to 6 decimals, so the stored FAR never exceeds the target.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from faceatlas.evaluation import metrics
from faceatlas.evaluation.lfw import LfwEmbeddings, protocol_scores, read_pairs

FARS = (1e-2, 1e-3)
OUT = Path(__file__).resolve().parents[1] / "src/faceatlas/verification/data/thresholds.json"


def all_pairs(emb: LfwEmbeddings, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(impostor scores, genuine scores) over every unordered pair of distinct images."""
    x = emb.embeddings.astype(np.float32)
    _, ident = np.unique(emb.identities, return_inverse=True)
    imp, gen = [], []
    for start in range(0, len(x), block):
        stop = min(start + block, len(x))
        sims = x[start:stop] @ x.T
        rows = np.arange(start, stop)[:, None]
        upper = np.arange(len(x))[None, :] > rows
        same = ident[start:stop, None] == ident[None, :]
        imp.append(sims[upper & ~same])
        gen.append(sims[upper & same])
    return np.concatenate(imp), np.concatenate(gen)


def calibrate(name: str, emb: LfwEmbeddings, pairs_file: Path) -> dict[str, object]:
    imp, gen = all_pairs(emb)
    s, y, _ = protocol_scores(read_pairs(pairs_file), emb)
    entry: dict[str, object] = {"far": {}, "tar": {}, "achieved_far": {}, "protocol_6000": {}}
    for far in FARS:
        t, _ = metrics.threshold_at_far(imp, far)
        t = math.ceil(t * 1e6) / 1e6
        key = f"{far:g}"
        entry["far"][key] = t  # type: ignore[index]
        entry["achieved_far"][key] = float(np.count_nonzero(imp >= t) / imp.size)  # type: ignore[index]
        entry["tar"][key] = float(np.count_nonzero(gen >= t) / gen.size)  # type: ignore[index]
        t6, _ = metrics.threshold_at_far(s[~y], far)
        entry["protocol_6000"][key] = {  # type: ignore[index]
            "threshold": t6, "tar": metrics.tar_at_far(s, y, far),
            "tar_at_all_pairs_threshold": float(np.mean(s[y] >= t)),
            "far_at_all_pairs_threshold": float(np.mean(s[~y] >= t))}
    entry["impostor_pairs"] = int(imp.size)
    entry["genuine_pairs"] = int(gen.size)
    entry["source"] = (f"LFW deep-funneled, all {imp.size:,} cross-identity pairs of "
                       f"{len(emb.names):,} images ({emb.model or name}); "
                       "bench/calibrate_thresholds.py, "
                       f"{datetime.now(UTC).date().isoformat()}")
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description="calibrate thresholds at FAR 1e-2 and 1e-3")
    ap.add_argument("--embeddings", action="append", required=True, metavar="MODEL=NPZ")
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--write", action="store_true", help=f"update {OUT}")
    args = ap.parse_args()
    table = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for item in args.embeddings:
        name, _, path = item.partition("=")
        entry = calibrate(name, LfwEmbeddings.load(Path(path)), args.pairs)
        print(json.dumps({name: entry}, indent=1))
        table[name] = entry
    if args.write:
        OUT.write_text(json.dumps(table, indent=2) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
