"""``faceatlas relations``: who appears with whom, when and how often (the work is in
:mod:`faceatlas.app.relations`; this module parses and formats)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from .common import JsonOption, console, guarded, print_json, track

if TYPE_CHECKING:
    from ..relations import OccurrenceSource, RelationGraph

app = typer.Typer(no_args_is_help=True, help="Who appears with whom: companions, photos "
                  "together, chains, communities, timelines, exports and pictures.")

LibraryOpt = typer.Option(None, "--library", "-l", help="Library folder (default "
                          "$FACEATLAS_LIBRARY, else $FACEATLAS_HOME/library).")
OccurrencesOpt = typer.Option(None, "--occurrences",
                              help="Read photo_id,person_id,taken_at[,person_name,photo_path] "
                                   "rows from this CSV instead of the catalog.")
HiddenOpt = typer.Option(False, "--include-hidden", help="Also count people marked hidden.")
ExactDatesOpt = typer.Option(False, "--exact-dates", help="Leave out photos whose date is "
                             "only the file time (an estimate: no EXIF, XMP or dated name).")


def _track(enabled: bool) -> Any:
    def wrap(items: Iterable[Any], total: int | None, description: str) -> Iterator[Any]:
        return track(items, total, description, enabled=enabled)
    return wrap


def load(library: Path | None, occurrences: Path | None, include_hidden: bool,
         progress: bool = True, exact_dates: bool = False
         ) -> tuple[OccurrenceSource, RelationGraph]:
    """The occurrence source and the graph rebuilt from it (``exact_dates``: without the
    photos dated by file time)."""
    from ..app.relations import load as load_graph

    return load_graph(library, occurrences, include_hidden, _track(progress), exact_dates)


def _print_dates_note(note: dict[str, object]) -> None:
    if note["exact_dates"]:
        if note["estimated_dates_left_out"]:
            console.print(f"{note['estimated_dates_left_out']} photo(s) of the library "
                          "dated only by file time left out (--exact-dates)", highlight=False)
    elif note["estimated_dates"]:
        console.print(f"{note['estimated_dates']} photo(s) dated only by file time "
                      "(estimates, counted in 'estimated'); --exact-dates leaves them out",
                      highlight=False)


def _name(source: OccurrenceSource, person: int) -> str:
    from ..store.base import person_label

    return person_label(person, source.person_names().get(person))


@app.command()
def top(person: str = typer.Argument(..., help="Person id or name."),
        n: int = typer.Option(10, "-n", min=1, help="How many companions."),
        library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
        include_hidden: bool = HiddenOpt, exact_dates: bool = ExactDatesOpt,
        as_json: bool = JsonOption) -> None:
    """The people who appear most often with PERSON (first/last dates, and how many of
    them are estimates)."""

    def run() -> None:
        from ..app import relations as uc

        source, rg = load(library, occurrences, include_hidden, not as_json, exact_dates)
        res = uc.top(source, rg, person, n, exact_dates)
        if as_json:
            print_json(res)
            return
        note = res
        table = Table(title=f"Most often with {_name(source, res['person'])}")
        for col in ("person", "shared photos", "first", "last", "estimated"):
            table.add_column(col)
        for c in res["companions"]:
            table.add_row(_name(source, c["person"]), str(c["weight"]), c["first"][:10],
                          c["last"][:10], str(c["estimated_dates"]))
        console.print(table)
        _print_dates_note(note)

    guarded(run)


@app.command()
def together(person_a: str = typer.Argument(..., help="Person id or name."),
             person_b: str = typer.Argument(..., help="Person id or name."),
             without: list[str] = typer.Option([], "--without",
                                               help="Leave out photos showing this person "
                                                    "(repeatable)."),
             library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
             include_hidden: bool = HiddenOpt, as_json: bool = JsonOption) -> None:
    """Photos where A and B appear together (optionally without someone)."""

    def run() -> None:
        from ..app import relations as uc

        source, rg = load(library, occurrences, include_hidden, not as_json)
        res = uc.together(source, rg, person_a, person_b, without)
        if as_json:
            print_json(res)
            return
        (a, b), rows = res["people"], res["photos"]
        console.print(f"{len(rows)} photo(s) with {_name(source, a)} and {_name(source, b)}")
        for r in rows:
            console.print(f"  {r['taken_at']}  {r['path'] or r['photo']}", highlight=False)

    guarded(run)


@app.command("chain")
def chain_cmd(person_a: str = typer.Argument(..., help="Person id or name."),
              person_b: str = typer.Argument(..., help="Person id or name."),
              library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
              include_hidden: bool = HiddenOpt, as_json: bool = JsonOption) -> None:
    """The shortest chain of shared photos from A to B."""

    def run() -> None:
        from ..app import relations as uc

        source, rg = load(library, occurrences, include_hidden, not as_json)
        res = uc.shortest_chain(source, rg, person_a, person_b)
        if as_json:
            print_json(res)
            return
        found = res["chain"]
        if found is None:
            console.print(f"no chain of shared photos joins {_name(source, res['from'])} and "
                          f"{_name(source, res['to'])}")
            return
        console.print(" -> ".join(_name(source, p) for p in found["people"]))
        for h in found["hops"]:
            rows = h["photos"][:3]
            shown = ", ".join(str(r["path"] or r["photo"]) for r in rows)
            more = f" (+{len(h['photos']) - 3} more)" if len(h["photos"]) > 3 else ""
            console.print(f"  {_name(source, h['a'])} & {_name(source, h['b'])}: "
                          f"{shown}{more}", highlight=False)

    guarded(run)


@app.command()
def communities(method: str = typer.Option("louvain", "--method",
                                           help="louvain or label-propagation."),
                seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same "
                                         "answer)."),
                resolution: float = typer.Option(1.0, "--resolution",
                                                 help="Louvain resolution: higher gives "
                                                      "smaller groups."),
                min_size: int = typer.Option(2, "--min-size", min=1,
                                             help="Smallest group shown."),
                library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
                include_hidden: bool = HiddenOpt, as_json: bool = JsonOption) -> None:
    """Groups of people who appear together."""

    def run() -> None:
        from ..app import relations as uc
        from ..relations.errors import RelationsError

        if method not in uc.METHODS:
            raise RelationsError(f"unknown method '{method}'; use louvain or "
                                 "label-propagation")
        source, rg = load(library, occurrences, include_hidden, not as_json)
        res = uc.communities(source, rg, method, seed, resolution, min_size)
        if as_json:
            print_json(res)
            return
        for i, g in enumerate(c["members"] for c in res["communities"]):
            shown = ", ".join(_name(source, p) for p in g[:12])
            more = f" (+{len(g) - 12} more)" if len(g) > 12 else ""
            console.print(f"{i + 1}. {len(g)} people: {shown}{more}", highlight=False)

    guarded(run)


@app.command()
def timeline(person: str = typer.Argument(..., help="Person id or name."),
             library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
             include_hidden: bool = HiddenOpt, exact_dates: bool = ExactDatesOpt,
             as_json: bool = JsonOption) -> None:
    """A person's photos per month, and with whom (and how many dates are estimates)."""

    def run() -> None:
        from ..app import relations as uc

        source, rg = load(library, occurrences, include_hidden, not as_json, exact_dates)
        res = uc.timeline(source, rg, person, exact_dates)
        if as_json:
            print_json(res)
            return
        note = res
        table = Table(title=f"{_name(source, res['person'])} by month")
        for col in ("month", "photos", "estimated", "with"):
            table.add_column(col)
        for m in res["months"]:
            table.add_row(m["month"], str(m["photos"]), str(m["estimated_dates"]), ", ".join(
                f"{_name(source, w['person'])} ({w['photos']})" for w in m["with"][:6]))
        console.print(table)
        _print_dates_note(note)

    guarded(run)


@app.command()
def export(graphml: Path | None = typer.Option(None, "--graphml", help="Write GraphML here."),
           csv_out: Path | None = typer.Option(None, "--csv",
                                               help="Write edges (a,b,weight,first,last) here."),
           library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
           include_hidden: bool = HiddenOpt, as_json: bool = JsonOption) -> None:
    """Write the graph as GraphML and/or an edge CSV."""

    def run() -> None:
        from ..app import relations as uc
        from ..relations.errors import RelationsError

        if graphml is None and csv_out is None:
            raise RelationsError("nothing to do: give --graphml FILE and/or --csv FILE")
        source, rg = load(library, occurrences, include_hidden, not as_json)
        summary = uc.export(source, rg, graphml, csv_out)
        written = summary["written"]
        if as_json:
            print_json(summary)
        else:
            console.print(f"{summary['people']} people, {summary['edges']} edges -> "
                          + ", ".join(written.values()), highlight=False)

    guarded(run)


@app.command()
def draw(out: Path = typer.Argument(..., help="PNG file to write."),
         person: str | None = typer.Option(None, "--person",
                                           help="Draw this person's neighbourhood only."),
         max_people: int = typer.Option(200, "--max-people", min=2, help="Most people drawn."),
         labels: int = typer.Option(20, "--labels", min=0,
                                    help="Name the N most photographed people."),
         seed: int = typer.Option(0, "--seed", help="Layout seed."),
         library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
         include_hidden: bool = HiddenOpt, as_json: bool = JsonOption) -> None:
    """Draw the graph (faces as nodes, edge width by shared photos) to a PNG (needs the
    ``plots`` extra)."""

    def run() -> None:
        from ..app import relations as uc
        from ..extras import require

        require("matplotlib.pyplot", "relations draw")
        source, rg = load(library, occurrences, include_hidden, not as_json)
        res = uc.draw(source, rg, out, person, max_people, labels, seed,
                      _track(not as_json))
        if as_json:
            print_json(res)
        else:
            console.print(f"{res['people']} people drawn -> {res['png']}", highlight=False)

    guarded(run)
