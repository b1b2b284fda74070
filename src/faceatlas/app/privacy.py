"""Privacy use cases: plan and carry out the erasure of a person, faces or a photo
(``forget``), opt a person out of recognition, and cancel an opt-out. A plan is computed
first (``plan_*``), shown or confirmed by the front end, then carried out (:func:`erase`),
so that a dry run and the real erasure see the same faces."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FaceAtlasError

if TYPE_CHECKING:
    from ..engine import FaceEngine
    from ..library import Library
    from ..privacy.erasure import ErasurePlan


def plan_forget(library: Library, person: str | None = None,
                faces: Sequence[int] | None = None,
                photo: str | os.PathLike[str] | None = None,
                linked_only: bool = False) -> ErasurePlan:
    """What forgetting exactly one of ``person`` (name or #ID), ``faces`` or ``photo``
    erases. A person's faces are those linked to them and, unless ``linked_only``, the
    undecided faces that are theirs."""
    from ..privacy.forget import plan_forget_faces, plan_forget_person, plan_forget_photo

    chosen = sum(x is not None and x != [] and x != () for x in (person, faces, photo))
    if chosen != 1:
        raise FaceAtlasError("give exactly one of PERSON, --face ID or --photo PATH")
    if person is not None:
        return plan_forget_person(library, person, sweep=not linked_only)
    if faces:
        return plan_forget_faces(library, list(faces))
    assert photo is not None
    return plan_forget_photo(library, photo)


def plan_optout(library: Library, person: str,
                photos: Sequence[str | os.PathLike[str]] = (),
                engine: FaceEngine | None = None, linked_only: bool = False) -> ErasurePlan:
    """What opting ``person`` out erases (their template is learnt from their faces and
    from ``photos``, which need ``engine``)."""
    from ..privacy.optout import plan_optout as plan

    return plan(library, person, [str(p) for p in photos], engine, sweep=not linked_only)


def write_sheet(library: Library, plan: ErasurePlan, out: Path | None = None
                ) -> Path | None:
    """Write the contact sheet of the faces ``plan`` erases (a temporary file unless
    ``out``); None when there is no face to draw."""
    from ..privacy.forget import plan_sheet

    return plan_sheet(library, plan, out)


def dry_run(plan: ErasurePlan, sheet: Path | None = None) -> dict[str, Any]:
    """The result of a dry run: the plan, nothing erased."""
    return {"dry_run": True, **plan.to_dict(), "sheet": str(sheet) if sheet else None}


def erase(library: Library, plan: ErasurePlan) -> dict[str, Any]:
    """Carry out ``plan``; returns the erasure receipt (also written under the
    library)."""
    from ..privacy.erasure import execute

    return execute(library, plan).to_dict()


def undo_optout(library: Library, person: str) -> dict[str, Any]:
    """Cancel an opt-out: delete the template, store their faces again from now on."""
    from ..privacy.optout import undo_optout as undo

    return undo(library, person)
