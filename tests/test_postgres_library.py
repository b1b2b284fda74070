"""A library whose catalog is PostgreSQL + pgvector (a real server, tests/pg_helpers.py):
``index --store URL``, ``$FACEATLAS_STORE``, search and ``status`` on it."""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceatlas.cli.main import app
from faceatlas.library.analysis import EngineSettings
from faceatlas.store import CatalogError, open_store

runner = CliRunner()


def test_index_identify_and_status_on_postgres(portraits: Path, pg_url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    res = runner.invoke(app, ["index", str(portraits), "--library", str(lib),
                              "--store", pg_url, "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["totals"]["faces"] >= 6
    assert not (lib / "catalog.sqlite").exists()  # the catalog is in PostgreSQL
    res = runner.invoke(app, ["enroll", "Person A", str(portraits / "person_a_1.jpg"),
                              "--library", str(lib), "--store", pg_url])
    assert res.exit_code == 0, res.output
    monkeypatch.setenv("FACEATLAS_STORE", pg_url)
    res = runner.invoke(app, ["identify", str(portraits / "person_a_2.jpg"), "--library",
                              str(lib), "--json"])
    assert res.exit_code == 0, res.output
    assert "Person A" in res.stdout
    res = runner.invoke(app, ["search", str(portraits / "person_a_2.jpg"), "--library",
                              str(lib), "--album", portraits.name, "--json"])
    assert res.exit_code == 0, res.output
    assert "person_a_1.jpg" in res.stdout  # found through pgvector, filtered in SQL
    assert not (lib / "index").exists()  # no local copy of the vectors
    res = runner.invoke(app, ["status", "--library", str(lib), "--json"])
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)
    assert st["store"]["kind"] == "postgres" and st["store"]["location"].startswith(
        "postgresql://") and st["store"]["bytes"] > 0
    assert st["faces"] >= 6 and st["people"] == 1
    assert [(ix["state"], ix["kind"], ix["count"]) for ix in st["indexes"]] == [
        ("up to date", "pgvector hnsw", st["faces"])]
    with open_store(lib) as store:
        assert store.stats()["faces"] == st["faces"]
    monkeypatch.delenv("FACEATLAS_STORE")
    res = runner.invoke(app, ["forget", "Person A", "--linked-only", "--yes", "--json",
                              "--library", str(lib), "--store", pg_url])
    assert res.exit_code == 0, res.output
    receipt = json.loads(res.stdout)
    assert receipt["storage"]["store"] == "postgres" and "WAL" in receipt["storage"][
        "not_covered"]
    with open_store(lib, pg_url) as store:
        assert store.people() == [] and store.stats()["faces"] == st["faces"] - receipt[
            "removed"]["faces"] and store.check() == []


def test_sqlite_status_names_its_file(portraits: Path, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    res = runner.invoke(app, ["index", str(portraits / "person_a_1.jpg"), "--library",
                              str(lib), "--workers", "1"])
    assert res.exit_code == 0, res.output
    st = json.loads(runner.invoke(app, ["status", "--library", str(lib), "--json"]).stdout)
    assert st["store"]["kind"] == "sqlite"
    assert st["store"]["location"] == str(lib / "catalog.sqlite")


def test_bad_store_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unknown catalog store"):
        open_store(tmp_path, "mysql://x")
    res = runner.invoke(app, ["status", "--library", str(tmp_path), "--store",
                              "postgresql://nobody@127.0.0.1:1/none", "--json"])
    assert res.exit_code != 0 and "cannot connect" in res.stdout


def test_missing_extras_name_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    from faceatlas.errors import MissingExtraError
    from faceatlas.library.ray_ingest import ray_results

    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError, match=r"faceatlas\[postgres\]"):
        open_store(tmp_path, "postgresql://nobody@localhost/none")
    with pytest.raises(MissingExtraError, match=r"faceatlas\[ray\]"):
        next(ray_results(deque(), EngineSettings(), frozenset(), 1, "local"))
