"""What a library holds, at a glance (``faceatlas status``): photos, faces, people,
unassigned faces, embeddings per model, where the catalog is, and the state of each
model's vector index. Read-only: nothing is rebuilt or changed (an index that is out of
step with the catalog is reported; the next command that searches rebuilds it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..search import IndexFileError, check_index_file
from ..search.persist import read_manifest
from .core import Library
from .vectors import index_file


@dataclass(frozen=True)
class IndexState:
    """One model's vector index file: ``state`` is ``up to date``, ``missing`` or
    ``stale`` (with ``reason``); ``kind`` is the search it holds (exact, hnsw, scann)."""

    model: str
    path: str
    state: str
    reason: str = ""
    kind: str | None = None
    count: int | None = None
    bytes: int = 0


@dataclass(frozen=True)
class LibraryStatus:
    """Counts and storage of one library (see the module docs)."""

    library: str
    store: dict[str, Any]
    photos: int
    photos_with_faces: int
    photos_without_faces: int
    photos_with_errors: int
    faces: int
    unassigned_faces: int
    people: int
    named_people: int
    hidden_people: int
    opted_out_people: int
    embeddings: dict[str, int]  # model id -> faces embedded with it
    embedding_dims: dict[str, int]
    indexes: list[IndexState] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _size(*paths: Path) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def index_state(library: Library, model: str) -> IndexState:
    """The state of ``model``'s index file compared with the catalog (header only); on
    PostgreSQL the index is pgvector's, in the database (always in step)."""
    in_database = getattr(library.store, "vector_index", None)
    if in_database is not None:
        index = in_database(model)
        return IndexState(model=model, path=str(getattr(library.store, "location", "")),
                          state="up to date" if index is not None else "missing",
                          kind="pgvector hnsw", count=None if index is None else len(index))
    path = index_file(library.vectors.folder, model)
    reason = check_index_file(path, library.store.face_ids(model), model)
    kind = count = None
    if path.is_file():
        try:
            manifest = read_manifest(path)
            kind, count = manifest.get("kind"), manifest.get("count")
        except IndexFileError:
            pass
    state = "up to date" if reason is None else "missing" if reason == "missing" else "stale"
    return IndexState(model=model, path=str(path), state=state,
                      reason="" if reason in (None, "missing") else str(reason), kind=kind,
                      count=None if count is None else int(count), bytes=_size(path))


def library_status(library: Library) -> LibraryStatus:
    """Counts, catalog location and index states of an opened library."""
    store = library.store
    stats = store.stats()
    people = store.people()
    models = store.embedding_models()  # model id -> dimension
    counts = {m: len(store.face_ids(m)) for m in sorted(models)}
    location = getattr(store, "location", None)
    if location is not None:  # a database server (PostgreSQL): its URL, no password
        size = getattr(store, "database_bytes", None)
        store_info = {"kind": str(getattr(store, "kind", "database")), "path": None,
                      "location": str(location), "bytes": int(size()) if size else 0,
                      "schema_version": store.schema_version()}
    else:
        catalog = Path(getattr(store, "path", library.root / "catalog.sqlite"))
        wal = catalog.with_name(catalog.name + "-wal")
        store_info = {"kind": type(store).__name__.removesuffix("Store").lower() or "catalog",
                      "path": str(catalog), "location": str(catalog),
                      "bytes": _size(catalog, wal), "schema_version": store.schema_version()}
    return LibraryStatus(
        library=str(library.root), store=store_info, photos=stats["images"],
        photos_with_faces=stats.get("ok", 0), photos_without_faces=stats.get("noface", 0),
        photos_with_errors=stats.get("error", 0), faces=stats["faces"],
        unassigned_faces=stats["unassigned"], people=len(people),
        named_people=sum(bool(p.name) for p in people),
        hidden_people=sum(p.hidden for p in people),
        opted_out_people=sum(p.do_not_recognise for p in people),
        embeddings=counts, embedding_dims=dict(models),
        indexes=[index_state(library, m) for m in sorted(models)])
