"""``faceatlas relations``: who appears with whom, when and how often."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ..relations.errors import RelationsError
from .common import JsonOption, console, guarded, print_json, track

if TYPE_CHECKING:
    from ..relations import Occurrence, OccurrenceSource, RelationGraph

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


def _batches(items: Iterator[Occurrence], size: int = 20_000) -> Iterator[list[Occurrence]]:
    while batch := list(islice(items, size)):
        yield batch


def load(library: Path | None, occurrences: Path | None, include_hidden: bool,
         progress: bool = True, exact_dates: bool = False
         ) -> tuple[OccurrenceSource, RelationGraph]:
    """The occurrence source and the graph rebuilt from it (``exact_dates``: without the
    photos dated by file time)."""
    from ..relations import CsvOccurrences, RelationGraph

    if occurrences is not None:
        source: OccurrenceSource = CsvOccurrences(occurrences)
    else:
        from ..config import library_dir
        from ..relations.catalog import open_catalog

        source = open_catalog(library_dir(library), include_hidden, exact_dates)
    batches = track(_batches(iter(source.occurrences())), None,
                    "reading occurrences (x20k)", enabled=progress)
    return source, RelationGraph.from_occurrences(chain.from_iterable(batches))


def _dates_note(source: OccurrenceSource, rg: RelationGraph, person: int,
                exact_dates: bool) -> dict[str, object]:
    """How many of ``person``'s photos have estimated dates (or were left out for it)."""
    from ..relations.occurrences import estimated_photos

    guessed = estimated_photos(source)
    if exact_dates:
        return {"exact_dates": True, "estimated_dates_left_out": len(guessed)}
    return {"exact_dates": False,
            "estimated_dates": len(guessed & rg.photos_of(person))}


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


def _resolve(source: OccurrenceSource, text: str) -> int:
    from ..relations.occurrences import resolve_person

    return resolve_person(text, source.person_names())


def _person(source: OccurrenceSource, rg: RelationGraph, text: str) -> int:
    pid = _resolve(source, text)
    rg.photos_of(pid)  # unknown -> one-line error
    return pid


def _photo_rows(source: OccurrenceSource, rg: RelationGraph,
                photos: list[int]) -> list[dict[str, object]]:
    paths = source.photo_paths(photos)
    return [{"photo": p, "taken_at": rg.taken_at(p).isoformat(timespec="seconds"),
             "path": paths.get(p)} for p in photos]


@app.command()
def top(person: str = typer.Argument(..., help="Person id or name."),
        n: int = typer.Option(10, "-n", min=1, help="How many companions."),
        library: Path | None = LibraryOpt, occurrences: Path | None = OccurrencesOpt,
        include_hidden: bool = HiddenOpt, exact_dates: bool = ExactDatesOpt,
        as_json: bool = JsonOption) -> None:
    """The people who appear most often with PERSON (first/last dates, and how many of
    them are estimates)."""

    def run() -> None:
        source, rg = load(library, occurrences, include_hidden, not as_json, exact_dates)
        pid = _person(source, rg, person)
        from ..relations import queries as q
        from ..relations.occurrences import estimated_photos

        found = q.top_companions(rg, pid, n, estimated_photos(source))
        note = _dates_note(source, rg, pid, exact_dates)
        if as_json:
            print_json({"person": pid, "name": source.person_names().get(pid), **note,
                        "companions": [{**c.to_dict(), "name": source.person_names().get(
                            c.person)} for c in found]})
            return
        table = Table(title=f"Most often with {_name(source, pid)}")
        for col in ("person", "shared photos", "first", "last", "estimated"):
            table.add_column(col)
        for c in found:
            table.add_row(_name(source, c.person), str(c.weight), c.first.date().isoformat(),
                          c.last.date().isoformat(), str(c.estimated))
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
        source, rg = load(library, occurrences, include_hidden, not as_json)
        a, b = _person(source, rg, person_a), _person(source, rg, person_b)
        excluded = [_resolve(source, w) for w in without]
        from ..relations import queries as q

        rows = _photo_rows(source, rg, q.photos_together(rg, (a, b), excluded))
        if as_json:
            print_json({"people": [a, b], "without": excluded, "photos": rows})
            return
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
        source, rg = load(library, occurrences, include_hidden, not as_json)
        a, b = _person(source, rg, person_a), _person(source, rg, person_b)
        from ..relations import queries as q

        found = q.shortest_chain(rg, a, b)
        if as_json:
            print_json({"from": a, "to": b,
                        "chain": None if found is None else {
                            **found.to_dict(),
                            "hops": [{**h.to_dict(), "photos": _photo_rows(source, rg, h.photos)}
                                     for h in found.hops]}})
            return
        if found is None:
            console.print(f"no chain of shared photos joins {_name(source, a)} and "
                          f"{_name(source, b)}")
            return
        console.print(" -> ".join(_name(source, p) for p in found.people))
        for h in found.hops:
            rows = _photo_rows(source, rg, h.photos[:3])
            shown = ", ".join(str(r["path"] or r["photo"]) for r in rows)
            more = f" (+{len(h.photos) - 3} more)" if len(h.photos) > 3 else ""
            console.print(f"  {_name(source, h.a)} & {_name(source, h.b)}: {shown}{more}",
                          highlight=False)

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
        if method not in ("louvain", "label-propagation"):
            raise RelationsError(f"unknown method '{method}'; use louvain or "
                                 "label-propagation")
        source, rg = load(library, occurrences, include_hidden, not as_json)
        from ..relations import queries as q

        groups = q.communities(rg, method, seed, resolution, min_size)  # type: ignore[arg-type]
        if as_json:
            print_json({"method": method, "seed": seed, "communities": [
                {"size": len(g), "members": g,
                 "names": [source.person_names().get(p) for p in g]} for g in groups]})
            return
        for i, g in enumerate(groups):
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
        source, rg = load(library, occurrences, include_hidden, not as_json, exact_dates)
        pid = _person(source, rg, person)
        from ..relations import queries as q
        from ..relations.occurrences import estimated_photos

        months = q.timeline(rg, pid, estimated_photos(source))
        note = _dates_note(source, rg, pid, exact_dates)
        if as_json:
            print_json({"person": pid, **note, "months": [m.to_dict() for m in months]})
            return
        table = Table(title=f"{_name(source, pid)} by month")
        for col in ("month", "photos", "estimated", "with"):
            table.add_column(col)
        for m in months:
            table.add_row(m.month, str(m.photos), str(m.estimated), ", ".join(
                f"{_name(source, p)} ({n})" for p, n in m.with_people[:6]))
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
    from ..relations.export import write_edges_csv, write_graphml

    def run() -> None:
        if graphml is None and csv_out is None:
            raise RelationsError("nothing to do: give --graphml FILE and/or --csv FILE")
        source, rg = load(library, occurrences, include_hidden, not as_json)
        written = {}
        if graphml is not None:
            written["graphml"] = str(write_graphml(rg, graphml, source.person_names()))
        if csv_out is not None:
            written["csv"] = str(write_edges_csv(rg, csv_out))
        summary = {"people": rg.graph.number_of_nodes(), "edges": rg.graph.number_of_edges(),
                   "written": written}
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
        from ..extras import require

        require("matplotlib.pyplot", "relations draw")
        from ..relations.render import draw_graph, select_people

        source, rg = load(library, occurrences, include_hidden, not as_json)
        pid = None if person is None else _person(source, rg, person)
        drawn = select_people(rg, max_people, pid)
        thumbs = {u: source.thumbnail(u) for u in track(drawn, len(drawn), "thumbnails",
                                                         enabled=not as_json)}
        path = draw_graph(rg, out, source.person_names(), thumbs.get, pid, max_people,
                          labels, seed)
        if as_json:
            print_json({"png": str(path), "people": len(drawn),
                        "thumbnails": sum(v is not None for v in thumbs.values())})
        else:
            console.print(f"{len(drawn)} people drawn -> {path}", highlight=False)

    guarded(run)
