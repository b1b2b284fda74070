"""Labeled Faces in the Wild: the official archive, the pairs protocol, and embedding
every image of the archive once.

The archive (``lfw-deepfunneled.tgz`` or ``lfw.tgz``) is read in place with
:mod:`tarfile`, one sequential pass, nothing extracted to disk. Image names are the
archive paths without their top folder, e.g. ``Aaron_Eckhart/Aaron_Eckhart_0001.jpg``.

Which face is embedded: the detected face whose box centre is closest to the image
centre (LFW centres the labelled person). When YuNet finds no face at its normal
score threshold, detection is retried at :data:`FALLBACK_SCORE`; when that finds none
either, the face is aligned with fixed landmarks, the median landmark positions of
all detected faces of the same archive (relative to image size: deep-funneled images
are all 250x250 with the face at the same place). Those images are flagged in
``fallback`` and their detection score is recorded as 0, which lowers their quality.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..alignment import align_face
from ..detection import YuNetDetector
from ..engine import FaceEngine
from ..errors import DatasetError, FaceAtlasError
from ..image import decode_bytes
from ..types import Detection
from .metrics import kfold_accuracy, summarize

#: Detection score threshold of the second detection attempt.
FALLBACK_SCORE = 0.3

Item = tuple[str, bytes]

_IMAGE_RE = re.compile(r"^[^/]+/[^/]+\.(jpe?g|png)$", re.IGNORECASE)


# ----------------------------------------------------------------------------- archive


def lfw_name(identity: str, index: int) -> str:
    """Archive name of an identity's ``index``-th image (1-based), LFW convention."""
    return f"{identity}/{identity}_{index:04d}.jpg"


def iter_archive(archive: Path, only: set[str] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(name, jpeg bytes)`` for every image of an LFW tar archive (or those named in
    ``only``), in archive order.

    Reads the (possibly gzip-compressed) tar as a stream; raises :class:`DatasetError`
    if the file is missing or is not a tar archive.
    """
    if not archive.is_file():
        raise DatasetError(f"{archive}: no such archive (expected lfw-deepfunneled.tgz)")
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = _strip_top(member.name)
                if not _IMAGE_RE.match(name) or (only is not None and name not in only):
                    continue
                fh = tar.extractfile(member)
                if fh is None:
                    continue
                yield name, fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive}: not a readable tar archive ({exc})") from None


def count_images(archive: Path, only: set[str] | None = None) -> int:
    """Number of images in the archive (or of those in ``only``)."""
    n = 0
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                name = _strip_top(member.name)
                if member.isfile() and _IMAGE_RE.match(name) and (only is None or name in only):
                    n += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive}: not a readable tar archive ({exc})") from None
    return n


def _strip_top(name: str) -> str:
    parts = name.strip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else name


# ------------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pair:
    """One protocol pair: two image names and whether they show the same person."""

    a: str
    b: str
    same: bool
    fold: int


def read_pairs(path: Path) -> list[Pair]:
    """Parse an official ``pairs.txt`` (header ``folds<TAB>n``, then per fold ``n``
    genuine lines ``name i j`` followed by ``n`` impostor lines ``name1 i name2 j``).

    Raises :class:`DatasetError` naming the first malformed line.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such pairs file")
    lines = [ln.split() for ln in path.read_text(errors="replace").splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise DatasetError(f"{path}: pairs file is empty")
    try:
        folds, per_fold = (int(v) for v in lines[0])
    except ValueError:
        raise DatasetError(f"{path}: line 1 should be '<folds> <pairs per fold>', "
                           f"got {' '.join(lines[0])!r}") from None
    expected = folds * per_fold * 2
    if len(lines) - 1 != expected:
        raise DatasetError(f"{path}: header announces {folds} folds x {per_fold} x 2 = "
                           f"{expected} pairs but the file has {len(lines) - 1}")
    pairs: list[Pair] = []
    for k, parts in enumerate(lines[1:]):
        fold, pos = divmod(k, 2 * per_fold)
        genuine = pos < per_fold
        try:
            if genuine and len(parts) == 3:
                pairs.append(Pair(lfw_name(parts[0], int(parts[1])),
                                  lfw_name(parts[0], int(parts[2])), True, fold))
                continue
            if not genuine and len(parts) == 4:
                pairs.append(Pair(lfw_name(parts[0], int(parts[1])),
                                  lfw_name(parts[2], int(parts[3])), False, fold))
                continue
        except ValueError:
            pass
        want = "a genuine pair 'name i j'" if genuine else "an impostor pair 'name1 i name2 j'"
        raise DatasetError(f"{path}: line {k + 2} should be {want}, "
                           f"got {' '.join(parts)!r}")
    return pairs


# ---------------------------------------------------------------------------- embedding


@dataclass
class LfwEmbeddings:
    """One embedding per archive image, with its quality and how it was found."""

    names: np.ndarray  # (n,) str
    identities: np.ndarray  # (n,) str
    embeddings: np.ndarray  # (n, d) float32, unit norm
    quality: np.ndarray  # (n,) float32
    fallback: np.ndarray  # (n,) bool: fixed central alignment was used
    landmarks: np.ndarray  # (n, 5, 2) float32, landmarks the crop was aligned with
    model: str = ""

    def index(self) -> dict[str, int]:
        """Row of each image name."""
        return {str(n): i for i, n in enumerate(self.names)}

    def save(self, path: Path) -> None:
        """Write an ``.npz`` atomically (temporary file, then rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, names=self.names, identities=self.identities,
                 embeddings=self.embeddings.astype(np.float32),
                 quality=self.quality.astype(np.float32), fallback=self.fallback,
                 landmarks=self.landmarks.astype(np.float32), model=np.array(self.model))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LfwEmbeddings:
        """Read a file written by :meth:`save`."""
        if not path.is_file():
            raise DatasetError(f"{path}: no such embeddings file (run bench/lfw_embed.py)")
        with np.load(path, allow_pickle=False) as z:
            n = len(z["names"])
            lms = z["landmarks"] if "landmarks" in z else np.zeros((n, 5, 2), np.float32)
            return cls(z["names"], z["identities"], z["embeddings"], z["quality"],
                       z["fallback"], lms, str(z["model"]) if "model" in z else "")


def central_face(dets: list[Detection], width: int, height: int) -> Detection | None:
    """The detection whose box centre is closest to the image centre."""
    if not dets:
        return None
    cx, cy = width / 2.0, height / 2.0
    return min(dets, key=lambda d: (d.box[0] + d.box[2] / 2 - cx) ** 2
               + (d.box[1] + d.box[3] / 2 - cy) ** 2)


def embed_archive(archive: Path, engine: FaceEngine,
                  progress: Callable[[Iterable[Item], int], Iterable[Item]] | None = None,
                  on_error: Callable[[str, str], None] | None = None,
                  only: set[str] | None = None) -> LfwEmbeddings:
    """Embed the central face of every image of an LFW archive (or of the images named
    in ``only``) with ``engine``.

    ``progress`` wraps the image iterator (e.g. a progress bar; it receives the
    total); ``on_error(name, message)`` is told about unreadable images, which are
    skipped.
    """
    retry = YuNetDetector(engine.registry.get(engine.detector.name), engine.registry,
                          score_threshold=FALLBACK_SCORE)
    if not archive.is_file():
        raise DatasetError(f"{archive}: no such archive (expected lfw-deepfunneled.tgz)")
    total = count_images(archive, only)
    items: Iterable[tuple[str, bytes]] = iter_archive(archive, only)
    if progress is not None:
        items = progress(items, total)
    names: list[str] = []
    vecs: list[np.ndarray] = []
    quals: list[float] = []
    lms: list[np.ndarray] = []
    pending: list[tuple[int, np.ndarray]] = []  # (row, bgr) of images without a face
    rel_landmarks: list[np.ndarray] = []
    for name, data in items:
        try:
            bgr = decode_bytes(data, name)
        except FaceAtlasError as exc:
            if on_error is not None:
                on_error(name, str(exc))
            continue
        h, w = bgr.shape[:2]
        det = central_face(engine.detect(bgr), w, h) or central_face(retry.detect(bgr), w, h)
        row = len(names)
        names.append(name)
        if det is None:
            pending.append((row, bgr))
            vecs.append(np.zeros(0, np.float32))
            quals.append(0.0)
            lms.append(np.zeros((5, 2), np.float32))
            continue
        face = engine.analyze(bgr, [det])[0]
        vecs.append(face.embedding.vector)
        quals.append(face.quality.score)
        lms.append(det.landmarks)
        rel_landmarks.append(det.landmarks / np.array([w, h], np.float32))
    if pending and not rel_landmarks:
        raise DatasetError(f"{archive}: no face detected in any image; cannot derive the "
                           "fixed alignment for the remaining images")
    fixed = np.median(np.stack(rel_landmarks), axis=0) if rel_landmarks else None
    for row, bgr in pending:
        assert fixed is not None
        h, w = bgr.shape[:2]
        lm = (fixed * np.array([w, h], np.float32)).astype(np.float32)
        det = Detection((w / 4.0, h / 4.0, w / 2.0, h / 2.0), lm, 0.0)
        face = engine.analyze(bgr, [det])[0]
        vecs[row], quals[row], lms[row] = face.embedding.vector, face.quality.score, lm
    fallback = np.zeros(len(names), bool)
    fallback[[row for row, _ in pending]] = True
    return LfwEmbeddings(
        names=np.array(names), identities=np.array([n.split("/")[0] for n in names]),
        embeddings=np.stack(vecs).astype(np.float32) if vecs else np.zeros((0, 0), np.float32),
        quality=np.array(quals, np.float32), fallback=fallback,
        landmarks=np.stack(lms).astype(np.float32) if lms else np.zeros((0, 5, 2), np.float32),
        model=engine.model_id)


def pair_indices(pairs: list[Pair], emb: LfwEmbeddings) -> tuple[np.ndarray, np.ndarray]:
    """Rows of both images of every pair; raises :class:`DatasetError` for a missing one."""
    idx = emb.index()
    missing = [n for p in pairs for n in (p.a, p.b) if n not in idx]
    if missing:
        raise DatasetError(f"{len(missing)} pair image(s) are not in the archive, e.g. "
                           f"{missing[0]}; is the pairs file for this archive?")
    return (np.array([idx[p.a] for p in pairs]), np.array([idx[p.b] for p in pairs]))


# ---------------------------------------------------------------------------- protocol


def protocol_scores(pairs: list[Pair], emb: LfwEmbeddings
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cosine scores, same labels, folds)`` of the protocol pairs."""
    ia, ib = pair_indices(pairs, emb)
    scores = np.einsum("ij,ij->i", emb.embeddings[ia].astype(np.float64),
                       emb.embeddings[ib].astype(np.float64))
    return scores, np.array([p.same for p in pairs]), np.array([p.fold for p in pairs])


def protocol_report(scores: np.ndarray, labels: np.ndarray,
                    folds: np.ndarray) -> dict[str, object]:
    """The LFW figures: 10-fold accuracy (mean and std, percent; threshold fitted on
    nine folds, applied to the tenth) and the threshold-free metrics on all pairs."""
    cv = kfold_accuracy(scores, labels, folds)
    return {
        "accuracy": 100.0 * cv.mean, "accuracy_std": 100.0 * cv.std,
        "fold_accuracies": [100.0 * a for a in cv.accuracies],
        "fold_thresholds": cv.thresholds, **summarize(scores, labels).to_dict(),
    }


def reembed_archive(archive: Path, emb: LfwEmbeddings,
                    embed: Callable[[list[np.ndarray]], np.ndarray], model: str,
                    only: set[str] | None = None,
                    progress: Callable[[Iterable[Item], int], Iterable[Item]] | None = None,
                    batch: int = 64) -> LfwEmbeddings:
    """Embed the images of ``emb`` again with another recognizer (``embed``: aligned
    112x112 BGR crops to unit vectors), reusing the landmarks found the first time so
    that two recognizers are compared on exactly the same crops."""
    rows = emb.index()
    wanted = set(rows) if only is None else set(only) & set(rows)
    items: Iterable[Item] = iter_archive(archive, wanted)
    if progress is not None:
        items = progress(items, len(wanted))
    names: list[str] = []
    crops: list[np.ndarray] = []
    vecs: list[np.ndarray] = []
    for name, data in items:
        names.append(name)
        crops.append(align_face(decode_bytes(data, name), emb.landmarks[rows[name]]))
        if len(crops) == batch:
            vecs.append(embed(crops))
            crops = []
    if crops:
        vecs.append(embed(crops))
    idx = np.array([rows[n] for n in names], int)
    return LfwEmbeddings(names=np.array(names), identities=emb.identities[idx],
                         embeddings=np.concatenate(vecs).astype(np.float32),
                         quality=emb.quality[idx], fallback=emb.fallback[idx],
                         landmarks=emb.landmarks[idx], model=model)
