"""Privacy: forgetting people, faces and photos (right to erasure) with receipts, and
opting people out of recognition.

:mod:`.forget` and :mod:`.optout` plan an erasure, :mod:`.erasure` carries it out,
:mod:`.receipt` records it, and the indexer refuses opted-out people's faces with
:mod:`faceatlas.library.guard` (it lives with the indexer, so that ``library`` never
imports ``privacy``: privacy builds on the library, not the other way round). This
package's ``__init__`` re-exports the guard and the receipts; import the planners from
their modules.
"""

from ..library.guard import OPTOUT_FAR, OptOutGuard, optout_threshold
from .receipt import RECEIPTS_DIR, Receipt, list_receipts, write_receipt

__all__ = ["OPTOUT_FAR", "RECEIPTS_DIR", "OptOutGuard", "Receipt", "list_receipts",
           "optout_threshold", "write_receipt"]
