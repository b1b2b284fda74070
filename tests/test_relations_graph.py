"""The co-occurrence graph: bulk build on known data, and incremental updates equal to
a rebuild from scratch after random event sequences."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from faceatlas.relations import Occurrence, RelationGraph, RelationsError, UnknownPersonError

T0 = datetime(2020, 1, 1, 12, 0)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_bulk_build_counts_shared_photos_with_dates() -> None:
    occ = [Occurrence(1, 10, day(0)), Occurrence(1, 11, day(0)), Occurrence(1, 12, day(0)),
           Occurrence(2, 10, day(5)), Occurrence(2, 11, day(5)),
           Occurrence(3, 10, day(9)), Occurrence(3, 10, day(9)),  # same person twice
           Occurrence(4, 13, day(2))]
    g = RelationGraph.from_occurrences(occ).graph
    assert sorted(g.nodes(data="photos")) == [(10, 3), (11, 2), (12, 1), (13, 1)]
    assert g[10][11] == {"weight": 2, "first": day(0), "last": day(5)}
    assert g[10][12] == {"weight": 1, "first": day(0), "last": day(0)}
    assert g[11][12]["weight"] == 1
    assert g.number_of_edges() == 3
    assert not g.has_edge(10, 10)


def test_photo_with_two_dates_is_refused() -> None:
    with pytest.raises(RelationsError, match="two dates"):
        RelationGraph.from_occurrences([(1, 1, day(0)), (1, 2, day(1))])


def test_string_and_aware_times_are_normalised() -> None:
    g = RelationGraph.from_occurrences([(1, 1, "2020-01-01T12:00:00+01:00"),
                                        (1, 2, "2020-01-01T12:00:00+01:00")])
    assert g.graph[1][2]["first"] == datetime(2020, 1, 1, 11, 0)


class Model:
    """Reference: the plain list of faces, mutated the obvious way."""

    def __init__(self) -> None:
        self.faces: dict[int, list[int]] = {}
        self.taken: dict[int, datetime] = {}

    def occurrences(self) -> list[Occurrence]:
        return [Occurrence(p, q, self.taken[p]) for p, fs in self.faces.items() for q in fs]

    def people(self) -> set[int]:
        return {q for fs in self.faces.values() for q in fs}

    def drop_empty(self) -> None:
        for p in [p for p, fs in self.faces.items() if not fs]:
            del self.faces[p]
            del self.taken[p]


def random_step(rng: random.Random, model: Model, g: RelationGraph, next_photo: list[int],
                n_people: int) -> str:
    kind = rng.choice(["add", "add", "add", "remove", "move", "merge", "split", "forget",
                       "add_face", "remove_face"])
    people = sorted(model.people())
    photos = sorted(model.faces)
    if kind == "add" or not photos:
        pid = next_photo[0]
        next_photo[0] += 1
        faces = [rng.randrange(n_people) for _ in range(rng.randint(1, 6))]
        when = day(rng.randrange(60))  # few distinct days: ties on first/last happen
        model.faces[pid], model.taken[pid] = list(faces), when
        g.add_photo(pid, faces, when)
        return "add"
    if kind == "remove":
        pid = rng.choice(photos)
        del model.faces[pid], model.taken[pid]
        assert g.remove_photo(pid)
    elif kind == "move":
        pid = rng.choice(photos)
        src = rng.choice(model.faces[pid])
        dst = rng.randrange(n_people)
        model.faces[pid].remove(src)
        model.faces[pid].append(dst)
        g.move_face(pid, src, dst)
    elif kind == "merge" and len(people) >= 2:
        keep, other = rng.sample(people, 2)
        for fs in model.faces.values():
            fs[:] = [keep if q == other else q for q in fs]
        g.merge(keep, other)
    elif kind == "split":
        person = rng.choice(people)
        new = rng.randrange(n_people + 5)
        own = sorted(p for p, fs in model.faces.items() if person in fs)
        chosen = rng.sample(own, rng.randint(1, len(own)))
        if new == person:
            with pytest.raises(RelationsError):
                g.split(person, new, chosen)
            return "split-refused"
        for p in chosen:
            model.faces[p] = [new if q == person else q for q in model.faces[p]]
        g.split(person, new, chosen)
    elif kind == "forget":
        person = rng.choice(people)
        for fs in model.faces.values():
            fs[:] = [q for q in fs if q != person]
        g.forget(person)
    elif kind == "add_face":
        pid = rng.choice(photos)
        q = rng.randrange(n_people)
        model.faces[pid].append(q)
        g.add_face(pid, q)
    elif kind == "remove_face":
        pid = rng.choice(photos)
        q = rng.choice(model.faces[pid])
        model.faces[pid].remove(q)
        g.remove_face(pid, q)
    model.drop_empty()
    return kind


@pytest.mark.parametrize("seed", range(12))
def test_incremental_updates_equal_rebuild(seed: int) -> None:
    rng = random.Random(seed)
    n_people = rng.choice([4, 8, 20])
    model = Model()
    # start from a bulk-built graph so both build paths meet
    for pid in range(rng.randint(0, 15)):
        model.faces[pid] = [rng.randrange(n_people) for _ in range(rng.randint(1, 5))]
        model.taken[pid] = day(rng.randrange(60))
    g = RelationGraph.from_occurrences(model.occurrences())
    next_photo = [1000]
    seen = set()
    for step in range(150):
        seen.add(random_step(rng, model, g, next_photo, n_people))
        if step % 10 == 9:
            assert g == RelationGraph.from_occurrences(model.occurrences()), (seed, step)
    assert g == RelationGraph.from_occurrences(model.occurrences())
    assert sorted(g.iter_occurrences()) == sorted(model.occurrences())
    assert len(seen) >= 6


def test_updates_refuse_bad_input() -> None:
    g = RelationGraph.from_occurrences([(1, 1, day(0)), (1, 2, day(0))])
    with pytest.raises(RelationsError, match="already"):
        g.add_photo(1, [3], day(0))
    with pytest.raises(RelationsError, match="no face"):
        g.remove_face(1, 3)
    with pytest.raises(RelationsError, match="taken_at"):
        g.add_face(9, 1)
    with pytest.raises(UnknownPersonError):
        g.forget(42)
    with pytest.raises(RelationsError, match="themselves"):
        g.merge(1, 1)
    assert not g.remove_photo(99)


def test_forget_removes_node_and_every_edge() -> None:
    g = RelationGraph.from_occurrences([(1, 1, day(0)), (1, 2, day(0)), (2, 1, day(1)),
                                        (2, 3, day(1)), (3, 1, day(2))])
    g.forget(1)
    assert 1 not in g and 1 not in g.graph
    assert g.graph.number_of_edges() == 0
    assert g.photos() == [1, 2]  # photo 3 showed only person 1
