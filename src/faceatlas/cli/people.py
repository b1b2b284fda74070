"""``faceatlas cluster`` and ``faceatlas people``: group unknown faces into people and
correct the result (every correction is logged and survives later runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.table import Table

from ..cluster.params import DEFAULT_STRICTNESS
from ..errors import FaceAtlasError
from .common import JsonOption, LibraryOpt, console, deprecated, err_console, guarded, print_json

if TYPE_CHECKING:
    from ..library import Library

T = TypeVar("T")

PersonArg = typer.Argument(..., help="Person: name, or #ID (as `faceatlas people` lists "
                           "them; plain digits when no one has that name).")
FacesArg = typer.Argument(..., help="Face ids (see `faceatlas people show PERSON`).")

app = typer.Typer(help="People found by clustering: list, inspect and correct them.",
                  no_args_is_help=False, invoke_without_command=True)


def _with_library(library: Path | None, fn: Callable[[Library], T]) -> T:
    from ..library import Library

    with Library.open(library, create=False) as lib:
        return fn(lib)


def cluster(
    library: Path | None = LibraryOpt,
    full: bool = typer.Option(False, "--full", help="Re-cluster every automatically "
                              "assigned face (user corrections are kept)."),
    strictness: float = typer.Option(DEFAULT_STRICTNESS, "--strictness", min=0.0, max=1.0,
                                     help="0 merges eagerly, 1 only very close faces."),
    min_faces: int = typer.Option(2, "--min-faces", min=1, help="Smallest new person; "
                                  "smaller groups stay unassigned until they grow."),
    recognizer: str | None = typer.Option(None, "--recognizer", help="Recognition model "
                                          "whose embeddings to cluster (name or id; "
                                          "default: the only one in the library)."),
    old_model: str | None = typer.Option(None, "--model", hidden=True),
    shard_size: int | None = typer.Option(
        None, "--shard-size", min=1, help="Build the neighbour graph in shards of N faces "
        "(exact, bounded memory; at most 20000). Default: in memory, in shards of 20000 "
        "above 10,000,000 faces."),
    ray: str | None = typer.Option(
        None, "--ray", help="Search the shards as Ray tasks: 'local' starts Ray here, "
        "'auto' or HOST:PORT joins a cluster (needs the ray extra)."),
    as_json: bool = JsonOption,
) -> None:
    """Group unassigned faces into people (incremental; --full to redo automatic ones)."""
    model = deprecated(old_model, "--model", "--recognizer", recognizer)

    def run() -> None:
        from ..app import people as uc

        with err_console.status("clustering faces..."):
            r = _with_library(library, lambda lib: uc.cluster(
                lib, model=model, full=full, strictness=strictness, min_faces=min_faces,
                shard_size=shard_size, ray=ray))
        if as_json:
            print_json(r)
            return
        console.print(f"{r['faces']} faces ({r['mode']}): {r['people']} people, "
                      f"{len(r['new_people'])} new, {r['changed']} faces changed, "
                      f"{r['unassigned']} unassigned, {r['seconds']:.1f} s",
                      highlight=False)

    guarded(run)


@app.callback()
def people(
    ctx: typer.Context,
    library: Path | None = LibraryOpt,
    include_hidden: bool = typer.Option(False, "--all", help="Include hidden people."),
    as_json: bool = JsonOption,
) -> None:
    """List people: id, name, face count and a representative face."""
    if ctx.invoked_subcommand is not None:
        return

    def run() -> None:
        from ..app import people as uc

        rows = _with_library(library, lambda lib: uc.list_people(lib, include_hidden))
        if as_json:
            print_json(rows)
            return
        table = Table(title=f"{len(rows)} people")
        for col in ("id", "name", "faces", "representative face", "hidden"):
            table.add_column(col)
        for r in rows:
            table.add_row(f"#{r['id']}", r["label"], str(r["faces"]),
                          str(r["representative_face"] or "-"), "yes" if r["hidden"] else "")
        console.print(table)

    guarded(run)


@app.command()
def show(person: str = PersonArg, library: Path | None = LibraryOpt,
         as_json: bool = JsonOption) -> None:
    """One person: faces (ids, quality, photo) and the photos they appear in."""

    def run() -> None:
        from ..app import people as uc

        info = _with_library(library, lambda lib: uc.show_person(lib, person))
        if as_json:
            print_json(info)
            return
        console.print(f"{info['label']} (#{info['id']}): {info['faces']} faces",
                      highlight=False)
        console.print("face ids: " + " ".join(str(f) for f in info["face_ids"]),
                      highlight=False)
        for path in info["photos"]:
            console.print(f"  {path}", highlight=False)

    guarded(run)


def _correction(library: Path | None, as_json: bool, fn: Callable[[Library], dict[str, Any]],
                message: Callable[[dict[str, Any]], str]) -> None:
    def run() -> None:
        result = _with_library(library, fn)
        if as_json:
            print_json(result)
        else:
            console.print(message(result), highlight=False)

    guarded(run)


@app.command()
def name(person: str = PersonArg, new_name: str = typer.Argument(..., metavar="NAME"),
         library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Name (or rename) a person; its faces become fixed."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.name_person(lib, person, new_name)

    _correction(library, as_json, fn, lambda r: f"#{r['id']} is now {r['label']}")


@app.command()
def merge(person: str = PersonArg,
          others: list[str] = typer.Argument(..., help="People merged into PERSON."),
          library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Merge other people into PERSON (they are the same person)."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.merge_people(lib, person, others)

    _correction(library, as_json, fn, lambda r: f"{r['label']} now has {r['faces']} faces")


@app.command()
def move(faces: list[int] = FacesArg,
         to: str = typer.Option(..., "--to", help="Person id or name to move the faces to."),
         library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Move faces to a person."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.move_faces(lib, faces, to)

    _correction(library, as_json, fn, lambda r: f"{r['label']} now has {r['faces']} faces")


@app.command()
def split(person: str = PersonArg, faces: list[int] = FacesArg,
          new_name: str | None = typer.Option(None, "--name", help="Name of the new person."),
          library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Split faces off a person into a new person."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.split_person(lib, person, faces, new_name)

    _correction(library, as_json, fn,
                lambda r: f"new person {r['new_person']['label']} with "
                          f"{r['new_person']['faces']} faces")


@app.command("not")
def not_person(person: str = PersonArg, faces: list[int] = FacesArg,
               library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """These faces are not PERSON: take them out, never to be put back automatically."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.reject_faces(lib, person, faces)

    _correction(library, as_json, fn, lambda r: f"{r['label']} now has {r['faces']} faces")


@app.command()
def hide(person: str = PersonArg,
         unhide: bool = typer.Option(False, "--unhide", help="Show the person again."),
         library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Hide a person from listings (their faces stay theirs)."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.hide_person(lib, person, not unhide)

    _correction(library, as_json, fn,
                lambda r: f"{r['label']} is {'hidden' if r['hidden'] else 'shown'}")


@app.command()
def sheet(person: str = PersonArg,
          out: Path = typer.Argument(..., help="PNG file to write."),
          columns: int = typer.Option(8, "--columns", min=1),
          limit: int = typer.Option(200, "--limit", min=1, help="Most faces drawn."),
          library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """Write a contact sheet (PNG grid of face thumbnails) of a person."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.contact_sheet(lib, person, out, columns, limit)

    _correction(library, as_json, fn, lambda r: f"wrote {r['path']}")


@app.command()
def suggest(
    pair: list[str] = typer.Argument(None, metavar="[A B]",
                                     help="With --yes or --no: the two people."),
    yes: bool = typer.Option(False, "--yes", help="A and B are one person: merge them."),
    no: bool = typer.Option(False, "--no", help="A and B are different people: never "
                            "suggest them again, and keep them apart when clustering."),
    limit: int = typer.Option(20, "--limit", min=1, help="Most pairs listed."),
    sheet_out: Path | None = typer.Option(None, "--sheet", help="Also write a PNG with "
                                          "the faces of each pair."),
    library: Path | None = LibraryOpt, as_json: bool = JsonOption,
) -> None:
    """Pairs of people that are probably one person, best first; answer with --yes/--no."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        if yes or no:
            if yes and no:
                raise FaceAtlasError("give --yes or --no, not both")
            if len(pair or []) != 2:
                raise FaceAtlasError("--yes and --no take two people: "
                                     "`faceatlas people suggest --yes A B`")
            return uc.answer_suggestion(lib, pair[0], pair[1], same=yes)
        if pair:
            raise FaceAtlasError("people given without --yes or --no")
        return uc.suggestions(lib, limit, sheet_out)

    def message(r: dict[str, Any]) -> str:
        if r.get("answer") == "yes":
            return f"merged: person {r['id']} now has {r['faces']} faces"
        if r.get("answer") == "no":
            return f"noted: people {r['person']} and {r['other']} are different"
        if not r["suggestions"]:
            return "no merge suggestions"
        lines = [f"{s['person']} ({s['name'] or 'unnamed'}, {s['faces']} faces) + "
                 f"{s['other']} ({s['other_name'] or 'unnamed'}, {s['other_faces']} faces): "
                 f"similarity {s['similarity']:.3f}, margin {s['margin']:+.3f}"
                 for s in r["suggestions"]]
        if "sheet" in r:
            lines.append(f"sheet: {r['sheet']}")
        lines.append("answer with `faceatlas people suggest --yes A B` or `--no A B`")
        return "\n".join(lines)

    _correction(library, as_json, fn, message)


@app.command()
def unassigned(
    limit: int | None = typer.Option(None, "--limit", min=1, help="Most faces listed."),
    sheet_out: Path | None = typer.Option(None, "--sheet", help="Also write a PNG: each "
                                          "face beside its candidate person."),
    library: Path | None = LibraryOpt, as_json: bool = JsonOption,
) -> None:
    """Faces in no person, with their best candidate person and similarity."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc

        return uc.unassigned(lib, limit, sheet_out)

    def message(r: dict[str, Any]) -> str:
        if not r["faces"]:
            return "no unassigned faces"
        lines = [f"face {u['face_id']} (quality {u['quality']:.2f}): " + (
            f"closest person {u['candidate']} ({u['candidate_name'] or 'unnamed'}), "
            f"similarity {u['similarity']:.3f}" if u["candidate"] is not None
            else "no candidate") for u in r["faces"]]
        if "sheet" in r:
            lines.append(f"sheet: {r['sheet']}")
        return "\n".join(lines)

    _correction(library, as_json, fn, message)


@app.command("notface")
def notface(ids: list[int] = typer.Argument(None, help="Face ids (with --undo: not-a-face "
                                            "record ids, see --list)."),
            person: str | None = typer.Option(None, "--person",
                                              help="Every face of this person too; the "
                                              "person record goes."),
            undo: bool = typer.Option(False, "--undo", help="Delete these not-a-face records "
                                      "and analyse their photos again to restore the faces."),
            list_: bool = typer.Option(False, "--list", help="List not-a-face records."),
            library: Path | None = LibraryOpt, as_json: bool = JsonOption) -> None:
    """These are not faces (hands, patterns, animals): take them out of people, clustering,
    search and relations, and keep them out when photos are indexed again."""

    def fn(lib: Library) -> dict[str, Any]:
        from ..app import people as uc
        from .engine_options import get_engine

        if list_:
            return uc.not_face_records(lib)
        if not ids and person is None:
            raise FaceAtlasError("give face ids, --person PERSON, or --list")
        if undo:
            if person is not None:
                raise FaceAtlasError("--undo takes not-a-face record ids, not --person")
            return uc.undo_not_faces(lib, ids, get_engine())
        return uc.mark_not_faces(lib, ids or [], person)

    def message(r: dict[str, Any]) -> str:
        if list_:
            return "\n".join(f"{x['id']}: face {x['face_id']} box {x['box']} "
                             f"({x['content_hash'][:12]}...)" for x in r["records"]) \
                or "no not-a-face records"
        if undo:
            return (f"{len(r['records'])} record(s) deleted, {len(r['faces'])} face(s) "
                    "restored" + (f"; not re-analysed: {', '.join(r['not_reanalysed'])}"
                                  if r["not_reanalysed"] else ""))
        return (f"{len(r['faces'])} face(s) marked not a face and removed (records "
                f"{', '.join(map(str, r['records'])) or 'none'})"
                + (f"; people removed: {', '.join(map(str, r['people_removed']))}"
                   if r["people_removed"] else ""))

    _correction(library, as_json, fn, message)


def register(root: typer.Typer) -> None:
    """Add ``cluster`` and ``people`` to the root command."""
    root.command("cluster")(cluster)
    root.add_typer(app, name="people")
