"""Embed every image of the LFW archive once and save the result as ``.npz``.

    nice python3 bench/lfw_embed.py --archive /path/lfw-deepfunneled.tgz \
        --out /work/cache/lfw_sface.npz [--recognizer sface] [--flip]

The file holds ``names`` (``Aaron_Eckhart/Aaron_Eckhart_0001.jpg``), ``identities``,
``embeddings`` (n, d float32, unit norm), ``quality`` (n,), ``fallback`` (bool n: no
face detected, fixed central alignment used) and ``landmarks`` (n, 5, 2). It is
written atomically. See ``faceatlas.evaluation.lfw`` for how the face is chosen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from faceatlas import FaceEngine
from faceatlas.cli.common import err_console, track
from faceatlas.evaluation.lfw import embed_archive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--recognizer", default="sface")
    ap.add_argument("--flip", action="store_true", help="flip test-time augmentation")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    engine = FaceEngine(recognizer=args.recognizer, flip=args.flip, threads=args.threads)
    t0 = time.perf_counter()
    emb = embed_archive(args.archive, engine,
                        progress=lambda it, n: track(it, n, "embedding LFW"),
                        on_error=lambda name, msg: err_console.print(f"skipped {name}: {msg}"))
    emb.save(args.out)
    dt = time.perf_counter() - t0
    print(f"{len(emb.names)} images, {int(emb.fallback.sum())} with the fixed-alignment "
          f"fallback, {dt:.0f} s ({dt / max(len(emb.names), 1) * 1000:.1f} ms/image) -> {args.out}")


if __name__ == "__main__":
    main()
