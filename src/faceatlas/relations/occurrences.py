"""Occurrences, the only input of the relation graph: one recognised face of a person
in a photo, with the photo's time (``(photo_id, person_id, taken_at)``).

Anything that can list them is an :class:`OccurrenceSource`: the catalog adapter in
:mod:`faceatlas.relations.catalog`, or a CSV file (:class:`CsvOccurrences`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..store.base import parse_person_ref
from .errors import RelationsError, UnknownPersonError


class Occurrence(NamedTuple):
    """One face of ``person_id`` in ``photo_id``; a photo has one ``taken_at``."""

    photo_id: int
    person_id: int
    taken_at: datetime


@runtime_checkable
class OccurrenceSource(Protocol):
    """What the relation view needs from a photo library.

    ``occurrences`` lists one item per assigned face (a person seen twice in one
    photo gives two); ``person_names`` maps ids to display names (may be partial);
    ``thumbnail`` returns a BGR face crop of a person, or ``None``; ``photo_paths``
    gives the file of each photo id it knows.
    """

    def occurrences(self) -> Iterable[Occurrence]: ...

    def person_names(self) -> Mapping[int, str]: ...

    def thumbnail(self, person_id: int) -> np.ndarray | None: ...

    def photo_paths(self, photo_ids: Sequence[int]) -> dict[int, str]: ...


def estimated_photos(source: OccurrenceSource) -> frozenset[int]:
    """Photos of ``source`` whose dates are estimates (file times), as far as it knows
    (a catalog does, once its occurrences were read; a CSV file does not)."""
    return frozenset(getattr(source, "estimated_photos", ()))


def as_time(value: datetime | str) -> datetime:
    """A naive datetime from a datetime or ISO-8601 string (aware times go to UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RelationsError(f"'{value}' is not an ISO-8601 date/time "
                                 "(e.g. 2021-06-30T14:05:00)") from None
    if not isinstance(value, datetime):
        raise RelationsError(f"taken_at must be a datetime, not {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


class CsvOccurrences:
    """Occurrences from a CSV file with columns ``photo_id,person_id,taken_at`` and
    optional ``person_name`` and ``photo_path``; for libraries kept outside the catalog."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._names: dict[int, str] = {}
        self._paths: dict[int, str] = {}
        self._rows: list[Occurrence] = []
        try:
            with self.path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = {"photo_id", "person_id", "taken_at"} - set(reader.fieldnames or [])
                if missing:
                    raise RelationsError(f"{self.path}: missing column(s) "
                                         f"{', '.join(sorted(missing))}; expected "
                                         "photo_id,person_id,taken_at[,person_name,photo_path]")
                for line, row in enumerate(reader, start=2):
                    self._rows.append(self._parse(row, line))
        except FileNotFoundError:
            raise RelationsError(f"{self.path}: no such file") from None
        except UnicodeDecodeError:
            raise RelationsError(f"{self.path}: not a UTF-8 CSV file") from None

    def _parse(self, row: dict[str, str], line: int) -> Occurrence:
        try:
            photo, person = int(row["photo_id"]), int(row["person_id"])
        except (TypeError, ValueError):
            raise RelationsError(f"{self.path}:{line}: photo_id and person_id must be "
                                 "integers") from None
        name = (row.get("person_name") or "").strip()
        if name:
            self._names[person] = name
        path = (row.get("photo_path") or "").strip()
        if path:
            self._paths[photo] = path
        return Occurrence(photo, person, as_time(row["taken_at"] or ""))

    def occurrences(self) -> Iterator[Occurrence]:
        return iter(self._rows)

    def person_names(self) -> Mapping[int, str]:
        return self._names

    def thumbnail(self, person_id: int) -> np.ndarray | None:
        return None

    def photo_paths(self, photo_ids: Sequence[int]) -> dict[int, str]:
        return {int(p): self._paths[int(p)] for p in photo_ids if int(p) in self._paths}


def resolve_person(text: str | int, names: Mapping[int, str]) -> int:
    """A person id from a (case-insensitive, unique) name, ``#ID`` / ``person #ID``, or
    digits when no one has that name: the rule of
    :func:`~faceatlas.store.base.parse_person_ref`, as in every other command."""
    if isinstance(text, int):
        return text
    name, pid, id_only = parse_person_ref(str(text))
    if id_only:
        assert pid is not None
        return pid
    wanted = name.casefold()
    hits = sorted(p for p, n in names.items() if n and n.casefold() == wanted)
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UnknownPersonError(f"'{text}' names {len(hits)} people (ids "
                                 f"{', '.join(map(str, hits))}); use #ID instead")
    if pid is not None:
        return pid
    raise UnknownPersonError(f"no person named '{text}'; use a name or #ID")
