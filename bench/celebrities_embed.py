"""Embed every face of the ``celebrities/`` development set once and save it as ``.npz``.

    nice python3 bench/celebrities_embed.py --root ../shared/datasets/celebrities \
        --out /work/cache/celeb_sface.npz [--recognizer sface] [--min-face 24]

One folder per person; the folder names the photo's *main* person, other faces in the
same photo are unlabelled. Every detected face is kept (a library clusters all of them)
and one face per photo is marked as the folder's person (``main``): the face nearest to
that person's centroid, where the centroid is first the mean of the largest faces and
then re-estimated once from the chosen faces. Byte-identical duplicate files are kept
once (``duplicates`` counts the dropped copies): a library indexes a copy as another
photo, but a duplicate would count the same face twice in every score.

Keys: ``paths`` (photo path relative to the root, per face), ``identities`` (folder
name, per face), ``main`` (bool: this face is the folder's person), ``embeddings``
(n, d float32, unit norm), ``quality`` (n,), ``boxes`` (n, 4), ``image_sizes`` (n, 2:
width, height), ``face_index`` (position of the face in its photo).
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from faceatlas import FaceEngine
from faceatlas.cli.common import err_console, track
from faceatlas.errors import FaceAtlasError
from faceatlas.files import atomic_write
from faceatlas.image import load_image


def _photos(root: Path) -> tuple[list[tuple[str, Path]], int]:
    seen: set[str] = set()
    out: list[tuple[str, Path]] = []
    dropped = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                dropped += 1
                continue
            seen.add(digest)
            out.append((folder.name, path))
    return out, dropped


def _mark_main(identities: np.ndarray, paths: np.ndarray, emb: np.ndarray,
               boxes: np.ndarray) -> np.ndarray:
    main = np.zeros(len(paths), dtype=bool)
    area = boxes[:, 2] * boxes[:, 3]
    for person in np.unique(identities):
        rows = np.flatnonzero(identities == person)
        photos: dict[str, list[int]] = {}
        for r in rows:
            photos.setdefault(str(paths[r]), []).append(int(r))
        largest = [max(rs, key=lambda r: area[r]) for rs in photos.values()]
        centroid = emb[largest].mean(axis=0)
        for _ in range(2):
            chosen = [max(rs, key=lambda r: float(emb[r] @ centroid)) for rs in photos.values()]
            centroid = emb[chosen].mean(axis=0)
        main[chosen] = True
    return main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--recognizer", default="sface")
    ap.add_argument("--min-face", type=int, default=24)
    args = ap.parse_args()
    engine = FaceEngine(recognizer=args.recognizer, min_face=args.min_face)
    photos, dropped = _photos(args.root)
    t0 = time.perf_counter()
    rows: dict[str, list] = {k: [] for k in ("paths", "identities", "embeddings", "quality",
                                             "boxes", "image_sizes", "face_index")}
    for person, path in track(photos, len(photos), "embedding celebrities"):
        try:
            bgr = load_image(path)
            faces = engine.analyze(bgr)
        except FaceAtlasError as exc:
            err_console.print(f"skipped {path}: {exc}")
            continue
        for i, face in enumerate(faces):
            rows["paths"].append(str(path.relative_to(args.root)))
            rows["identities"].append(person)
            rows["embeddings"].append(face.embedding.vector)
            rows["quality"].append(face.quality.score)
            rows["boxes"].append(face.detection.box)
            rows["image_sizes"].append((bgr.shape[1], bgr.shape[0]))
            rows["face_index"].append(i)
    arrays = {
        "paths": np.array(rows["paths"]), "identities": np.array(rows["identities"]),
        "embeddings": np.asarray(rows["embeddings"], dtype=np.float32),
        "quality": np.asarray(rows["quality"], dtype=np.float32),
        "boxes": np.asarray(rows["boxes"], dtype=np.float32),
        "image_sizes": np.asarray(rows["image_sizes"], dtype=np.int32),
        "face_index": np.asarray(rows["face_index"], dtype=np.int32),
    }
    arrays["main"] = _mark_main(arrays["identities"], arrays["paths"], arrays["embeddings"],
                                arrays["boxes"])
    arrays["duplicates"] = np.array(dropped)
    with atomic_write(args.out) as fh:
        np.savez(fh, **arrays)
    dt = time.perf_counter() - t0
    n_photos = len(set(rows["paths"]))
    print(f"{len(photos)} photos ({dropped} duplicate files dropped), {n_photos} with faces, "
          f"{len(rows['paths'])} faces, {int(arrays['main'].sum())} main faces, {dt:.0f} s "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
