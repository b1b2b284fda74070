"""Relations endpoints (read scope): the graph is rebuilt from the catalog for each
request, under the library lock, as ``faceatlas relations`` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Query

from ..relations.errors import RelationsError
from .state import LibraryHost

PREFIX = "/api/v1/relations"


def add_relations(app: FastAPI, host: LibraryHost, read: Any) -> None:
    """Add the relations endpoints to ``app``."""
    from ..app import relations as uc

    def query(fn: Callable[..., dict[str, Any]], *args: Any, exact_dates: bool = False
              ) -> dict[str, Any]:
        with host.library() as lib:
            return fn(*uc.from_library(lib, exact_dates=exact_dates), *args)

    @app.get(PREFIX + "/top", tags=["relations"], dependencies=[read])
    def top(person: str = Query(..., description="Name or #ID."),
            n: int = Query(10, ge=1, le=1000), exact_dates: bool = False) -> dict[str, Any]:
        """The people who appear most often with `person` (`relations top --json`)."""
        return query(uc.top, person, n, exact_dates, exact_dates=exact_dates)

    @app.get(PREFIX + "/together", tags=["relations"], dependencies=[read])
    def together(a: str, b: str, without: list[str] = Query([])) -> dict[str, Any]:
        """Photos of `a` and `b` together (`relations together --json`)."""
        return query(uc.together, a, b, without)

    @app.get(PREFIX + "/chain", tags=["relations"], dependencies=[read])
    def chain(a: str, b: str) -> dict[str, Any]:
        """The shortest chain of shared photos (`relations chain --json`)."""
        return query(uc.shortest_chain, a, b)

    @app.get(PREFIX + "/communities", tags=["relations"], dependencies=[read])
    def communities(method: str = Query("louvain"), seed: int = 0,
                    resolution: float = Query(1.0, gt=0), min_size: int = Query(2, ge=1)
                    ) -> dict[str, Any]:
        """Groups of people who appear together (`relations communities --json`)."""
        if method not in uc.METHODS:
            raise RelationsError(f"unknown method '{method}'; use louvain or "
                                 "label-propagation")
        return query(uc.communities, method, seed, resolution, min_size)

    @app.get(PREFIX + "/timeline", tags=["relations"], dependencies=[read])
    def timeline(person: str, exact_dates: bool = False) -> dict[str, Any]:
        """A person's photos per month (`relations timeline --json`)."""
        return query(uc.timeline, person, exact_dates, exact_dates=exact_dates)
