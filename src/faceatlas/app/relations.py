"""Relations use cases: who appears with whom (top companions, photos together, chains,
communities, timelines, graph export and drawing). Each takes an occurrence source and
the graph built from it (:func:`load`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..relations.errors import RelationsError

if TYPE_CHECKING:
    from ..library import Library
    from ..relations import Occurrence, OccurrenceSource, RelationGraph
    from ..store import CatalogStore

Track = Callable[[Iterable[Any], int | None, str], Iterator[Any]]
METHODS = ("louvain", "label-propagation")


def _batches(items: Iterator[Occurrence], size: int = 20_000) -> Iterator[list[Occurrence]]:
    while batch := list(islice(items, size)):
        yield batch


def load(library: str | os.PathLike[str] | None, occurrences: str | os.PathLike[str] | None,
         include_hidden: bool = False, track: Track | None = None,
         exact_dates: bool = False) -> tuple[OccurrenceSource, RelationGraph]:
    """The occurrence source (the library's catalog, or a CSV of occurrences) and the
    graph rebuilt from it; ``track`` wraps the batches read (a progress display);
    ``exact_dates`` leaves out the photos dated only by file time."""
    from ..relations import CsvOccurrences, RelationGraph

    if occurrences is not None:
        source: OccurrenceSource = CsvOccurrences(Path(occurrences))
    else:
        from ..config import library_dir
        from ..relations.catalog import open_catalog

        source = open_catalog(library_dir(library), include_hidden, exact_dates)
    batches: Iterable[list[Occurrence]] = _batches(iter(source.occurrences()))
    if track is not None:
        batches = track(batches, None, "reading occurrences (x20k)")
    return source, RelationGraph.from_occurrences(chain.from_iterable(batches))


def from_store(store: CatalogStore, include_hidden: bool = False, exact_dates: bool = False
               ) -> tuple[OccurrenceSource, RelationGraph]:
    """The occurrences of an open catalog and the graph rebuilt from them."""
    from ..relations import RelationGraph
    from ..relations.catalog import CatalogOccurrences

    source = CatalogOccurrences(store, include_hidden, exact_dates)
    return source, RelationGraph.from_occurrences(source.occurrences())


def from_library(library: Library, include_hidden: bool = False, exact_dates: bool = False
                 ) -> tuple[OccurrenceSource, RelationGraph]:
    """:func:`from_store` of an open library, kept while the catalog stays the same (its
    people and faces: generation and revision counters; its photos and their dates:
    :meth:`~faceatlas.store.CatalogStore.images_stamp`), so that a long-lived process
    (the service) does not rebuild the graph of the whole library on every call."""
    stamp = (library.store.catalog_state(), library.store.images_stamp())
    return library.memo(("relations", include_hidden, exact_dates), stamp,
                        lambda: from_store(library.store, include_hidden, exact_dates))


def resolve(source: OccurrenceSource, text: str | int) -> int:
    """A person id from user input (the rule of
    :func:`~faceatlas.store.base.parse_person_ref`)."""
    from ..relations.occurrences import resolve_person

    return resolve_person(text, source.person_names())


def person(source: OccurrenceSource, rg: RelationGraph, text: str | int) -> int:
    """A person id that the graph knows (else a one-line error)."""
    pid = resolve(source, text)
    rg.photos_of(pid)
    return pid


def photo_rows(source: OccurrenceSource, rg: RelationGraph,
               photos: Sequence[int]) -> list[dict[str, object]]:
    """Photos with their time and path."""
    paths = source.photo_paths(list(photos))
    return [{"photo": p, "taken_at": rg.taken_at(p).isoformat(timespec="seconds"),
             "path": paths.get(p)} for p in photos]


def dates_note(source: OccurrenceSource, rg: RelationGraph, who: int,
               exact_dates: bool) -> dict[str, object]:
    """How many of ``who``'s photos have estimated dates (or were left out for it)."""
    from ..relations.occurrences import estimated_photos

    guessed = estimated_photos(source)
    if exact_dates:
        return {"exact_dates": True, "estimated_dates_left_out": len(guessed)}
    return {"exact_dates": False,
            "estimated_dates": len(guessed & rg.photos_of(who))}


def top(source: OccurrenceSource, rg: RelationGraph, who: str | int, n: int = 10,
        exact_dates: bool = False) -> dict[str, Any]:
    """The people who appear most often with ``who`` (first/last dates, and how many of
    them are estimates); ``exact_dates`` says whether the source left estimates out."""
    from ..relations import queries as q
    from ..relations.occurrences import estimated_photos

    pid = person(source, rg, who)
    names = source.person_names()
    found = q.top_companions(rg, pid, n, estimated_photos(source))
    return {"person": pid, "name": names.get(pid), **dates_note(source, rg, pid, exact_dates),
            "companions": [{**c.to_dict(), "name": names.get(c.person)} for c in found]}


def together(source: OccurrenceSource, rg: RelationGraph, a: str | int, b: str | int,
             without: Sequence[str | int] = ()) -> dict[str, Any]:
    """Photos where ``a`` and ``b`` appear together (without anyone of ``without``)."""
    from ..relations import queries as q

    pa, pb = person(source, rg, a), person(source, rg, b)
    excluded = [resolve(source, w) for w in without]
    return {"people": [pa, pb], "without": excluded,
            "photos": photo_rows(source, rg, q.photos_together(rg, (pa, pb), excluded))}


def shortest_chain(source: OccurrenceSource, rg: RelationGraph, a: str | int,
                   b: str | int) -> dict[str, Any]:
    """The shortest chain of shared photos from ``a`` to ``b`` (``chain`` None when
    none joins them)."""
    from ..relations import queries as q

    pa, pb = person(source, rg, a), person(source, rg, b)
    found = q.shortest_chain(rg, pa, pb)
    return {"from": pa, "to": pb,
            "chain": None if found is None else {
                **found.to_dict(),
                "hops": [{**h.to_dict(), "photos": photo_rows(source, rg, h.photos)}
                         for h in found.hops]}}


def communities(source: OccurrenceSource, rg: RelationGraph, method: str = "louvain",
                seed: int = 0, resolution: float = 1.0, min_size: int = 2
                ) -> dict[str, Any]:
    """Groups of people who appear together."""
    from ..relations import queries as q

    if method not in METHODS:
        raise RelationsError(f"unknown method '{method}'; use louvain or label-propagation")
    groups = q.communities(rg, method, seed, resolution, min_size)  # type: ignore[arg-type]
    names = source.person_names()
    return {"method": method, "seed": seed, "communities": [
        {"size": len(g), "members": g, "names": [names.get(p) for p in g]} for g in groups]}


def timeline(source: OccurrenceSource, rg: RelationGraph, who: str | int,
             exact_dates: bool = False) -> dict[str, Any]:
    """A person's photos per month, and with whom (and how many dates are estimates)."""
    from ..relations import queries as q
    from ..relations.occurrences import estimated_photos

    pid = person(source, rg, who)
    months = q.timeline(rg, pid, estimated_photos(source))
    return {"person": pid, **dates_note(source, rg, pid, exact_dates),
            "months": [m.to_dict() for m in months]}


def export(source: OccurrenceSource, rg: RelationGraph, graphml: Path | None = None,
           csv_out: Path | None = None) -> dict[str, Any]:
    """Write the graph as GraphML and/or an edge CSV."""
    from ..relations.export import write_edges_csv, write_graphml

    if graphml is None and csv_out is None:
        raise RelationsError("nothing to do: give --graphml FILE and/or --csv FILE")
    written = {}
    if graphml is not None:
        written["graphml"] = str(write_graphml(rg, graphml, source.person_names()))
    if csv_out is not None:
        written["csv"] = str(write_edges_csv(rg, csv_out))
    return {"people": rg.graph.number_of_nodes(), "edges": rg.graph.number_of_edges(),
            "written": written}


def draw(source: OccurrenceSource, rg: RelationGraph, out: Path, who: str | None = None,
         max_people: int = 200, labels: int = 20, seed: int = 0,
         track: Track | None = None) -> dict[str, Any]:
    """Draw the graph (faces as nodes) to a PNG (needs the ``plots`` extra)."""
    from ..extras import require

    require("matplotlib.pyplot", "relations draw")
    from ..relations.render import draw_graph, select_people

    pid = None if who is None else person(source, rg, who)
    drawn = select_people(rg, max_people, pid)
    items: Iterable[int] = drawn if track is None else track(drawn, len(drawn), "thumbnails")
    thumbs = {u: source.thumbnail(u) for u in items}
    path = draw_graph(rg, out, source.person_names(), thumbs.get, pid, max_people, labels,
                      seed)
    return {"png": str(path), "people": len(drawn),
            "thumbnails": sum(v is not None for v in thumbs.values())}
