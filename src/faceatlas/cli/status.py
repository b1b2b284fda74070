"""``faceatlas status``: what a library holds (the work is in
:mod:`faceatlas.library.status`; this module only formats)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from .common import JsonOption, LibraryOpt, console, guarded, print_json


def status_cmd(library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Photos, faces, people, unassigned faces, embeddings per model, where the catalog
    is, and whether each vector index is up to date (read-only)."""

    def run() -> None:
        from ..app import library as uc
        from ..library import Library

        with Library.open(library, create=False) as lib:
            st = uc.status(lib)
        if as_json:
            print_json(st)
            return
        console.print(f"library {st['library']}", highlight=False)
        store = st["store"]
        console.print(f"catalog ({store['kind']}, schema v{store['schema_version']}): "
                      f"{store['location']}, {store['bytes'] / 1e6:.1f} MB", highlight=False)
        console.print(f"photos: {st['photos']} ({st['photos_with_faces']} with faces, "
                      f"{st['photos_without_faces']} without, {st['photos_with_errors']} errors)",
                      highlight=False)
        console.print(f"faces: {st['faces']} ({st['unassigned_faces']} unassigned)",
                      highlight=False)
        console.print(f"people: {st['people']} ({st['named_people']} named, {st['hidden_people']} "
                      f"hidden, {st['opted_out_people']} opted out)", highlight=False)
        table = Table(title="embeddings and vector indexes")
        for col in ("model", "embeddings", "index", "kind", "file"):
            table.add_column(col)
        for ix in st['indexes']:
            state = ix["state"] + (f" ({ix['reason']})" if ix["reason"] else "")
            table.add_row(ix["model"], str(st["embeddings"].get(ix["model"], 0)), state,
                          ix["kind"] or "-", ix["path"])
        console.print(table)

    guarded(run)
