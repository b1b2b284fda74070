"""Shared by the privacy and portability tests: a small library built from the sample
portraits (plus one composed two-person photo), and a raw byte scan of a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceEngine
from faceatlas.library import Indexer, Library
from faceatlas.library.recognize import enroll


def compose(left: Path, right: Path, out: Path, height: int = 480) -> None:
    """Two photos side by side at the same height (a two-person photo)."""
    parts = []
    for path in (left, right):
        img = cv2.imread(str(path))
        assert img is not None
        scale = height / img.shape[0]
        parts.append(cv2.resize(img, (int(img.shape[1] * scale), height)))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.hstack(parts), [cv2.IMWRITE_JPEG_QUALITY, 92])


def build_library(root: Path, portraits: Path, engine: FaceEngine) -> tuple[Path, Path]:
    """photos/: the six portraits and group.jpg (Person A's second photo next to
    impostor_2); Person A enrolled from person_a_1, Person B from person_b_1.
    Returns (photos folder, library folder)."""
    photos = root / "photos"
    photos.mkdir(parents=True)
    for p in sorted(portraits.glob("*.jpg")):
        shutil.copy(p, photos / p.name)
    compose(portraits / "person_a_2.jpg", portraits / "impostor_2.jpg", photos / "group.jpg")
    lib = root / "lib"
    with Library.open(lib) as opened:
        summary = Indexer(opened, workers=0, engine=engine).run([str(photos)])
        assert summary.new == 7 and summary.faces == 8, summary
        for who, photo in (("Person A", "person_a_1"), ("Person B", "person_b_1")):
            _, outcomes = enroll(opened, who, [photos / f"{photo}.jpg"], engine)
            assert [o.status for o in outcomes] == ["enrolled"]
    return photos, lib


def face_data(lib: Path, photos: list[Path], left_only: Path | None = None
              ) -> dict[int, tuple[bytes, bytes]]:
    """``{face id: (vector bytes, thumbnail)}`` of every face of ``photos`` (for
    ``left_only``, only its faces in the left half)."""
    out: dict[int, tuple[bytes, bytes]] = {}
    with Library.open(lib, create=False) as opened:
        store = opened.store
        [model] = store.embedding_models()
        for photo in photos:
            rec = store.image_by_path(str(photo))
            assert rec is not None, photo
            for f in store.faces_of_image(rec.id):
                if photo == left_only and rec.width and f.box[0] > rec.width / 2:
                    continue
                [(_, vecs)] = list(store.embeddings(model, [f.id]))
                thumb = store.thumbnail(f.id)
                assert thumb
                out[f.id] = (vecs[0].tobytes(), thumb)
    return out


def needles(data: dict[int, tuple[bytes, bytes]]) -> list[bytes]:
    """Byte strings whose presence betrays these faces: each whole vector, 16-byte windows
    of it, each whole thumbnail and 16-byte windows of its compressed data (JPEG headers
    are shared by every thumbnail, so windows are taken past them)."""
    out: list[bytes] = []
    for vec, thumb in data.values():
        out.append(vec)
        out += [vec[i:i + 16] for i in (0, 100, 256, len(vec) - 16)]
        out.append(thumb)
        out += [thumb[i:i + 16] for i in (len(thumb) // 2, 3 * len(thumb) // 4,
                                          len(thumb) - 40)]
    return out


def traces(folder: Path, wanted: list[bytes]) -> list[tuple[str, int]]:
    """(file, needle index) for every needle found in any file under ``folder``."""
    hits = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits += [(str(path.relative_to(folder)), i) for i, n in enumerate(wanted)
                     if n in data]
    return hits


def copy_library(src: Path, dst: Path) -> Path:
    """A copy of a closed library folder."""
    shutil.copytree(src, dst)
    return dst
