"""How a filtered search (``allowed`` ids) is answered.

Three strategies:

* ``subset``: gather the allowed vectors and search them exactly (matrix product).
  Exact; its cost grows with the allowed count (about 0.2 ms per 1,000 faces).
* ``prefilter``: run the index search with a faiss ``IDSelectorBatch`` so only allowed
  ids can enter the results. Exact on a flat index, so that is where it is used. On
  HNSW the graph walk goes through disallowed nodes and loses recall at low
  selectivity, and it never beat the other two there (figures below).
* ``postfilter``: over-fetch ``k / selectivity * POSTFILTER_MARGIN`` results from the
  unfiltered ANN search, keep the allowed ones, and double the fetch for the queries
  that still have fewer than ``k`` until they are full or the fetch covers the index.
  While the fetch stays within the HNSW beam it costs about one unfiltered search.

The thresholds come from ``bench/filtered_search.py`` on 1M synthetic faces (HNSW32,
efSearch 1024, one thread; figures in ``docs/benchmarks.md``, "Filtered search"): p50
ms / recall@10 for subset, prefilter, postfilter:

* 1 % allowed (10k): 1.4 / 1.00, 6.4 / 0.68, 10.4 / 0.84 -> subset;
* 3 % (30k): 6.2 / 1.00, 7.6 / 0.77, 4.5 / 0.77 -> postfilter (fastest; subset is
  exact at 1.4x the time);
* 10 % and 50 %: 16.6 and 58 / 1.00, 15.2 and 50 / 0.86 and 0.97, 4.2 and 4.4 / 0.86 and
  0.97 -> postfilter.

Subset costs 4.8 ms at 20k allowed, about one post-filtered search: ``SUBSET_MAX``.
On a ScaNN index (``--kind scann``, same faces) the same rule holds: subset at 1 % (2.5 ms
/ 1.00), postfilter from 3 % (2.1, 1.7 and 1.6 ms / recall 0.83, 0.81, 0.95 at 3, 10 and
50 %; subset 7.1, 17 and 57 ms).
"""

from __future__ import annotations

from typing import Literal

Strategy = Literal["subset", "prefilter", "postfilter"]

#: Allowed sets up to this size are searched exactly over the gathered subset.
SUBSET_MAX = 20_000
#: On an ANN index, post-filter when at least this fraction of the index is allowed: the
#: over-fetch (``2k / selectivity``) then stays within the default HNSW beam. Below it
#: the allowed set is gathered and searched exactly.
POSTFILTER_MIN_SELECTIVITY = 0.02
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
    return "subset"


def overfetch(k: int, selectivity: float, n_total: int) -> int:
    """How many unfiltered results to fetch so ``k`` allowed ones are expected."""
    want = int(k / max(selectivity, 1e-9) * POSTFILTER_MARGIN) + k
    return max(k, min(want, n_total))
