"""Privacy: forgetting people, faces and photos (right to erasure) with receipts, and
opting people out of recognition.

:mod:`.forget` and :mod:`.optout` plan an erasure, :mod:`.erasure` carries it out,
:mod:`.receipt` records it, and :mod:`.guard` refuses opted-out people's faces at
indexing time. This package's ``__init__`` only exposes the guard and receipts (the
indexer imports the guard); import the planners from their modules.
"""

from .guard import OPTOUT_FAR, OptOutGuard, optout_threshold
from .receipt import RECEIPTS_DIR, Receipt, list_receipts, write_receipt

__all__ = ["OPTOUT_FAR", "RECEIPTS_DIR", "OptOutGuard", "Receipt", "list_receipts",
           "optout_threshold", "write_receipt"]
