"""Ingest throughput of an LFW subset: the single-process path (``--workers 0``), the local
process pool with 2 workers (the baseline at its best setting on 2 cores) and Ray
(``index --ray local``) with 1 and 2 actors, in one run, each into a fresh library.

    python3 bench/ray_ingest.py --images 300

The first N .jpg of lfw-deepfunneled.tgz (archive order) are extracted to a temp folder.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
import time
from pathlib import Path

from faceatlas.library import Indexer, Library
from faceatlas.library.analysis import EngineSettings

ARCHIVE = Path("/work/shared/datasets/lfw/lfw-deepfunneled.tgz")


def extract(n: int, dest: Path) -> int:
    count = 0
    with tarfile.open(ARCHIVE) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".jpg"):
                member.name = Path(member.name).name
                tar.extract(member, dest, filter="data")
                count += 1
                if count >= n:
                    break
    return count


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fa-ray-bench-"))
    photos = tmp / "photos"
    photos.mkdir()
    n = extract(args.images, photos)
    out: dict[str, object] = {"images": n}
    for name, workers, ray in (("single_process", 0, None), ("process_pool_2", 2, None),
                               ("ray_local_1", 1, "local"), ("ray_local_2", 2, "local")):
        with Library.open(tmp / name, store=None) as lib:
            t = time.perf_counter()
            summary = Indexer(lib, EngineSettings(threads=1), workers, ray=ray).run([photos])
            secs = time.perf_counter() - t
            faces = lib.store.stats()["faces"]
        out[name] = {"seconds": round(secs, 1), "images_per_s": round(n / secs, 2),
                     "faces": faces, "new": summary.new, "errors": len(summary.errors)}
        print(name, json.dumps(out[name]), flush=True)
    base = out["single_process"]["images_per_s"]  # type: ignore[index]
    for name in ("process_pool_2", "ray_local_1", "ray_local_2"):
        out[name]["vs_single"] = round(out[name]["images_per_s"] / base, 2)  # type: ignore[index]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
