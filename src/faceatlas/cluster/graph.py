"""The neighbour graph clustering works on.

1. **kNN**: every face's ``k`` most similar faces (cosine), from faiss: exact
   (``IndexFlatIP``) up to :data:`EXACT_LIMIT` vectors, an inverted-file index
   (``IndexIVFFlat``, ``2·sqrt(n)`` lists, :data:`NPROBE` probed) above.
2. **Adaptive neighbour selection** (after Ada-NETS, Wang et al., ICLR 2022): how many
   of a face's k neighbours are really "the same person" varies from face to face (a
   person with 2 photos vs one with 300). Ada-NETS learns that count; here it is read
   off the face's own similarity profile: the sorted similarities are split in two
   where the between-group variance is largest (Otsu's criterion on the 1-d profile),
   and only the upper group is kept — plus anything at or above ``strong_sim``, minus
   anything below ``edge_sim``.
3. **Mutual support** (density awareness): an edge i–j is kept when each is in the
   other's kept set, or, one-sided, only when its similarity is at least ``strong_sim``.
   A face that is everybody's runner-up (a hub, a blurry look-alike) gets no edges
   from the neighbourhoods it does not belong to.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import faiss
import numpy as np
import scipy.sparse as sp

from .params import ClusterParams

#: Above this many vectors, the kNN search is approximate (IVF).
EXACT_LIMIT = 20_000
#: Inverted lists probed per query by the approximate search.
NPROBE = 16


def knn(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (similarities, indices into ``base``) of each query, each (q, k),
    best first; slots without a neighbour have index -1 and similarity -inf."""
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n, dim = base.shape
    k_eff = min(k, n)
    index: faiss.Index
    if n <= EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(2 * math.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = base[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
        ivf.train(sample)
        ivf.nprobe = NPROBE
        index = ivf
    index.add(base)
    sims, idx = index.search(queries, k_eff)
    if k_eff < k:
        pad = k - k_eff
        sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
    sims = np.where(idx < 0, -np.inf, sims).astype(np.float32)
    return sims, idx.astype(np.int64)


def neighbours(vectors: np.ndarray, nodes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other rows of ``vectors`` for each row index in ``nodes``
    (the node itself, and exact duplicates of it under its own index, are dropped)."""
    sims, idx = knn(vectors, vectors[nodes], k + 1)
    return drop_self(sims, idx, nodes, k)


def drop_self(sims: np.ndarray, idx: np.ndarray, nodes: np.ndarray, k: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """``k`` of the ``k + 1`` neighbours (``sims``, ``idx``, best first) of each node:
    the node itself is dropped where found, else the last (weakest) slot."""
    own = idx == nodes[:, None]
    drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
    keep = np.ones_like(own)
    keep[np.arange(len(nodes)), drop] = False
    return sims[keep].reshape(len(nodes), k), idx[keep].reshape(len(nodes), k)


#: How clustering searches: ``search(x, base, queries, k)`` returns the top-``k``
#: (similarities, positions in ``base``) of the rows ``queries`` of ``x`` among the rows
#: ``base`` of ``x``, each (len(queries), k), best first, as :func:`knn` does.
KnnSearch = Callable[[np.ndarray, np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def memory_search(x: np.ndarray, base: np.ndarray, queries: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The single-machine :data:`KnnSearch`: one faiss index of all of ``x[base]``."""
    return knn(x[base], x[queries], k)


def adaptive_keep(sims: np.ndarray, params: ClusterParams) -> np.ndarray:
    """Boolean (n, k) mask of the neighbours each face keeps (see module docstring).

    ``sims`` holds each face's neighbour similarities, best first."""
    n, k = sims.shape
    s = np.where(np.isfinite(sims), sims, -1.0).astype(np.float64)
    if k == 1:
        cut = np.ones(n, dtype=np.int64)
    else:
        csum = np.cumsum(s, axis=1)
        total = csum[:, -1:]
        j = np.arange(1, k)                               # split after j items
        m0 = csum[:, :-1] / j
        m1 = (total - csum[:, :-1]) / (k - j)
        w0 = j / k
        between = w0 * (1 - w0) * (m0 - m1) ** 2
        cut = between.argmax(axis=1) + 1                  # keep the first `cut`
    rank = np.arange(k)[None, :]
    keep = (rank < cut[:, None]) | (s >= params.strong_sim)
    return keep & (s >= params.edge_sim)


def edge_list(nodes: np.ndarray, sims: np.ndarray, idx: np.ndarray, keep: np.ndarray,
              sources: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Edges ``(a, b, similarity)`` (a < b, global indices) between kept neighbours.

    ``nodes[r]`` owns row r of ``sims``/``idx``/``keep``. Only edges with at least one
    end in ``sources`` are returned. An edge needs mutual support, or one-sided
    support and a similarity of at least ``strong_sim``."""
    rows, cols = np.nonzero(keep & (idx >= 0))
    a = nodes[rows]
    b = idx[rows, cols]
    w = sims[rows, cols].astype(np.float64)
    size = int(max(a.max(initial=-1), b.max(initial=-1), nodes.max(initial=-1))) + 1
    directed = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(size, size)).tocsr()
    directed.data[:] = 1.0                                # duplicates count once
    support = (directed + directed.T).tocoo()             # 1: one-sided, 2: mutual
    sim = sp.coo_matrix((w, (a, b)), shape=(size, size)).tocsr()
    sim = sim.maximum(sim.T).tocsr()
    u, v, count = support.row, support.col, support.data
    upper = u < v
    u, v, count = u[upper], v[upper], count[upper]
    weight = np.asarray(sim[u, v]).ravel()
    ok = (count >= 2) | (weight >= params.strong_sim)
    is_source = np.zeros(size, dtype=bool)
    is_source[sources] = True
    ok &= is_source[u] | is_source[v]
    return u[ok].astype(np.int64), v[ok].astype(np.int64), weight[ok]
