"""Privacy commands: forget a person, faces or a photo (with an erasure receipt), and opt
a person out of recognition."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..errors import FaceAtlasError
from .common import JsonOption, LibraryOpt, console, err_console, guarded, print_json
from .engine_options import BackendOpt, DetectorOpt, MinFaceOpt, RecognizerOpt, get_engine

if TYPE_CHECKING:
    from ..library import Library
    from ..privacy.erasure import ErasurePlan

YesOpt = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")
LinkedOnlyOpt = typer.Option(False, "--linked-only", help="Only the faces linked to the "
                             "person; leave unlinked faces that match them.")


DryRunOpt = typer.Option(False, "--dry-run", help="Show what would be erased (faces per "
                         "source and a contact sheet of them) and erase nothing.")
SheetOpt = typer.Option(None, "--sheet", help="Write the contact sheet of the faces to "
                        "erase here (default: a temporary file, deleted after the prompt; "
                        "kept with --dry-run).")


def _sources_text(plan: ErasurePlan) -> str:
    return ", ".join(f"{k}: {n}" for k, n in plan.sources.items() if n)


def _review(lib: Library, plan: ErasurePlan, yes: bool, dry_run: bool, sheet: Path | None,
            as_json: bool) -> bool:
    """Show the plan (dry run) or ask to confirm it; True when the erasure goes ahead.
    The contact sheet is written before anything changes; a temporary one is deleted
    once the question is answered."""
    from ..app import privacy as uc

    path = uc.write_sheet(lib, plan, sheet) if (dry_run or not yes or sheet is not None) \
        else None
    try:
        if dry_run:
            if as_json:
                print_json(uc.dry_run(plan, path))
            else:
                console.print(f"would {plan.describe}", highlight=False)
                if plan.sources:
                    console.print(f"faces by source: {_sources_text(plan)}", highlight=False)
                console.print(f"contact sheet: {path or '(no face to draw)'}",
                              highlight=False)
                console.print("nothing was erased (dry run)", highlight=False)
            return False
        if yes:
            return True
        sheet_line = f"\ncontact sheet of the faces: {path}" if path else ""
        if not typer.confirm(f"{plan.describe}.{sheet_line}\nContinue?", default=False,
                             err=True):
            raise FaceAtlasError("cancelled; nothing was erased")
        return True
    finally:
        if path is not None and sheet is None and not dry_run:
            path.unlink(missing_ok=True)


def _report(receipt: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(receipt)
    else:
        r = receipt["removed"]
        console.print(f"erased {r['faces']} face(s), {r['embeddings']} embedding(s), "
                      f"{r['index_entries']} index entr(ies), {r['thumbnails']} thumbnail(s), "
                      f"{r['decisions']} correction(s), {r['images']} photo record(s), "
                      f"{r['people']} person record(s)", highlight=False)
        if receipt["sources"]:
            console.print("faces by source: " + ", ".join(
                f"{k}: {n}" for k, n in receipt["sources"].items() if n), highlight=False)
        console.print(f"receipt: {receipt['path']}", highlight=False)
    if not receipt["storage"].get("wal_truncated", True):
        err_console.print("[yellow]warning:[/] another process has the catalog open, so its "
                          "journal (catalog.sqlite-wal) could not be emptied; run the command "
                          "again once it has finished", highlight=False)


def forget(
    person: str | None = typer.Argument(None, help="Person to forget: name, or #ID "
                                        "(plain digits when no one has that name)."),
    face: list[int] | None = typer.Option(None, "--face", help="Forget this face id "
                                          "(repeatable) instead of a person."),
    photo: Path | None = typer.Option(None, "--photo", help="Forget this photo (its record "
                                      "and every face in it) instead of a person."),
    linked_only: bool = LinkedOnlyOpt,
    dry_run: bool = DryRunOpt,
    sheet: Path | None = SheetOpt,
    yes: bool = YesOpt,
    library: Path | None = LibraryOpt,
    as_json: bool = JsonOption,
) -> None:
    """Erase a person (their faces; their photos stay), faces or a photo: embeddings of
    every model, thumbnails, corrections and index entries, with the freed bytes scrubbed
    from the catalog files. A person's faces are those linked to them and the faces no
    user decided on that are theirs (their template at the 1:N threshold for FPIR 1e-3,
    and closer to them than to anyone else). Writes an erasure receipt, with the erased
    face ids, under the library."""

    def run() -> None:
        from ..app import privacy as uc
        from ..library import Library

        chosen = sum(x is not None and x != [] for x in (person, face, photo))
        if chosen != 1:
            raise FaceAtlasError("give exactly one of PERSON, --face ID or --photo PATH")
        with Library.open(library, create=False) as lib:
            plan = uc.plan_forget(lib, person, face or None, photo, linked_only)
            if not _review(lib, plan, yes, dry_run, sheet, as_json):
                return
            receipt = uc.erase(lib, plan)
        _report(receipt, as_json)

    guarded(run)


def optout(
    person: str = typer.Argument(..., help="Person (name or #ID); a new name needs PHOTOS."),
    photos: list[Path] | None = typer.Argument(None, help="Photos of the person to learn "
                                               "their template from (largest face; not "
                                               "stored)."),
    undo: bool = typer.Option(False, "--undo", help="Cancel the opt-out: delete the template "
                              "and store their faces again from now on."),
    linked_only: bool = LinkedOnlyOpt,
    dry_run: bool = DryRunOpt,
    sheet: Path | None = SheetOpt,
    yes: bool = YesOpt,
    library: Path | None = LibraryOpt,
    as_json: bool = JsonOption,
    min_face: int = MinFaceOpt,
    detector: str = DetectorOpt,
    recognizer: str = RecognizerOpt,
    backend: str | None = BackendOpt,
) -> None:
    """Do not recognise this person: erase their faces like `forget`, keep only a template
    of their face, and refuse their face in every photo indexed from now on."""

    def run() -> None:
        from ..app import privacy as uc
        from ..library import Library

        with Library.open(library, create=False) as lib:
            if undo:
                if photos:
                    raise FaceAtlasError("--undo takes no photos")
                out: dict[str, Any] = uc.undo_optout(lib, person)
                if as_json:
                    print_json(out)
                else:
                    console.print(f"opt-out of {out['name'] or person} cancelled: "
                                  f"{out['templates_deleted']} template(s) deleted",
                                  highlight=False)
                return
            engine = get_engine(detector, recognizer, backend, min_face) if photos else None
            plan = uc.plan_optout(lib, person, photos or [], engine, linked_only)
            if not _review(lib, plan, yes, dry_run, sheet, as_json):
                return
            receipt = uc.erase(lib, plan)
        _report(receipt, as_json)

    guarded(run)


def register(app: typer.Typer) -> None:
    """Add ``forget`` and ``optout`` to the main command."""
    app.command("forget")(forget)
    app.command("optout")(optout)

