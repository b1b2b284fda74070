"""Centroid of unrecognisable faces (ERS) for a recognizer, and its distance ramp.

    nice python3 bench/ers_centroid.py --archive lfw-deepfunneled.tgz \
        --embeddings /work/cache/lfw_sface.npz [--recognizer sface] [--write]

Following ERS (CVPR 2023), faces that carry no identity all embed near one point.
Aligned LFW crops (the landmarks stored by ``bench/lfw_embed.py``) are degraded
beyond recognition: every crop is shrunk to 8-12 pixels and scaled back, then
strongly blurred, noised and/or half occluded at random. Their embeddings' mean,
normalised, is the centroid. The quality ramp runs from ``distance_low`` = median
cosine distance of the degraded faces to the centroid (recognizability 0) to
``distance_high`` = median distance of the clean LFW faces (recognizability 1).
With ``--write`` the centroid and ramp go to
``src/faceatlas/quality/data/ers_<recognizer>.npy`` / ``.json``.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.alignment import align_face
from faceatlas.cli.common import track
from faceatlas.evaluation.lfw import LfwEmbeddings, iter_archive
from faceatlas.image import decode_bytes

DATA = Path(__file__).resolve().parents[1] / "src/faceatlas/quality/data"


def degrade(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One unrecognisable version of an aligned crop."""
    h, w = crop.shape[:2]
    side = int(rng.integers(8, 13))
    out = cv2.resize(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA), (w, h),
                     interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(3.0, 8.0)))
    if rng.random() < 0.5:
        out = out + rng.normal(0.0, float(rng.uniform(20.0, 50.0)), out.shape)
    if rng.random() < 0.3:
        y0 = int(rng.integers(0, h // 2))
        out[y0:y0 + h // 2] = float(rng.uniform(0, 255))
    return np.clip(out, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description="ERS centroid of unrecognisable faces")
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--embeddings", type=Path, required=True, help="bench/lfw_embed.py output")
    ap.add_argument("--recognizer", default="sface")
    ap.add_argument("--samples", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    emb = LfwEmbeddings.load(args.embeddings)
    rows = emb.index()
    rng = np.random.default_rng(args.seed)
    pick = set(rng.choice(emb.names, args.samples, replace=False).tolist())
    engine = FaceEngine(recognizer=args.recognizer)
    crops = []
    for name, data in track(iter_archive(args.archive, pick), len(pick), "degrading"):
        crop = align_face(decode_bytes(data, name), emb.landmarks[rows[name]])
        crops.append(degrade(crop, rng))
    bad = engine.recognizer.embed_vectors(crops)
    centroid = bad.mean(axis=0)
    centroid /= np.linalg.norm(centroid)
    d_bad = 1.0 - bad @ centroid
    d_clean = 1.0 - emb.embeddings @ centroid
    meta = {
        "distance_low": round(float(np.median(d_bad)), 4),
        "distance_high": round(float(np.median(d_clean)), 4),
        "degraded_distance_percentiles_5_50_95": np.percentile(d_bad, [5, 50, 95]).round(4)
        .tolist(),
        "clean_distance_percentiles_5_50_95": np.percentile(d_clean, [5, 50, 95]).round(4)
        .tolist(),
        "degraded_samples": len(crops),
        "model": engine.model_id,
        "source": "bench/ers_centroid.py on LFW deep-funneled crops, "
                  f"{datetime.now(UTC).date().isoformat()}",
    }
    print(json.dumps(meta, indent=1))
    if args.write:
        DATA.mkdir(parents=True, exist_ok=True)
        np.save(DATA / f"ers_{args.recognizer}.npy", centroid.astype(np.float32))
        (DATA / f"ers_{args.recognizer}.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {DATA}/ers_{args.recognizer}.npy and .json")


if __name__ == "__main__":
    main()
