"""Clustering algorithm on synthetic embeddings: quality, density, constraints,
incremental behaviour and every kind of user decision."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import radius_neighbors_graph

from faceatlas.cluster import ClusterParams, Constraints, cluster_faces
from faceatlas.errors import FaceAtlasError
from faceatlas.evaluation.clustering import score_clustering

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import identity_clustered  # noqa: E402


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return identity_clustered(1200, 150, seed=3)


def test_recovers_identities(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    result = cluster_faces(x)
    scores = score_clustering(y, result.labels)
    assert scores.bcubed.f1 > 0.95
    assert scores.pairwise.precision > 0.98
    assert result.new_people == sorted(set(result.labels.tolist()))


def test_strictness_orders_cluster_count(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    counts = [len(cluster_faces(x, params=ClusterParams.from_strictness(s)).new_people)
              for s in (0.0, 0.5, 1.0)]
    assert counts[0] <= counts[1] <= counts[2]
    assert counts[0] < counts[2]
    with pytest.raises(FaceAtlasError):
        ClusterParams.from_strictness(1.5)


def _chain() -> np.ndarray:
    """Two people of 12 faces each, plus 5 look-alikes on the arc from one to the
    other, each about as close to the next as two photos of one person are."""
    rng = np.random.default_rng(0)
    a, b = _unit(rng.standard_normal((2, 128)))
    b = _unit(b - (b @ a) * a)                       # orthogonal centres
    t = np.linspace(0, 1, 7)[1:-1, None]
    centres = np.vstack([np.repeat(a[None], 12, 0), np.repeat(b[None], 12, 0),
                         _unit(np.cos(t * np.pi / 2) * a + np.sin(t * np.pi / 2) * b)])
    return _unit(centres + 0.05 * rng.standard_normal(centres.shape))


def test_chain_of_lookalikes_does_not_merge_two_people() -> None:
    x = _chain()
    params = ClusterParams.from_strictness(0.5)
    # plain single linkage at the same edge threshold does merge them (the trap is real)
    graph = radius_neighbors_graph(x, 1 - params.edge_sim, metric="cosine")
    _, single = connected_components(graph, directed=False)
    assert single[0] == single[12]
    labels = cluster_faces(x, params=params).labels
    assert labels[0] != labels[12]
    assert len(set(labels[:12].tolist())) == 1 and len(set(labels[12:24].tolist())) == 1


def _two_groups(size: int, cross: float, seed: int = 0) -> np.ndarray:
    """Two groups of ``size`` faces whose centres have cosine ``cross``."""
    rng = np.random.default_rng(seed)
    a, b = _unit(rng.standard_normal((2, 128)))
    b = _unit(b - (a @ b) * a)
    centres = np.stack([a, cross * a + np.sqrt(1 - cross**2) * b])
    return _unit(np.repeat(centres, size, axis=0)
                 + 0.02 * rng.standard_normal((2 * size, 128)))


def test_large_groups_merge_at_a_lower_mean_similarity_than_single_faces() -> None:
    params = ClusterParams(edge_sim=0.3, strong_sim=0.4, link_sim=0.46, link_relief=0.06)
    groups = _two_groups(8, 0.43)
    cross = float((groups[:8] @ groups[8:].T).mean())
    assert params.link_sim - params.link_relief < cross < params.link_sim
    # 8 x 8 faces: threshold 0.46 - 0.06 * (1 - 1/8) = 0.4075 < cross: one person
    assert len(set(cluster_faces(groups, params=params).labels.tolist())) == 1
    no_relief = ClusterParams(edge_sim=0.3, strong_sim=0.4, link_sim=0.46, link_relief=0.0)
    assert len(set(cluster_faces(groups, params=no_relief).labels.tolist())) == 2
    # two single faces just as similar: threshold link_sim, two people
    pair = _two_groups(1, 0.43)
    assert len(set(cluster_faces(pair, params=params).labels.tolist())) == 2


def test_faces_of_one_photo_never_share_a_person() -> None:
    rng = np.random.default_rng(1)
    c = _unit(rng.standard_normal(128))
    x = _unit(c + 0.03 * rng.standard_normal((4, 128)))
    assert len(set(cluster_faces(x).labels.tolist())) == 1
    photos = np.array([7, 7, 8, 9])
    labels = cluster_faces(x, photos=photos).labels
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])


def test_low_quality_faces_never_seed_and_join_only_when_confident() -> None:
    rng = np.random.default_rng(2)
    a, b, c = _unit(rng.standard_normal((3, 128)))
    good_a = _unit(a + 0.04 * rng.standard_normal((5, 128)))
    good_b = _unit(b + 0.04 * rng.standard_normal((5, 128)))
    lonely = _unit(c + 0.04 * rng.standard_normal((4, 128)))     # a person seen only badly
    close = _unit(a + 0.06 * rng.standard_normal((1, 128)))      # poor photo of A
    between = _unit(a + b + 0.02 * rng.standard_normal((1, 128)))  # ambiguous A or B
    x = np.vstack([good_a, good_b, lonely, close, between])
    quality = np.r_[np.full(10, 0.9), np.full(6, 0.05)]
    labels = cluster_faces(x, quality=quality).labels
    assert (labels[10:14] == -1).all()            # never a person of their own
    assert labels[14] == labels[0]                # confident: joins A
    assert labels[15] == -1                       # ambiguous: stays unassigned
    # with good quality the lonely faces do form a person
    assert len(set(cluster_faces(x[10:14]).labels.tolist())) == 1


def test_min_size_leaves_small_groups_unassigned(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    labels = cluster_faces(x, params=ClusterParams.from_strictness(min_size=3)).labels
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    assert counts.min() >= 3
    assert (labels == -1).any()


def test_incremental_matches_full() -> None:
    x, _ = identity_clustered(1200, 150, seed=3, spread=0.5)
    cut = int(0.8 * len(x))
    first = cluster_faces(x[:cut])
    people = np.r_[first.labels, np.full(len(x) - cut, -1)]
    incremental = cluster_faces(x, people=people)
    full = cluster_faces(x)
    # existing faces keep their person; the partition equals a full run
    assert (incremental.labels[:cut] == first.labels).all()
    assert adjusted_rand_score(full.labels, incremental.labels) == 1.0
    assert set(incremental.new_people).isdisjoint(first.new_people)


def test_incremental_close_to_full_on_harder_data(data: tuple[np.ndarray, np.ndarray]) -> None:
    """With noisier faces the first run's settled groups can differ from what all the
    data would give (an incremental run never merges two existing people): close, not
    equal."""
    x, _ = data
    cut = int(0.8 * len(x))
    first = cluster_faces(x[:cut])
    people = np.r_[first.labels, np.full(len(x) - cut, -1)]
    incremental = cluster_faces(x, people=people).labels
    full = cluster_faces(x).labels
    agreement = score_clustering(full, incremental)
    assert agreement.bcubed.f1 > 0.99 and agreement.pairwise.f1 > 0.98


def test_incremental_only_adds_to_existing_people(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = data
    first = cluster_faces(x)
    again = cluster_faces(x, people=first.labels)
    assert (again.labels == first.labels).all() and again.new_people == []
    assert again.stats["edges"] == 0


def _two_people() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    a, b = _unit(rng.standard_normal((2, 128)))
    x = np.vstack([_unit(a + 0.05 * rng.standard_normal((6, 128))),
                   _unit(b + 0.05 * rng.standard_normal((6, 128)))])
    return x, np.r_[np.zeros(6), np.ones(6)].astype(int)


@pytest.mark.parametrize("full", [False, True])
def test_fixed_assignment_is_never_undone(full: bool) -> None:
    x, _ = _two_people()
    people = np.r_[np.full(6, 10), np.full(6, 20)]
    fixed = np.zeros(12, dtype=bool)
    people[0], fixed[0] = 20, True                # a user moved face 0 into person 20
    fixed[6] = True                               # and confirmed face 6 is person 20
    moved = Constraints(not_person=[(0, 10)])     # (moving it out of 10 rejects 10)
    labels = cluster_faces(x, people=people, fixed=fixed, constraints=moved, full=full).labels
    assert labels[0] == 20 and labels[6] == 20
    assert (labels[1:6] == 10).all()


def test_person_with_two_looks_attracts_both() -> None:
    """A user-made person of two unlike groups (a merge) takes new faces of either."""
    x, _ = _two_people()
    people = np.r_[np.full(3, 7), np.full(6, -1), np.full(3, 7)]
    fixed = people >= 0                           # faces 0-2 (look A) and 9-11 (look B)
    labels = cluster_faces(x, people=people, fixed=fixed, full=True).labels
    assert (labels == 7).all()


@pytest.mark.parametrize("full", [False, True])
def test_must_link_from_merge(full: bool) -> None:
    x, _ = _two_people()
    assert cluster_faces(x, full=full).labels[0] != cluster_faces(x, full=full).labels[6]
    labels = cluster_faces(x, constraints=Constraints(must_link=[(0, 6)]), full=full).labels
    assert labels[0] == labels[6]
    # a merged person (all faces fixed to it) is never split again
    people, fixed = np.full(12, 5), np.ones(12, dtype=bool)
    assert (cluster_faces(x, people=people, fixed=fixed, full=full).labels == 5).all()


@pytest.mark.parametrize("full", [False, True])
def test_cannot_link_from_split(full: bool) -> None:
    x, _ = _two_people()
    split = Constraints(cannot_link=[([0, 1, 2], [3, 4, 5])])
    labels = cluster_faces(x, constraints=split, full=full).labels
    assert set(labels[:3].tolist()).isdisjoint(labels[3:6].tolist())
    # incremental on top of an existing split keeps it too
    people = np.r_[np.full(3, 1), np.full(3, 2), np.full(6, -1)]
    again = cluster_faces(x, people=people, constraints=split).labels
    assert (again[:3] == 1).all() and (again[3:6] == 2).all()


@pytest.mark.parametrize("full", [False, True])
def test_not_this_person(full: bool) -> None:
    x, _ = _two_people()
    people = np.r_[np.full(6, 10), np.full(6, 20)]
    fixed = np.r_[np.zeros(5, bool), [True], np.zeros(6, bool)]   # 10 has a fixed face
    people[0] = -1                                # face 0 was taken out of person 10
    rejected = Constraints(not_person=[(0, 10)])
    labels = cluster_faces(x, people=people, fixed=fixed, constraints=rejected,
                           full=full).labels
    assert labels[0] != 10
    assert (labels[1:6] == 10).all()
    # without the decision it goes straight back
    assert cluster_faces(x, people=people, fixed=fixed, full=full).labels[0] == 10


def test_full_recluster_keeps_person_ids(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Ids survive a full re-cluster, so a hidden (or named) person stays the same row."""
    x, _ = data
    first = cluster_faces(x, first_new_id=100)
    again = cluster_faces(x, people=first.labels, full=True)
    assert (again.labels == first.labels).all() and again.new_people == []


def test_bad_inputs_raise_clean_errors() -> None:
    x, _ = _two_people()
    with pytest.raises(FaceAtlasError):
        cluster_faces(x, people=np.zeros(3))
    with pytest.raises(FaceAtlasError):
        cluster_faces(x, fixed=np.ones(12, bool))
    assert cluster_faces(x[:1]).labels.tolist() == [0]
    assert cluster_faces(np.zeros((0, 128), np.float32)).labels.shape == (0,)


def _person_and_outlier(size: int = 30, seed: int = 4) -> np.ndarray:
    """``size`` faces of one person (spread like real photos: pairwise cosine ~0.5)
    then one unusual photo of them (mean cosine ~0.4 to the others, below the linkage
    threshold, yet its nearest faces are all theirs) and 30 strangers."""
    rng = np.random.default_rng(seed)
    centre = _unit(rng.standard_normal(128))
    faces = _unit(centre + 1.0 * _unit(rng.standard_normal((size, 128))))
    odd = _unit(centre + 1.6 * _unit(rng.standard_normal(128)))
    return np.vstack([faces, odd[None], _unit(rng.standard_normal((30, 128)))])


def test_an_unusual_photo_joins_the_person_all_its_neighbours_belong_to() -> None:
    x = _person_and_outlier()
    cross = float((x[:30] @ x[30]).mean())
    params = ClusterParams.from_strictness()
    assert cross < params.link_sim - params.link_relief        # average linkage says no
    assert cross >= params.absorb_sim
    labels = cluster_faces(x, params=params).labels
    assert len(set(labels[:31].tolist())) == 1
    assert len(set(labels[31:].tolist()) & {int(labels[0])}) == 0
    off = ClusterParams.from_strictness(absorb_share=2.0)
    labels = cluster_faces(x, params=off).labels
    assert labels[30] != labels[0] and len(set(labels[:30].tolist())) == 1


def test_a_face_between_two_people_is_not_absorbed() -> None:
    rng = np.random.default_rng(6)
    a, b = _unit(rng.standard_normal((2, 128)))
    b = _unit(b - (a @ b) * a)
    pa = _unit(a + 1.0 * _unit(rng.standard_normal((12, 128))))
    pb = _unit(b + 1.0 * _unit(rng.standard_normal((12, 128))))
    mid = _unit(a + b + 2.4 * _unit(rng.standard_normal(128)))
    x = np.vstack([pa, pb, mid[None]])
    labels = cluster_faces(x).labels
    assert labels[0] != labels[12]
    assert labels[24] not in (labels[0], labels[12])


def test_absorb_respects_cannot_link() -> None:
    x = _person_and_outlier()
    photos = np.arange(len(x))
    photos[30] = photos[3]                                      # same photo as face 3
    labels = cluster_faces(x, photos=photos).labels
    assert labels[30] != labels[3] and len(set(labels[:30].tolist())) == 1


def test_suggest_pairs_ranks_what_clustering_almost_merged() -> None:
    from faceatlas.cluster.suggest import face_candidates, suggest_pairs

    groups = _two_groups(6, 0.36, seed=2)                      # one person, two looks
    other = _unit(np.random.default_rng(8).standard_normal((6, 128)) * 0.02
                  + _unit(np.random.default_rng(9).standard_normal(128)))
    x = np.vstack([groups, other])
    labels = np.repeat([0, 1, 2], 6)
    params = ClusterParams.from_strictness()
    pairs = suggest_pairs(x, labels, params)
    assert (pairs[0].a, pairs[0].b) == (0, 1)
    assert 0.3 < pairs[0].similarity < 0.4 and pairs[0].margin < 0
    assert all(p.similarity >= 0.2 for p in pairs)
    assert (0, 1) not in {(p.a, p.b) for p in suggest_pairs(x, labels, params,
                                                            exclude={(0, 1)})}
    photos = np.arange(len(x))
    photos[6] = photos[0]                                      # 0 and 1 share a photo
    assert (0, 1) not in {(p.a, p.b) for p in suggest_pairs(x, labels, params,
                                                            photos=photos)}
    cands = face_candidates(x, np.r_[labels[:-1], -1], np.array([len(x) - 1]))
    assert cands[0][0] == 2 and cands[0][1] > 0.9 and cands[0][1] > cands[0][3]
