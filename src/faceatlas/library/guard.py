"""Refusing the faces of people who opted out, before anything about them is stored.

A person marked ``do_not_recognise`` keeps one template per embedding model (see
:mod:`faceatlas.privacy.optout`, which writes them; the guard lives here, with the indexer
that uses it, so that ``library`` does not import ``privacy``). :class:`OptOutGuard`
compares each newly analysed face with the templates of its model at the model's
calibrated 1:1 threshold at :data:`OPTOUT_FAR`: a face that reaches it is dropped before
it is written, so neither its embedding nor its thumbnail is ever saved. The indexer
(:class:`~faceatlas.library.Indexer`) screens every photo with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FaceAtlasError
from ..store import CatalogStore, NewFace, OptOutTemplate
from ..types import model_name
from ..verification import resolve_threshold

#: False-match rate of the 1:1 threshold at which a face counts as an opted-out person's
#: (each new face is compared with the few opt-out templates only, as 1:1 checks).
OPTOUT_FAR = 1e-3


def optout_threshold(model_id: str) -> float:
    """The cosine threshold at which a face of ``model_id`` matches an opt-out template."""
    try:
        return resolve_threshold(model_name(model_id), far=OPTOUT_FAR).value
    except FaceAtlasError:
        raise FaceAtlasError(f"model {model_id} has no calibrated threshold, so faces cannot "
                             "be screened against opted-out people with it; use a calibrated "
                             "recognizer (see `faceatlas models`)") from None


def unit_mean(vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The normalised (weighted) mean of unit vectors: a template."""
    v = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
    w = np.ones(len(v), np.float32) if weights is None else np.asarray(weights, np.float32)
    mean = (v * w[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-6:
        raise FaceAtlasError("the faces given cancel out; cannot build a template")
    return (mean / norm).astype(np.float32)


class OptOutGuard:
    """The opt-out templates of a catalog, by model, ready to screen new faces."""

    def __init__(self, templates: Sequence[OptOutTemplate]) -> None:
        self._by_model: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        models = sorted({t.model for t in templates})
        for model in models:
            rows = [t for t in templates if t.model == model]
            self._by_model[model] = (
                np.array([t.person_id for t in rows], np.int64),
                np.stack([np.asarray(t.vector, np.float32) for t in rows]),
                optout_threshold(model))

    @classmethod
    def load(cls, store: CatalogStore) -> OptOutGuard:
        """The guard of every template stored in ``store``."""
        return cls(store.optout_templates())

    def __bool__(self) -> bool:
        return bool(self._by_model)

    def models(self) -> list[str]:
        """Models that have templates."""
        return sorted(self._by_model)

    def match(self, model: str, vectors: np.ndarray) -> np.ndarray:
        """Per vector (n, dim) of ``model``, the opted-out person it matches, or -1."""
        vecs = np.asarray(vectors, np.float32).reshape(len(vectors), -1)
        out = np.full(len(vecs), -1, np.int64)
        entry = self._by_model.get(model)
        if entry is None or not len(vecs):
            return out
        people, templates, threshold = entry
        if templates.shape[1] != vecs.shape[1]:
            return out
        sims = vecs @ templates.T
        best = sims.argmax(axis=1)
        hit = sims[np.arange(len(vecs)), best] >= threshold
        out[hit] = people[best[hit]]
        return out

    def screen(self, faces: Sequence[NewFace]) -> tuple[list[NewFace], int]:
        """The faces to store (opted-out people's left out) and how many were refused."""
        if not self._by_model or not faces:
            return list(faces), 0
        keep = []
        for face in faces:
            if face.vector is not None and self.match(face.model, face.vector[None, :])[0] >= 0:
                continue
            keep.append(face)
        return keep, len(faces) - len(keep)
