"""Ingest speed: images per second of ``faceatlas index`` with 1 and 2 worker processes,
and the time of a second run over the same, unchanged folder.

Baseline (same run, same files): a plain loop of ``FaceEngine.analyze(path)`` in one
process with no catalog, i.e. the models' own cost; the ratios show what the catalog,
hashing, thumbnails and process pool add or win back.

    python bench/ingest_speed.py --folder /path/to/lfw_extracted --limit 1000

``--limit`` takes the first N image files (sorted by path); they are hard-linked (or
copied) into a scratch folder so the library sees only them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from faceatlas.library import Indexer, Library
from faceatlas.library.analysis import EngineSettings
from faceatlas.library.scan import IMAGE_EXTENSIONS


def _stage(folder: Path, limit: int | None, scratch: Path) -> tuple[Path, int]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if limit:
        files = files[:limit]
    stage = scratch / "photos"
    for src in files:
        dst = stage / src.relative_to(folder)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    return stage, len(files)


def _baseline(stage: Path) -> float:
    settings = EngineSettings(threads=1)
    engine = settings.build()
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    start = time.perf_counter()
    for f in files:
        engine.analyze(f)
    return len(files) / (time.perf_counter() - start)


def _index(stage: Path, lib: Path, workers: int) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    with Library.open(lib) as opened:
        summary = Indexer(opened, EngineSettings(threads=1), workers=workers).run([str(stage)])
    return time.perf_counter() - start, summary.to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, required=True, help="Folder of photos (e.g. LFW).")
    ap.add_argument("--limit", type=int, default=None, help="Use the first N images only.")
    ap.add_argument("--scratch", type=Path, default=None,
                    help="Scratch folder (default: a temporary folder).")
    ap.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here.")
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="ingest_", dir=args.scratch))
    try:
        stage, n = _stage(args.folder, args.limit, scratch)
        base = _baseline(stage)
        print(f"{n} images; baseline engine.analyze loop: {base:.1f} img/s", flush=True)
        results: dict[str, object] = {"images": n, "baseline_img_per_s": round(base, 2)}
        for workers in (1, 2):
            seconds, summary = _index(stage, scratch / f"lib{workers}", workers)
            rate = n / seconds
            results[f"workers_{workers}"] = {"seconds": round(seconds, 2),
                                             "img_per_s": round(rate, 2),
                                             "vs_baseline": round(rate / base, 3),
                                             "faces": summary["faces"],
                                             "errors": summary["errors"]}
            print(f"index, {workers} worker(s): {seconds:.1f} s, {rate:.1f} img/s "
                  f"({rate / base:.2f}x baseline), {summary['faces']} faces", flush=True)
        first = results["workers_2"]["seconds"]  # type: ignore[index]
        seconds, summary = _index(stage, scratch / "lib2", 2)
        assert summary["unchanged"] == n, summary
        results["no_change_rerun"] = {"seconds": round(seconds, 3),
                                      "vs_first_run": round(seconds / first, 4)}
        print(f"second run, nothing changed: {seconds:.2f} s "
              f"({seconds / first:.3f}x the first run)", flush=True)
        if args.out:
            args.out.write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
