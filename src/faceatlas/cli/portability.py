"""Moving libraries: export / import a gallery between machines, and migrate a library to
another recognition model (reembed)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import FaceAtlasError
from .common import (
    JsonOption,
    LibraryOpt,
    console,
    deprecated,
    err_console,
    guarded,
    print_json,
    track,
)
from .engine_options import BackendOpt, get_engine


def export_cmd(
    out: Path = typer.Argument(..., help="Archive to write (a .tar file, must not exist)."),
    library: Path | None = LibraryOpt,
    as_json: bool = JsonOption,
) -> None:
    """Export the library (a consistent snapshot of its catalog, its erasure receipts and
    a manifest with checksums) to one tar file. Vector indexes are rebuilt on import."""

    def run() -> None:
        from ..app import portability as uc
        from ..library import Library

        with Library.open(library, create=False) as lib:
            manifest = uc.export(lib, out)
        if as_json:
            print_json(manifest)
            return
        c = manifest["counts"]
        console.print(f"exported {c.get('images', 0)} photos, {c.get('faces', 0)} faces, "
                      f"{c.get('people', 0)} people to {out}", highlight=False)

    guarded(run)


def import_cmd(
    archive: Path = typer.Argument(..., help="Archive written by `faceatlas export`."),
    library: Path | None = LibraryOpt,
    force: bool = typer.Option(False, "--force", help="Replace the library of a non-empty "
                               "folder."),
    remap: list[str] | None = typer.Option(None, "--remap", help="Rewrite photo paths "
                                           "starting with OLD to start with NEW (OLD=NEW, "
                                           "repeatable)."),
    as_json: bool = JsonOption,
) -> None:
    """Import a library archive: verify its manifest and checksums, install the catalog,
    rewrite path prefixes, rebuild the vector indexes, report photos not found here."""

    def run() -> None:
        from ..app import portability as uc

        res = uc.import_archive(archive, library, force, uc.parse_remaps(list(remap or [])))
        if as_json:
            print_json(res)
            return
        c = res["counts"]
        console.print(f"imported {c.get('images', 0)} photos, {c.get('faces', 0)} faces, "
                      f"{c.get('people', 0)} people into {res['library']}", highlight=False)
        if res["remapped"]:
            console.print(f"{res['remapped']} photo path(s) rewritten", highlight=False)
        if res["missing_paths"]:
            err_console.print(f"[yellow]{res['missing_paths']} photo(s) not found on this "
                              f"machine[/] (e.g. {res['missing_examples'][0]}); their records "
                              "are kept: rewrite their folders with --remap OLD=NEW",
                              highlight=False)

    guarded(run)


def reembed_cmd(
    recognizer: str | None = typer.Option(None, "--recognizer", help="Recognition model "
                                          "to migrate to (see `faceatlas models`)."),
    old_model: str | None = typer.Option(None, "--model", hidden=True),
    drop_old: bool = typer.Option(False, "--drop-old", help="Delete the other models' "
                                  "embeddings once every face has the new one."),
    force: bool = typer.Option(False, "--force", help="Migrate even if opted-out people "
                               "have no template for the new model."),
    library: Path | None = LibraryOpt,
    backend: str | None = BackendOpt,
    as_json: bool = JsonOption,
) -> None:
    """Embed every stored face again with another recognition model (aligned with the
    stored landmarks; no detection), keeping faces and people, and build its index."""
    model = deprecated(old_model, "--model", "--recognizer", recognizer)

    def run() -> None:
        from ..app import portability as uc
        from ..library import Library

        if model is None:
            raise FaceAtlasError("give the recognition model to migrate to: --recognizer NAME")
        get_engine(recognizer=model, backend=backend)  # an unknown model fails first
        with Library.open(library, create=False) as lib:
            res = uc.reembed(lib, model, backend, drop_old, force,
                             progress=None if as_json else track)
        if as_json:
            print_json(res)
            return
        console.print(f"{res['embedded']} face(s) embedded with {res['model']} "
                      f"({res['already']} already were) in {res['seconds']:.1f} s",
                      highlight=False)
        for old, n in res["dropped"].items():
            console.print(f"dropped {n} embedding(s) of {old}", highlight=False)
        for skipped in res["skipped_photos"][:10]:
            err_console.print(f"[yellow]skipped[/] {skipped['path']}: {skipped['reason']}",
                              highlight=False)

    guarded(run)


def register(app: typer.Typer) -> None:
    """Add ``export``, ``import`` and ``reembed`` to the main command."""
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    app.command("reembed")(reembed_cmd)
