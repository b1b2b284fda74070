"""Clustering parameters and the one strictness knob that sets them.

``strictness`` in [0, 1] moves every similarity threshold together between a loose and
a strict end; 0.5 is the default. The thresholds are for SFace (128-d) embeddings.

How the defaults were chosen (``bench/cluster_people.py --grid``, docs/benchmarks.md,
``## People clustering``): on the *calibration halves* of two datasets (identities whose
name has an even CRC-32: half of LFW, many people with one or two photos; half of
``celebrities/``, a few people with ~100 photos over decades), over link_sim x
link_relief x k x the neighbour-consensus ``absorb_*`` knobs, maximising the worst
dataset's BCubed-F margin over average-linkage clustering at the one threshold best for
both halves together; on a tie the smaller k (speed at 100k faces: k 24 is 1.3x slower
than k 16), then the better mean BCubed F. The odd halves are only used for
reporting. ``min_quality`` and the edge thresholds were chosen earlier on the LFW
calibration half (``bench/cluster_lfw.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import FaceAtlasError

#: (loose, strict) ends of each threshold; linear in between.
LINK_SIM = (0.40, 0.60)
EDGE_SIM = (0.25, 0.45)
ATTACH_SIM = (0.45, 0.65)
DEFAULT_STRICTNESS = 0.5


@dataclass(frozen=True)
class ClusterParams:
    """Every knob of :func:`faceatlas.cluster.cluster_faces`.

    * ``k``: neighbours looked at per face;
    * ``edge_sim``: least cosine for a neighbour to be a candidate edge;
    * ``strong_sim``: neighbours at least this similar are kept whatever the adaptive cut
      says, and a one-sided (non-mutual) edge is accepted only at or above it;
    * ``link_sim``: least average-linkage similarity (mean cosine over every cross pair)
      for two single faces to merge — what stops a chain of look-alikes;
    * ``link_relief``: how much lower that least similarity is for two large groups
      (``link_sim - link_relief * (1 - 1/sqrt(a*b))`` for sizes a and b): the mean over
      many cross pairs is a far steadier estimate than one pair's similarity;
    * ``attach_sim`` / ``attach_margin``: a low-quality face joins a group only when its
      mean similarity to the group is at least ``attach_sim`` and beats the runner-up
      group by ``attach_margin``;
    * ``min_quality``: faces below it never seed or link groups;
    * ``min_size``: groups smaller than this (and not anchored to a person) stay
      unassigned and are retried at the next run;
    * ``absorb_max_size`` / ``absorb_share`` / ``absorb_sim`` / ``absorb_min_target`` /
      ``absorb_gap`` / ``absorb_depth``: the neighbour-consensus pass after the
      agglomeration (a group of at most ``absorb_max_size`` faces whose neighbours are
      nearly all, by ``absorb_share``, in one group of at least ``absorb_min_target``
      faces, clearly closer than anyone else by ``absorb_gap`` (looking
      ``absorb_depth * k`` neighbours deep when the first k are all that group's), joins
      it when its mean similarity is at least ``absorb_sim``); ``absorb_share`` above 1
      turns the pass off.
    """

    k: int = 16
    edge_sim: float = 0.35
    strong_sim: float = 0.50
    link_sim: float = 0.50
    link_relief: float = 0.10
    attach_sim: float = 0.55
    attach_margin: float = 0.05
    min_quality: float = 0.10
    min_size: int = 1
    absorb_max_size: int = 3
    absorb_share: float = 0.8
    absorb_sim: float = 0.30
    absorb_min_target: int = 8
    absorb_gap: float = 0.10
    absorb_depth: int = 4

    def __post_init__(self) -> None:
        if self.k < 1:
            raise FaceAtlasError(f"k must be at least 1, got {self.k}")
        if self.min_size < 1:
            raise FaceAtlasError(f"min_size must be at least 1, got {self.min_size}")

    @classmethod
    def from_strictness(cls, strictness: float = DEFAULT_STRICTNESS,
                        **overrides: float | int) -> ClusterParams:
        """Parameters for ``strictness`` in [0, 1] (0 = merge eagerly, 1 = only very
        close faces), with explicit ``overrides`` applied last."""
        if not 0.0 <= strictness <= 1.0:
            raise FaceAtlasError(f"--strictness must be between 0 and 1, got {strictness}")

        def lerp(ends: tuple[float, float]) -> float:
            return ends[0] + strictness * (ends[1] - ends[0])

        edge = lerp(EDGE_SIM)
        base = cls(edge_sim=edge, strong_sim=edge + 0.15, link_sim=lerp(LINK_SIM),
                   attach_sim=lerp(ATTACH_SIM))
        return replace(base, **overrides)  # type: ignore[arg-type]
