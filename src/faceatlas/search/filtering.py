"""How a filtered search (``allowed`` ids) is answered.

Three strategies:

* ``subset``: gather the allowed vectors and search them exactly (matrix product).
  Exact, and cheapest while the allowed set is small.
* ``prefilter``: run the index search with a faiss ``IDSelectorBatch`` so only allowed
  ids can enter the results (exact on a flat index; on HNSW the graph walk still goes
  through every node, but only allowed ones are kept).
* ``postfilter``: over-fetch ``k / selectivity * POSTFILTER_MARGIN`` results from the
  unfiltered ANN search, keep the allowed ones, and double the fetch for the queries
  that still have fewer than ``k`` until they are full or the fetch covers the index.

The thresholds below come from ``bench/filtered_search.py`` on 1M synthetic faces
(figures in ``docs/benchmarks.md``, section "Filtered search").
"""

from __future__ import annotations

from typing import Literal

Strategy = Literal["subset", "prefilter", "postfilter"]

#: Allowed sets up to this size are searched exactly over the gathered subset.
SUBSET_MAX = 20_000
#: On an ANN index, post-filter when at least this fraction of the index is allowed.
POSTFILTER_MIN_SELECTIVITY = 0.05
#: Over-fetch safety factor of post-filtering.
POSTFILTER_MARGIN = 2.0


def choose_strategy(n_allowed: int, n_total: int, exact_index: bool) -> Strategy:
    """The strategy for ``n_allowed`` allowed ids among ``n_total`` indexed ones."""
    if n_allowed <= SUBSET_MAX:
        return "subset"
    if exact_index:
        return "prefilter"
    if n_allowed >= POSTFILTER_MIN_SELECTIVITY * n_total:
        return "postfilter"
    return "prefilter"


def overfetch(k: int, selectivity: float, n_total: int) -> int:
    """How many unfiltered results to fetch so ``k`` allowed ones are expected."""
    want = int(k / max(selectivity, 1e-9) * POSTFILTER_MARGIN) + k
    return max(k, min(want, n_total))
