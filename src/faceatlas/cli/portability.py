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


def _remap(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise FaceAtlasError(f"--remap '{value}': expected OLD=NEW (two path prefixes)")
        out.append((old, new))
    return out


def export_cmd(
    out: Path = typer.Argument(..., help="Archive to write (a .tar file, must not exist)."),
    library: Path | None = LibraryOpt,
    as_json: bool = JsonOption,
) -> None:
    """Export the library (a consistent snapshot of its catalog, its erasure receipts and
    a manifest with checksums) to one tar file. Vector indexes are rebuilt on import."""

    def run() -> None:
        from ..library import Library
        from ..library.portability import export_library

        with Library.open(library, create=False) as lib:
            manifest = export_library(lib, out)
        if as_json:
            print_json({"archive": str(out), **manifest})
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
        from ..config import library_dir
        from ..library.portability import import_library

        pairs = _remap(list(remap or []))
        res = import_library(archive, library_dir(library), force=force, remaps=pairs)
        if as_json:
            print_json(res.to_dict())
            return
        c = res.manifest.get("counts", {})
        console.print(f"imported {c.get('images', 0)} photos, {c.get('faces', 0)} faces, "
                      f"{c.get('people', 0)} people into {res.library}", highlight=False)
        if res.remapped:
            console.print(f"{res.remapped} photo path(s) rewritten", highlight=False)
        if res.missing_paths:
            err_console.print(f"[yellow]{res.missing_paths} photo(s) not found on this "
                              f"machine[/] (e.g. {res.missing_examples[0]}); their records "
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
        from ..library import Library
        from ..library.reembed import reembed

        if model is None:
            raise FaceAtlasError("give the recognition model to migrate to: --recognizer NAME")
        engine = get_engine(recognizer=model, backend=backend)
        with Library.open(library, create=False) as lib:
            res = reembed(lib, engine.recognizer, drop_old=drop_old, force=force,
                          progress=None if as_json else track)
        if as_json:
            print_json(res.to_dict())
            return
        console.print(f"{res.embedded} face(s) embedded with {res.model} "
                      f"({res.already} already were) in {res.seconds:.1f} s", highlight=False)
        for old, n in res.dropped.items():
            console.print(f"dropped {n} embedding(s) of {old}", highlight=False)
        for skipped in res.skipped_photos[:10]:
            err_console.print(f"[yellow]skipped[/] {skipped['path']}: {skipped['reason']}",
                              highlight=False)

    guarded(run)


def register(app: typer.Typer) -> None:
    """Add ``export``, ``import`` and ``reembed`` to the main command."""
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    app.command("reembed")(reembed_cmd)
